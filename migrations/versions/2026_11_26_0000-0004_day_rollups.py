"""day rollups derived from activity_hours and sign_in_hours: school_days, activity_blocks, sign_in_blocks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.stats.rollups import derived_rebuild_sql, derived_sql, sign_in_block_sql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _body(sql: list[str]) -> str:
    return "".join(f"\n    {stmt};" for stmt in sql)


def _pg() -> list[str]:
    return [f"""
CREATE OR REPLACE FUNCTION rollup_activity_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.school_id IS NOT NULL THEN{_body(derived_sql('OLD', -1))}
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.school_id IS NOT NULL THEN{_body(derived_sql('NEW', 1))}
    END IF;
  END IF;
  RETURN NULL;
END $$""",
            "CREATE TRIGGER trg_activity_hours_derived AFTER INSERT OR UPDATE OR DELETE ON activity_hours "
            "FOR EACH ROW EXECUTE FUNCTION rollup_activity_hours()",
            f"""
CREATE OR REPLACE FUNCTION rollup_sign_in_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_body([sign_in_block_sql('NEW')])}
  RETURN NULL;
END $$""",
            "CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours "
            "FOR EACH ROW EXECUTE FUNCTION rollup_sign_in_hours()"]


def _sqlite() -> list[str]:
    return [
        "CREATE TRIGGER trg_activity_hours_derived_ins AFTER INSERT ON activity_hours WHEN NEW.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('NEW', 1))}\nEND",
        "CREATE TRIGGER trg_activity_hours_derived_del AFTER DELETE ON activity_hours WHEN OLD.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('OLD', -1))}\nEND",
        "CREATE TRIGGER trg_activity_hours_derived_upd AFTER UPDATE ON activity_hours WHEN NEW.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('OLD', -1) + derived_sql('NEW', 1))}\nEND",
        f"CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours BEGIN{_body([sign_in_block_sql('NEW')])}\nEND",
    ]


def upgrade() -> None:
    op.create_table(
        "school_days",
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("one_to_one", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("attendances", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "day", name=op.f("pk_school_days")),
    )
    op.create_table(
        "activity_blocks",
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("student_id", BigId, autoincrement=False, nullable=False),
        sa.Column("o_days", sa.BigInteger(), nullable=False),
        sa.Column("q_days", sa.BigInteger(), nullable=False),
        sa.Column("a_days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block", "school_id", "student_id", name=op.f("pk_activity_blocks")),
    )
    op.create_table(
        "sign_in_blocks",
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", BigId, autoincrement=False, nullable=False),
        sa.Column("days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block", "user_id", name=op.f("pk_sign_in_blocks")),
    )
    # The triggers recompute a student's day from activity_hours by student and hour.
    op.create_index("ix_activity_hours_student_hour", "activity_hours", ["student_id", "hour"], unique=False)
    # Covering indexes in (school, student) and (user) order: the period queries read them alone
    # (index-only scans) and group each student's blocks as they come, without hashing.
    op.create_index("ix_activity_blocks_student", "activity_blocks",
                    ["school_id", "student_id", "block", "o_days", "q_days", "a_days"], unique=False)
    op.create_index("ix_sign_in_blocks_user", "sign_in_blocks", ["user_id", "block", "days"], unique=False)
    dialect = op.get_bind().dialect.name
    for stmt in derived_rebuild_sql(dialect):  # from the rollups so far
        op.execute(stmt)
    for stmt in _pg() if dialect == "postgresql" else _sqlite():
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_activity_hours_derived ON activity_hours")
        op.execute("DROP TRIGGER IF EXISTS trg_sign_in_hours_derived ON sign_in_hours")
        op.execute("DROP FUNCTION IF EXISTS rollup_activity_hours()")
        op.execute("DROP FUNCTION IF EXISTS rollup_sign_in_hours()")
    else:
        for kind in ("ins", "del", "upd"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_activity_hours_derived_{kind}")
        op.execute("DROP TRIGGER IF EXISTS trg_sign_in_hours_derived")
    op.drop_index("ix_sign_in_blocks_user", table_name="sign_in_blocks")
    op.drop_index("ix_activity_blocks_student", table_name="activity_blocks")
    op.drop_index("ix_activity_hours_student_hour", table_name="activity_hours")
    op.drop_table("sign_in_blocks")
    op.drop_table("activity_blocks")
    op.drop_table("school_days")
