"""lesson title search: one bigram document per lesson (FTS5 on SQLite, GIN on PostgreSQL), backfilled

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-26 22:00:00

Frozen: imports nothing from app/. The bigram split below is a copy of app/kit/search.py's
`terms` as it was when this revision was written; the application keeps the documents of new
and amended lessons, this revision fills in those of the lessons that exist already.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_FTS = [
    # External-content FTS5 over lesson_search_docs, kept in step by triggers (as qa_search_fts, 0005).
    "CREATE VIRTUAL TABLE lesson_search_fts USING fts5(terms, content='lesson_search_docs', content_rowid='lesson_id')",
    "CREATE TRIGGER trg_lesson_search_docs_ins AFTER INSERT ON lesson_search_docs BEGIN "
    "INSERT INTO lesson_search_fts(rowid, terms) VALUES (NEW.lesson_id, NEW.terms); END",
    "CREATE TRIGGER trg_lesson_search_docs_del AFTER DELETE ON lesson_search_docs BEGIN "
    "INSERT INTO lesson_search_fts(lesson_search_fts, rowid, terms) VALUES ('delete', OLD.lesson_id, OLD.terms); END",
    "CREATE TRIGGER trg_lesson_search_docs_upd AFTER UPDATE ON lesson_search_docs BEGIN "
    "INSERT INTO lesson_search_fts(lesson_search_fts, rowid, terms) VALUES ('delete', OLD.lesson_id, OLD.terms); "
    "INSERT INTO lesson_search_fts(rowid, terms) VALUES (NEW.lesson_id, NEW.terms); END",
]
PG_INDEX = ("CREATE INDEX ix_lesson_search_docs_terms ON lesson_search_docs "
            "USING gin (string_to_array(terms, ' '))")

_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")


def _document(value: str) -> str:
    out: list[str] = []
    for run in _RUN.findall(unicodedata.normalize("NFKC", value).lower()):
        if run[0].isascii():
            out.append(run[:32])
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(dict.fromkeys(out))


def upgrade() -> None:
    docs = op.create_table(
        "lesson_search_docs",
        sa.Column("lesson_id", BigId, autoincrement=False, nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["lesson_id"], ["lessons.id"], name="fk_lesson_search_docs_lesson_id_lessons",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lesson_id", name="pk_lesson_search_docs"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_INDEX)
    else:
        for stmt in SQLITE_FTS:
            op.execute(stmt)
    # Backfill (after the triggers, so FTS5 indexes these rows too), in batches of 1000.
    lessons = sa.table("lessons", sa.column("id"), sa.column("title"))
    last = 0
    while True:
        rows = bind.execute(sa.select(lessons.c.id, lessons.c.title).where(lessons.c.id > last)
                            .order_by(lessons.c.id).limit(1000)).all()
        if not rows:
            break
        bind.execute(docs.insert(), [{"lesson_id": i, "terms": _document(title)} for i, title in rows])
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in ("ins", "del", "upd"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_lesson_search_docs_{kind}")
        op.execute("DROP TABLE IF EXISTS lesson_search_fts")
    op.drop_table("lesson_search_docs")
