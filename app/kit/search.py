"""Search in Chinese on both databases: character bigrams, shared by the Q&A centre and the lessons.

Neither database splits Chinese into words by itself (PostgreSQL's text search and SQLite's
unicode61 tokenizer would keep "焦耳定律怎么算" as one token), and a dictionary segmenter is a
heavy dependency whose misses are silent. So the application splits text itself, into
**character bigrams** of every run of Chinese characters ("焦耳定律" → 焦耳 耳定 定律) and whole
words of letters and digits, and stores them space-separated in a `terms` column, one document
per searchable thing (a question in `qa_search_docs`, a lesson in `lesson_search_docs`). A query
is split the same way and every one of its terms must be present: any two adjacent characters
find it, whatever the word boundaries.

- SQLite: an FTS5 external-content table over the documents (`<fts>`, kept in step by
  triggers in the migration that made it); a bigram is one FTS5 token.
- PostgreSQL: a GIN index over `string_to_array(terms, ' ')` and the array containment operator
  `@>`. Chosen over pg_trgm (trigrams cannot find a two-character word, the common case in
  Chinese) and over to_tsvector (its parser's idea of a letter depends on the database's locale).

**Ranking.** Every result holds every term of the query somewhere in its document, so counting
the terms a document matches ranks nothing (and FTS5's bm25 sees one occurrence of each term in
every document, documents being sets of terms). What tells the question asked apart from the ones
that merely mention its words is *where* they are: in its own text, or only in an answer, a
knowledge point, the subject. `rank` counts the query's terms found in the searched thing's own
text (a question's text, a lesson's title); results go by that count, then newest first. One SQL
expression, the same on both databases, so both give the same order.

A document table has two columns: its key (the searched thing's id, also the FTS5 rowid) and
`terms`. Each domain builds its own documents (what goes into them is its business) and filters
the matches by what the searcher may see.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ARRAY, ColumnElement, FromClause, Integer, Text, bindparam, case, column, literal, literal_column, select, table, text
from sqlalchemy.orm import InstrumentedAttribute

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
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def query_terms(value: str) -> list[str]:
    return list(dict.fromkeys(terms(value)))[:MAX_QUERY_TERMS]


def document(*parts: str) -> str:
    """A document's `terms`: the distinct terms of all parts, in order of first appearance."""
    return " ".join(dict.fromkeys(t for p in parts for t in terms(p)))


@dataclass(frozen=True)
class Index:
    """One document table: `docs` (key column `key`, column `terms`), its FTS5 table on SQLite
    (`fts`) and the name of the matches on PostgreSQL (`cte`)."""

    docs: str
    key: str
    fts: str
    cte: str


def matching(index: Index, dialect: str, words: list[str], any_of: bool = False, cap: int | None = None) -> FromClause:
    """The keys (column named `index.key`) of documents holding all of `words` (or any, with
    `any_of`), to join with the searched table; at most `cap` of them (any, not the best: a cut
    for a query of one very common word)."""
    if dialect == "postgresql":
        docs = table(index.docs, column(index.key), column("terms"))
        op = "&&" if any_of else "@>"
        cond = text(f"string_to_array({index.docs}.terms, ' ') {op} :words").bindparams(bindparam("words", words, type_=ARRAY(Text)))
        # MATERIALIZED: the matches come from the GIN index first, whatever the outer query orders by.
        return select(docs.c[index.key]).where(cond).limit(cap).cte(index.cte).prefix_with("MATERIALIZED")
    # Every term is quoted: a bigram is letters or digits only, so no quote can be inside.
    expr = (" OR " if any_of else " ").join(f'"{w}"' for w in words)
    return (
        select(literal_column("rowid").label(index.key))
        .select_from(text(index.fts))
        .where(text(f"{index.fts} MATCH :expr").bindparams(expr=expr))
        .limit(cap)
        .subquery()
    )


def matched(index: Index, dialect: str, key: ColumnElement[int] | InstrumentedAttribute[int], words: list[str], cap: int) -> ColumnElement[bool]:
    """`key` is one of the first `cap` documents holding all of `words` (any `cap` of them: a cut for
    a query of one very common word): a condition for a query that reads every match, as a ranked
    search does. On PostgreSQL `key = ANY(ARRAY(…))`: the matches are read from the GIN index once,
    then each is a primary-key lookup — written as a join, the planner's merge join walks the whole
    searched table instead (46 ms on 100,000 questions)."""
    if dialect == "postgresql":
        docs = f"SELECT {index.key} FROM {index.docs} WHERE string_to_array({index.docs}.terms, ' ') @> :words LIMIT :cap"
        col = key.expression  # (a mapped attribute: its table's column)
        return text(f"{col.table.name}.{col.name} = ANY(ARRAY({docs}))").bindparams(  # type: ignore[return-value]  # a TextClause used as a boolean condition
            bindparam("words", words, type_=ARRAY(Text)), bindparam("cap", cap, type_=Integer)
        )
    return key.in_(select(matching(index, dialect, words, cap=cap)))


def rank(own_text: ColumnElement[str] | InstrumentedAttribute[str], words: list[str]) -> ColumnElement[int]:
    """How many of the query's `words` the searched thing's own text holds, to order the matches
    by (higher first). A term is letters, digits or Chinese only (no LIKE wildcard can be in it);
    the text is compared lower-cased, as the terms are. Text in other forms that NFKC folds
    (full-width letters) finds its document but ranks it lower. Cost: one LIKE per term per match,
    over the index's matches only."""
    # A Chinese term has no case: a plain LIKE, no lower() of every text (the costlier part).
    terms_ = [bindparam(f"rank_{i}", w, type_=Text) for i, w in enumerate(words)]
    hits = (case((own_text.icontains(t) if w.isascii() else own_text.contains(t), 1), else_=0) for w, t in zip(words, terms_))
    return sum(hits, literal(0, Integer))


def bound(dialect: str, words: list[str]) -> dict[str, object]:
    """The parameters that run a statement made by `matched` and `rank` for other `words` (of the
    same number, each of the same kind — letters or Chinese), so that the statement can be built
    once per shape."""
    found: dict[str, object] = {"words": words} if dialect == "postgresql" else {"expr": " ".join(f'"{w}"' for w in words)}
    return found | {f"rank_{i}": w for i, w in enumerate(words)}
