"""Search in Chinese over questions and answers, on both databases: the character bigrams of
`app/kit/search.py` (shared with the lessons), one document per question in `qa_search_docs` (its
text, its visible answers, its knowledge points and subject), indexed by FTS5 `qa_search_fts` on
SQLite and by a GIN index over `string_to_array(terms, ' ')` on PostgreSQL (migration 0005).

Visibility is applied in the same query (see `visible`), so results only hold what the searcher
may read.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, FromClause, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.kit import search as bigrams
from app.kit.search import MAX_MATCHES, MAX_QUERY_TERMS, bound, query_terms, rank, terms
from app.models import Answer, KnowledgePoint, QaSearchDoc, Question, QuestionKnowledgePoint, Subject

__all__ = ["MAX_MATCHES", "MAX_QUERY_TERMS", "bound", "matched", "matching", "query_terms", "rank", "reindex", "terms"]
INDEX = bigrams.Index(docs="qa_search_docs", key="question_id", fts="qa_search_fts", cte="qa_match")


async def reindex(db: AsyncSession, question_id: int) -> None:
    """Rebuild one question's document from its text, visible answers, knowledge points, subject."""
    q = await db.get(Question, question_id)
    if q is None:
        return
    parts = [q.text]
    parts += (await db.execute(select(Answer.text).where(Answer.question_id == q.id, Answer.hidden_at.is_(None)))).scalars()
    parts += (
        await db.execute(
            select(KnowledgePoint.name)
            .join(QuestionKnowledgePoint, QuestionKnowledgePoint.knowledge_point_id == KnowledgePoint.id)
            .where(QuestionKnowledgePoint.question_id == q.id)
        )
    ).scalars()
    subject = await db.get(Subject, q.subject_code)
    if subject is not None:
        parts += [subject.name_zh, subject.name_en]
    words = bigrams.document(*parts)
    doc = await db.get(QaSearchDoc, q.id)
    if doc is None:
        db.add(QaSearchDoc(question_id=q.id, terms=words))
    else:
        doc.terms = words
    await db.flush()


def matched(dialect: str, question_id: ColumnElement[int] | InstrumentedAttribute[int], words: list[str]) -> ColumnElement[bool]:
    """`question_id` is among the first MAX_MATCHES questions whose document holds all of `words`."""
    return bigrams.matched(INDEX, dialect, question_id, words, MAX_MATCHES)


def matching(dialect: str, words: list[str], any_of: bool = False, cap: int | None = None) -> FromClause:
    """The ids (`question_id`) of questions whose document holds all of `words` (or any, with
    `any_of`; at most `cap`), to join with the questions."""
    return bigrams.matching(INDEX, dialect, words, any_of, cap)
