"""day rollups derived from activity_hours and sign_in_hours: school_days, activity_blocks, sign_in_blocks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# Frozen: what this revision installs, written out (tests/test_migrations.py checks it against
# app/stats/rollup_triggers.py and app/stats/rollups.py, which generated it).
BACKFILL: dict[str, list[str]] = {
    "postgresql": [
        'DELETE FROM school_days',
        """INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT x.school_id, ((x.hour + 8) / 24), sum(x.one_to_one), sum(x.questions), sum(x.attendances) FROM activity_hours x WHERE x.school_id IS NOT NULL GROUP BY x.school_id, ((x.hour + 8) / 24)""",
        'DELETE FROM activity_blocks',
        """INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((x.hour + 8) / 24) / 63), x.school_id, x.student_id, bit_or(CASE WHEN x.one_to_one > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END), bit_or(CASE WHEN x.questions > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END), bit_or(CASE WHEN x.attendances > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END) FROM activity_hours x WHERE x.school_id IS NOT NULL GROUP BY (((x.hour + 8) / 24) / 63), x.school_id, x.student_id""",
        'DELETE FROM sign_in_blocks',
        """INSERT INTO sign_in_blocks (user_id, block, days) SELECT x.user_id, (((x.hour + 8) / 24) / 63), bit_or((CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63))) FROM sign_in_hours x GROUP BY x.user_id, (((x.hour + 8) / 24) / 63)""",
    ],
    "sqlite": [
        'DELETE FROM school_days',
        """INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT x.school_id, ((x.hour + 8) / 24), sum(x.one_to_one), sum(x.questions), sum(x.attendances) FROM activity_hours x WHERE x.school_id IS NOT NULL GROUP BY x.school_id, ((x.hour + 8) / 24)""",
        'DELETE FROM activity_blocks',
        """INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((x.hour + 8) / 24) / 63), x.school_id, x.student_id, sum(DISTINCT CASE WHEN x.one_to_one > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END), sum(DISTINCT CASE WHEN x.questions > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END), sum(DISTINCT CASE WHEN x.attendances > 0 THEN (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63)) ELSE 0 END) FROM activity_hours x WHERE x.school_id IS NOT NULL GROUP BY (((x.hour + 8) / 24) / 63), x.school_id, x.student_id""",
        'DELETE FROM sign_in_blocks',
        """INSERT INTO sign_in_blocks (user_id, block, days) SELECT x.user_id, (((x.hour + 8) / 24) / 63), sum(DISTINCT (CAST(1 AS BIGINT) << (((x.hour + 8) / 24) % 63))) FROM sign_in_hours x GROUP BY x.user_id, (((x.hour + 8) / 24) / 63)""",
    ],
}

TRIGGERS: dict[str, list[str]] = {
    "postgresql": [
        """
