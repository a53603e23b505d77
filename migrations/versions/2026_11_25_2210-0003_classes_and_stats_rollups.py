"""one-to-many class attendances, and the statistics rollups with the triggers that keep them exact

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base
from app.stats.rollups import SOURCES, hour_rebuild_sql, hour_sql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = app.models.base.UTCDateTime()

def _pg() -> list[str]:
    out = ["""
CREATE OR REPLACE FUNCTION rollup_bump(p_hour integer, p_student bigint, d_o integer, d_q integer, d_a integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO activity_hours AS h (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
  SELECT p_hour, p_student, u.school_id, u.class_id, d_o, d_q, d_a FROM users u WHERE u.id = p_student
  ON CONFLICT (hour, student_id) DO UPDATE SET one_to_one = h.one_to_one + EXCLUDED.one_to_one,
    questions = h.questions + EXCLUDED.questions, attendances = h.attendances + EXCLUDED.attendances;
  IF d_o < 0 OR d_q < 0 OR d_a < 0 THEN
    DELETE FROM activity_hours WHERE hour = p_hour AND student_id = p_student
      AND one_to_one = 0 AND questions = 0 AND attendances = 0;
  END IF;
END $$"""]
    for table, col, acol in SOURCES:
        d = {"one_to_one": 0, "questions": 0, "attendances": 0, acol: 1}
        plus, minus = f"{d['one_to_one']}, {d['questions']}, {d['attendances']}", f"{-d['one_to_one']}, {-d['questions']}, {-d['attendances']}"
        out.append(f"""
CREATE OR REPLACE FUNCTION rollup_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.{col} IS NOT DISTINCT FROM NEW.{col} AND OLD.student_id = NEW.student_id THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.{col} IS NOT NULL THEN PERFORM rollup_bump({hour_sql('postgresql', 'OLD.' + col)}, OLD.student_id, {minus}); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.{col} IS NOT NULL THEN PERFORM rollup_bump({hour_sql('postgresql', 'NEW.' + col)}, NEW.student_id, {plus}); END IF;
  END IF;
  RETURN NULL;
END $$""")
        out.append(f"CREATE TRIGGER trg_{table}_rollup AFTER INSERT OR DELETE OR UPDATE OF {col}, student_id ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION rollup_{table}()")
    out.append(f"""
CREATE OR REPLACE FUNCTION rollup_sign_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sign_in_hours (hour, user_id) VALUES ({hour_sql('postgresql', 'NEW.at')}, NEW.user_id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$""")
    out.append("CREATE TRIGGER trg_sign_ins_rollup AFTER INSERT ON sign_ins FOR EACH ROW EXECUTE FUNCTION rollup_sign_ins()")
    return out


def _sqlite_bump(ref: str, col: str, acol: str, sign: str) -> str:
    h = hour_sql("sqlite", f"{ref}.{col}")
    return f"""
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT {h}, {ref}.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = {ref}.student_id AND {ref}.{col} IS NOT NULL;
  UPDATE activity_hours SET {acol} = {acol} {sign} 1 WHERE hour = {h} AND student_id = {ref}.student_id;
  DELETE FROM activity_hours WHERE hour = {h} AND student_id = {ref}.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;"""


def _sqlite() -> list[str]:
    out = []
    for table, col, acol in SOURCES:
        out.append(f"CREATE TRIGGER trg_{table}_rollup_ins AFTER INSERT ON {table} BEGIN{_sqlite_bump('NEW', col, acol, '+')}\nEND")
        out.append(f"CREATE TRIGGER trg_{table}_rollup_del AFTER DELETE ON {table} BEGIN{_sqlite_bump('OLD', col, acol, '-')}\nEND")
        out.append(f"CREATE TRIGGER trg_{table}_rollup_upd AFTER UPDATE OF {col}, student_id ON {table} "
                   f"WHEN OLD.{col} IS NOT NEW.{col} OR OLD.student_id IS NOT NEW.student_id "
                   f"BEGIN{_sqlite_bump('OLD', col, acol, '-')}{_sqlite_bump('NEW', col, acol, '+')}\nEND")
    out.append("CREATE TRIGGER trg_sign_ins_rollup AFTER INSERT ON sign_ins BEGIN\n"
               f"  INSERT OR IGNORE INTO sign_in_hours (hour, user_id) VALUES ({hour_sql('sqlite', 'NEW.at')}, NEW.user_id);\nEND")
    return out


def upgrade() -> None:
    op.create_table(
        "live_classes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tutor_id", BigId, nullable=False),
        sa.Column("subject_code", sa.String(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["subject_code"], ["subjects.code"], name=op.f("fk_live_classes_subject_code_subjects")),
        sa.ForeignKeyConstraint(["tutor_id"], ["users.id"], name=op.f("fk_live_classes_tutor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_classes")),
    )
    op.create_index(op.f("ix_live_classes_tutor_id"), "live_classes", ["tutor_id"], unique=False)
    op.create_table(
        "class_attendances",
        sa.Column("id", BigId, nullable=False),
        sa.Column("live_class_id", BigId, nullable=False),
        sa.Column("student_id", BigId, nullable=False),
        sa.Column("joined_at", UTC, nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["live_class_id"], ["live_classes.id"], name=op.f("fk_class_attendances_live_class_id_live_classes")),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"], name=op.f("fk_class_attendances_student_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_attendances")),
        sa.UniqueConstraint("live_class_id", "student_id", name=op.f("uq_class_attendances_live_class_id_student_id")),
    )
    op.create_index(op.f("ix_class_attendances_student_id"), "class_attendances", ["student_id"], unique=False)
    op.create_table(
        "activity_hours",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("student_id", BigId, autoincrement=False, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("one_to_one", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("attendances", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "student_id", name=op.f("pk_activity_hours")),
    )
    op.create_table(
        "sign_in_hours",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", BigId, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("hour", "user_id", name=op.f("pk_sign_in_hours")),
    )
    op.create_index("ix_points_ledger_district_created", "points_ledger", ["district_id", "created_at"], unique=False)
    dialect = op.get_bind().dialect.name
    for stmt in _pg() if dialect == "postgresql" else _sqlite():
        op.execute(stmt)
    for stmt in hour_rebuild_sql(dialect):  # the records so far
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, _, _ in SOURCES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_rollup ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS rollup_{table}()")
        else:
            for kind in ("ins", "del", "upd"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_rollup_{kind}")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_sign_ins_rollup ON sign_ins")
        op.execute("DROP FUNCTION IF EXISTS rollup_sign_ins()")
        op.execute("DROP FUNCTION IF EXISTS rollup_bump(integer, bigint, integer, integer, integer)")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_sign_ins_rollup")
    op.drop_index("ix_points_ledger_district_created", table_name="points_ledger")
    op.drop_table("sign_in_hours")
    op.drop_table("activity_hours")
    op.drop_index(op.f("ix_class_attendances_student_id"), table_name="class_attendances")
    op.drop_table("class_attendances")
    op.drop_index(op.f("ix_live_classes_tutor_id"), table_name="live_classes")
    op.drop_table("live_classes")
