"""Q&A centre: question/answer columns, knowledge points, photos, replies, reports,
notifications and the search index (FTS5 on SQLite, GIN over bigram arrays on PostgreSQL)

Revision ID: 0005
Revises: 0010 (written against 0004)
Create Date: 2026-11-26 19:00:00

Frozen: imports nothing from app/. The questions table keeps its rollup triggers (0003): columns
are added with plain ALTER TABLE (never a batch copy, which would drop them on SQLite).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0010"  # re-chained after main (written against 0004)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = sa.DateTime(timezone=True)

QUESTION_COLUMNS = [
    sa.Column("band", sa.String(8), server_default="junior", nullable=False),
    sa.Column("raw", sa.Text(), nullable=True),
    sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("answer_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("claimed_by", sa.Integer(), nullable=True),
    sa.Column("claimed_until", At, nullable=True),
    sa.Column("escalated_at", At, nullable=True),
    sa.Column("closed_at", At, nullable=True),
    sa.Column("hidden_at", At, nullable=True),
    sa.Column("hidden_by", sa.Integer(), nullable=True),
    sa.Column("hidden_reason", sa.String(500), nullable=True),
]
ANSWER_COLUMNS = [
    sa.Column("updated_at", At, nullable=True),
    sa.Column("raw", sa.Text(), nullable=True),
    sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("accepted_at", At, nullable=True),
    sa.Column("rating", sa.SmallInteger(), nullable=True),
    sa.Column("hidden_at", At, nullable=True),
    sa.Column("hidden_by", sa.Integer(), nullable=True),
    sa.Column("hidden_reason", sa.String(500), nullable=True),
]

SQLITE_FTS = [
    # External-content FTS5 over qa_search_docs, kept in step by triggers. The terms are already
    # split into character bigrams by the application, so unicode61 only splits on spaces.
    "CREATE VIRTUAL TABLE qa_search_fts USING fts5(terms, content='qa_search_docs', content_rowid='question_id')",
    "CREATE TRIGGER trg_qa_search_docs_ins AFTER INSERT ON qa_search_docs BEGIN "
    "INSERT INTO qa_search_fts(rowid, terms) VALUES (NEW.question_id, NEW.terms); END",
    "CREATE TRIGGER trg_qa_search_docs_del AFTER DELETE ON qa_search_docs BEGIN "
    "INSERT INTO qa_search_fts(qa_search_fts, rowid, terms) VALUES ('delete', OLD.question_id, OLD.terms); END",
    "CREATE TRIGGER trg_qa_search_docs_upd AFTER UPDATE ON qa_search_docs BEGIN "
    "INSERT INTO qa_search_fts(qa_search_fts, rowid, terms) VALUES ('delete', OLD.question_id, OLD.terms); "
    "INSERT INTO qa_search_fts(rowid, terms) VALUES (NEW.question_id, NEW.terms); END",
]
PG_INDEX = ("CREATE INDEX ix_qa_search_docs_terms ON qa_search_docs "
            "USING gin (string_to_array(terms, ' '))")


def upgrade() -> None:
    for column in QUESTION_COLUMNS:
        op.add_column("questions", column)
    for column in ANSWER_COLUMNS:
        op.add_column("answers", column)
    op.create_index("ix_questions_feed", "questions", ["status", "subject_code", "band", "answer_count", "created_at", "id"],
                    postgresql_where=sa.text("hidden_at IS NULL"), sqlite_where=sa.text("hidden_at IS NULL"))
    op.create_index("uq_answers_question_tutor", "answers", ["question_id", "tutor_id"], unique=True)

    op.create_table(
        "question_knowledge_points",
        sa.Column("question_id", BigId, nullable=False),
        sa.Column("knowledge_point_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_question_knowledge_points_question_id_questions"),
        sa.ForeignKeyConstraint(["knowledge_point_id"], ["knowledge_points.id"],
                                name="fk_question_kps_knowledge_point_id"),
        sa.PrimaryKeyConstraint("question_id", "knowledge_point_id", name="pk_question_knowledge_points"),
    )
    op.create_index("ix_question_knowledge_points_knowledge_point_id", "question_knowledge_points", ["knowledge_point_id"])
    op.create_table(
        "qa_images",
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.Column("question_id", BigId, nullable=False),
        sa.Column("answer_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_qa_images_image_id_images"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_qa_images_question_id_questions"),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], name="fk_qa_images_answer_id_answers"),
        sa.PrimaryKeyConstraint("image_id", name="pk_qa_images"),
    )
    op.create_index("ix_qa_images_question_id", "qa_images", ["question_id"])
    op.create_index("ix_qa_images_answer_id", "qa_images", ["answer_id"])
    op.create_table(
        "qa_replies",
        sa.Column("id", BigId, nullable=False),
        sa.Column("answer_id", BigId, nullable=False),
        sa.Column("author_id", BigId, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("hidden_at", At, nullable=True),
        sa.Column("hidden_reason", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], name="fk_qa_replies_answer_id_answers"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_qa_replies_author_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_replies"),
    )
    op.create_index("ix_qa_replies_answer_id", "qa_replies", ["answer_id"])
    op.create_table(
        "qa_reports",
        sa.Column("id", BigId, nullable=False),
        sa.Column("question_id", BigId, nullable=False),
        sa.Column("answer_id", BigId, nullable=True),
        sa.Column("reply_id", BigId, nullable=True),
        sa.Column("reporter_id", BigId, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", BigId, nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_at", At, nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_qa_reports_question_id_questions"),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], name="fk_qa_reports_answer_id_answers"),
        sa.ForeignKeyConstraint(["reply_id"], ["qa_replies.id"], name="fk_qa_reports_reply_id_qa_replies"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name="fk_qa_reports_reporter_id_users"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name="fk_qa_reports_decided_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_reports"),
    )
    op.create_index("ix_qa_reports_question_id", "qa_reports", ["question_id"])
    op.create_index("ix_qa_reports_status", "qa_reports", ["status"])
    op.create_table(
        "qa_notifications",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("question_id", BigId, nullable=False),
        sa.Column("answer_id", BigId, nullable=True),
        sa.Column("created_at", At, nullable=False),
        sa.Column("read_at", At, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_qa_notifications_user_id_users"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_qa_notifications_question_id_questions"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_notifications"),
    )
    op.create_index("ix_qa_notifications_user_read", "qa_notifications", ["user_id", "read_at"])
    op.create_table(
        "qa_search_docs",
        sa.Column("question_id", BigId, autoincrement=False, nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_qa_search_docs_question_id_questions"),
        sa.PrimaryKeyConstraint("question_id", name="pk_qa_search_docs"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_INDEX)
    else:
        for stmt in SQLITE_FTS:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in ("ins", "del", "upd"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_qa_search_docs_{kind}")
        op.execute("DROP TABLE IF EXISTS qa_search_fts")
    for table in ("qa_search_docs", "qa_notifications", "qa_reports", "qa_replies", "qa_images", "question_knowledge_points"):
        op.drop_table(table)
    op.drop_index("uq_answers_question_tutor", table_name="answers")
    op.drop_index("ix_questions_feed", table_name="questions")
    for column in reversed(ANSWER_COLUMNS):
        op.drop_column("answers", column.name)
    for column in reversed(QUESTION_COLUMNS):
        op.drop_column("questions", column.name)