CREATE OR REPLACE FUNCTION rollup_activity_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.school_id IS NOT NULL THEN
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT OLD.school_id, ((OLD.hour + 8) / 24), -1 * OLD.one_to_one, -1 * OLD.questions, -1 * OLD.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = OLD.school_id AND day = ((OLD.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((OLD.hour + 8) / 24) / 63), OLD.school_id, OLD.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id;
    DELETE FROM activity_blocks WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.school_id IS NOT NULL THEN
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT NEW.school_id, ((NEW.hour + 8) / 24), 1 * NEW.one_to_one, 1 * NEW.questions, 1 * NEW.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = NEW.school_id AND day = ((NEW.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((NEW.hour + 8) / 24) / 63), NEW.school_id, NEW.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id;
    DELETE FROM activity_blocks WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
    END IF;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_activity_hours_derived AFTER INSERT OR UPDATE OR DELETE ON activity_hours FOR EACH ROW EXECUTE FUNCTION rollup_activity_hours()""",
        """
CREATE OR REPLACE FUNCTION rollup_sign_in_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sign_in_blocks (user_id, block, days) SELECT NEW.user_id, (((NEW.hour + 8) / 24) / 63), (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) WHERE true ON CONFLICT (user_id, block) DO UPDATE SET days = sign_in_blocks.days | excluded.days;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours FOR EACH ROW EXECUTE FUNCTION rollup_sign_in_hours()""",
    ],
    "sqlite": [
        """CREATE TRIGGER trg_activity_hours_derived_ins AFTER INSERT ON activity_hours WHEN NEW.school_id IS NOT NULL BEGIN
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT NEW.school_id, ((NEW.hour + 8) / 24), 1 * NEW.one_to_one, 1 * NEW.questions, 1 * NEW.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = NEW.school_id AND day = ((NEW.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((NEW.hour + 8) / 24) / 63), NEW.school_id, NEW.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id;
    DELETE FROM activity_blocks WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
END""",
        """CREATE TRIGGER trg_activity_hours_derived_del AFTER DELETE ON activity_hours WHEN OLD.school_id IS NOT NULL BEGIN
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT OLD.school_id, ((OLD.hour + 8) / 24), -1 * OLD.one_to_one, -1 * OLD.questions, -1 * OLD.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = OLD.school_id AND day = ((OLD.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((OLD.hour + 8) / 24) / 63), OLD.school_id, OLD.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id;
    DELETE FROM activity_blocks WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
END""",
        """CREATE TRIGGER trg_activity_hours_derived_upd AFTER UPDATE ON activity_hours WHEN NEW.school_id IS NOT NULL BEGIN
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT OLD.school_id, ((OLD.hour + 8) / 24), -1 * OLD.one_to_one, -1 * OLD.questions, -1 * OLD.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = OLD.school_id AND day = ((OLD.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((OLD.hour + 8) / 24) / 63), OLD.school_id, OLD.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = OLD.student_id AND h.school_id = OLD.school_id AND h.hour >= ((OLD.hour + 8) / 24) * 24 - 8 AND h.hour < ((OLD.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((OLD.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id;
    DELETE FROM activity_blocks WHERE block = (((OLD.hour + 8) / 24) / 63) AND school_id = OLD.school_id AND student_id = OLD.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
    INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) SELECT NEW.school_id, ((NEW.hour + 8) / 24), 1 * NEW.one_to_one, 1 * NEW.questions, 1 * NEW.attendances WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances;
    DELETE FROM school_days WHERE school_id = NEW.school_id AND day = ((NEW.hour + 8) / 24) AND one_to_one = 0 AND questions = 0 AND attendances = 0;
    INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) SELECT (((NEW.hour + 8) / 24) / 63), NEW.school_id, NEW.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING;
    UPDATE activity_blocks SET o_days = ((o_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.one_to_one > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), q_days = ((q_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.questions > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)), a_days = ((a_days & ~(CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63))) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE h.student_id = NEW.student_id AND h.school_id = NEW.school_id AND h.hour >= ((NEW.hour + 8) / 24) * 24 - 8 AND h.hour < ((NEW.hour + 8) / 24) * 24 + 16 AND h.attendances > 0) THEN (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) ELSE 0 END)) WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id;
    DELETE FROM activity_blocks WHERE block = (((NEW.hour + 8) / 24) / 63) AND school_id = NEW.school_id AND student_id = NEW.student_id AND o_days = 0 AND q_days = 0 AND a_days = 0;
END""",
        """CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours BEGIN
    INSERT INTO sign_in_blocks (user_id, block, days) SELECT NEW.user_id, (((NEW.hour + 8) / 24) / 63), (CAST(1 AS BIGINT) << (((NEW.hour + 8) / 24) % 63)) WHERE true ON CONFLICT (user_id, block) DO UPDATE SET days = sign_in_blocks.days | excluded.days;
END""",
    ],
}


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
    for stmt in BACKFILL[dialect] + TRIGGERS[dialect]:  # from the rollups so far, then kept
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
