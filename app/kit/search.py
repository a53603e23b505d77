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

A document table has two columns: its key (the searched thing's id, also the FTS5 rowid) and
`terms`. Each domain builds its own documents (what goes into them is its business) and filters
the matches by what the searcher may see.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ARRAY, FromClause, Text, bindparam, column, literal_column, select, table, text

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


def matching(index: Index, dialect: str, words: list[str], any_of: bool = False) -> FromClause:
    """The keys (column named `index.key`) of documents holding all of `words` (or any, with
    `any_of`), to join with the searched table."""
    if dialect == "postgresql":
        docs = table(index.docs, column(index.key), column("terms"))
        op = "&&" if any_of else "@>"
        cond = text(f"string_to_array({index.docs}.terms, ' ') {op} :words").bindparams(
            bindparam("words", words, type_=ARRAY(Text)))
        # MATERIALIZED: the matches come from the GIN index first, whatever the outer query orders by.
        return select(docs.c[index.key]).where(cond).cte(index.cte).prefix_with("MATERIALIZED")
    # Every term is quoted: a bigram is letters or digits only, so no quote can be inside.
    expr = (" OR " if any_of else " ").join(f'"{w}"' for w in words)
    return select(literal_column("rowid").label(index.key)).select_from(text(index.fts)).where(
        text(f"{index.fts} MATCH :expr").bindparams(expr=expr)).subquery()
