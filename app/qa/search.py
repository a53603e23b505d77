"""Search in Chinese over questions and answers, on both databases.

Neither database splits Chinese into words by itself (PostgreSQL's text search and SQLite's
unicode61 tokenizer would keep "焦耳定律怎么算" as one token), and a dictionary segmenter is a
heavy dependency whose misses are silent. So the application splits text itself, into
**character bigrams** of every run of Chinese characters ("焦耳定律" → 焦耳 耳定 定律) and whole
words of letters and digits, and stores them space-separated in `qa_search_docs.terms`, one
document per question (its text, its visible answers, its knowledge points and subject). A query
is split the same way and every one of its terms must be present: any two adjacent characters
of the question find it, whatever the word boundaries.

- SQLite: an FTS5 external-content table over the documents (`qa_search_fts`, kept in step by
  triggers, migration 0005); a bigram is one FTS5 token.
- PostgreSQL: a GIN index over `string_to_array(terms, ' ')` and the array containment operator
  `@>`. Chosen over pg_trgm (trigrams cannot find a two-character word, the common case in
  Chinese) and over to_tsvector (its parser's idea of a letter depends on the database's locale).

Visibility is applied in the same query (see `visible`), so results only hold what the searcher
may read.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ARRAY, FromClause, Text, bindparam, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Answer, KnowledgePoint, QaSearchDoc, Question, QuestionKnowledgePoint, Subject

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_CJK}]+|[a-z0-9]+")
MAX_QUERY_TERMS = 12
MAX_MATCHES = 20000  # ids read per search: a query of one very common word is cut here


def terms(value: str) -> list[str]:
    """The search terms of a text, in order, repeated as they occur."""
    out: list[str] = []
    for run in _RUN.findall(unicodedata.normalize("NFKC", value).lower()):
        if run[0].isascii():
            out.append(run[:32])
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


def query_terms(value: str) -> list[str]:
    return list(dict.fromkeys(terms(value)))[:MAX_QUERY_TERMS]


async def reindex(db: AsyncSession, question_id: int) -> None:
    """Rebuild one question's document from its text, visible answers, knowledge points, subject."""
    q = await db.get(Question, question_id)
    if q is None:
        return
    parts = [q.text]
    parts += (await db.execute(select(Answer.text).where(Answer.question_id == q.id, Answer.hidden_at.is_(None)))).scalars()
    parts += (await db.execute(select(KnowledgePoint.name).join(
        QuestionKnowledgePoint, QuestionKnowledgePoint.knowledge_point_id == KnowledgePoint.id)
        .where(QuestionKnowledgePoint.question_id == q.id))).scalars()
    subject = await db.get(Subject, q.subject_code)
    if subject is not None:
        parts += [subject.name_zh, subject.name_en]
    words = " ".join(dict.fromkeys(t for p in parts for t in terms(p)))
    doc = await db.get(QaSearchDoc, q.id)
    if doc is None:
        db.add(QaSearchDoc(question_id=q.id, terms=words))
    else:
        doc.terms = words
    await db.flush()


def matching(dialect: str, words: list[str], any_of: bool = False) -> FromClause:
    """The ids (`question_id`) of questions whose document holds all of `words` (or any, with
    `any_of`), to join with the questions."""
    if dialect == "postgresql":
        op = "&&" if any_of else "@>"
        cond = text(f"string_to_array(qa_search_docs.terms, ' ') {op} :words").bindparams(
            bindparam("words", words, type_=ARRAY(Text)))
        # MATERIALIZED: the matches come from the GIN index first, whatever the outer query orders by.
        return select(QaSearchDoc.question_id).where(cond).cte("qa_match").prefix_with("MATERIALIZED")
    # Every term is quoted: a bigram is letters or digits only, so no quote can be inside.
    expr = (" OR " if any_of else " ").join(f'"{w}"' for w in words)
    return select(literal_column("rowid").label("question_id")).select_from(text("qa_search_fts")).where(
        text("qa_search_fts MATCH :expr").bindparams(expr=expr)).subquery()
