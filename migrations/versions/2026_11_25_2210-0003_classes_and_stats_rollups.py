"""one-to-many class attendances, and the statistics rollups with the triggers that keep them exact

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)

# Frozen: what this revision installs, written out (tests/test_migrations.py checks it against
# app/stats/rollup_triggers.py and app/stats/rollups.py, which generated it).
TRIGGERS: dict[str, list[str]] = {
    "postgresql": [
        """
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
END $$""",
        """
CREATE OR REPLACE FUNCTION rollup_tutoring_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.live_at IS NOT DISTINCT FROM NEW.live_at AND OLD.student_id = NEW.student_id THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.live_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM OLD.live_at) / 3600) AS INTEGER), OLD.student_id, -1, 0, 0); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.live_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM NEW.live_at) / 3600) AS INTEGER), NEW.student_id, 1, 0, 0); END IF;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_tutoring_sessions_rollup AFTER INSERT OR DELETE OR UPDATE OF live_at, student_id ON tutoring_sessions FOR EACH ROW EXECUTE FUNCTION rollup_tutoring_sessions()""",
        """
CREATE OR REPLACE FUNCTION rollup_questions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.created_at IS NOT DISTINCT FROM NEW.created_at AND OLD.student_id = NEW.student_id THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.created_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM OLD.created_at) / 3600) AS INTEGER), OLD.student_id, 0, -1, 0); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.created_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM NEW.created_at) / 3600) AS INTEGER), NEW.student_id, 0, 1, 0); END IF;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_questions_rollup AFTER INSERT OR DELETE OR UPDATE OF created_at, student_id ON questions FOR EACH ROW EXECUTE FUNCTION rollup_questions()""",
        """
CREATE OR REPLACE FUNCTION rollup_class_attendances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.joined_at IS NOT DISTINCT FROM NEW.joined_at AND OLD.student_id = NEW.student_id THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.joined_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM OLD.joined_at) / 3600) AS INTEGER), OLD.student_id, 0, 0, -1); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.joined_at IS NOT NULL THEN PERFORM rollup_bump(CAST(floor(extract(epoch FROM NEW.joined_at) / 3600) AS INTEGER), NEW.student_id, 0, 0, 1); END IF;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_class_attendances_rollup AFTER INSERT OR DELETE OR UPDATE OF joined_at, student_id ON class_attendances FOR EACH ROW EXECUTE FUNCTION rollup_class_attendances()""",
        """
CREATE OR REPLACE FUNCTION rollup_sign_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sign_in_hours (hour, user_id) VALUES (CAST(floor(extract(epoch FROM NEW.at) / 3600) AS INTEGER), NEW.user_id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER trg_sign_ins_rollup AFTER INSERT ON sign_ins FOR EACH ROW EXECUTE FUNCTION rollup_sign_ins()""",
    ],
    "sqlite": [
        """CREATE TRIGGER trg_tutoring_sessions_rollup_ins AFTER INSERT ON tutoring_sessions BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.live_at IS NOT NULL;
  UPDATE activity_hours SET one_to_one = one_to_one + 1 WHERE hour = (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_tutoring_sessions_rollup_del AFTER DELETE ON tutoring_sessions BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.live_at IS NOT NULL;
  UPDATE activity_hours SET one_to_one = one_to_one - 1 WHERE hour = (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_tutoring_sessions_rollup_upd AFTER UPDATE OF live_at, student_id ON tutoring_sessions WHEN OLD.live_at IS NOT NEW.live_at OR OLD.student_id IS NOT NEW.student_id BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.live_at IS NOT NULL;
  UPDATE activity_hours SET one_to_one = one_to_one - 1 WHERE hour = (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.live_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.live_at IS NOT NULL;
  UPDATE activity_hours SET one_to_one = one_to_one + 1 WHERE hour = (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.live_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_questions_rollup_ins AFTER INSERT ON questions BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.created_at IS NOT NULL;
  UPDATE activity_hours SET questions = questions + 1 WHERE hour = (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_questions_rollup_del AFTER DELETE ON questions BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.created_at IS NOT NULL;
  UPDATE activity_hours SET questions = questions - 1 WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_questions_rollup_upd AFTER UPDATE OF created_at, student_id ON questions WHEN OLD.created_at IS NOT NEW.created_at OR OLD.student_id IS NOT NEW.student_id BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.created_at IS NOT NULL;
  UPDATE activity_hours SET questions = questions - 1 WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.created_at IS NOT NULL;
  UPDATE activity_hours SET questions = questions + 1 WHERE hour = (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_class_attendances_rollup_ins AFTER INSERT ON class_attendances BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.joined_at IS NOT NULL;
  UPDATE activity_hours SET attendances = attendances + 1 WHERE hour = (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_class_attendances_rollup_del AFTER DELETE ON class_attendances BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.joined_at IS NOT NULL;
  UPDATE activity_hours SET attendances = attendances - 1 WHERE hour = (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_class_attendances_rollup_upd AFTER UPDATE OF joined_at, student_id ON class_attendances WHEN OLD.joined_at IS NOT NEW.joined_at OR OLD.student_id IS NOT NEW.student_id BEGIN
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600), OLD.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = OLD.student_id AND OLD.joined_at IS NOT NULL;
  UPDATE activity_hours SET attendances = attendances - 1 WHERE hour = (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600) AND student_id = OLD.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', OLD.joined_at) AS INTEGER) / 3600) AND student_id = OLD.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
  INSERT OR IGNORE INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances)
    SELECT (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600), NEW.student_id, u.school_id, u.class_id, 0, 0, 0 FROM users u WHERE u.id = NEW.student_id AND NEW.joined_at IS NOT NULL;
  UPDATE activity_hours SET attendances = attendances + 1 WHERE hour = (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600) AND student_id = NEW.student_id;
  DELETE FROM activity_hours WHERE hour = (CAST(strftime('%s', NEW.joined_at) AS INTEGER) / 3600) AND student_id = NEW.student_id AND one_to_one = 0 AND questions = 0 AND attendances = 0;
END""",
        """CREATE TRIGGER trg_sign_ins_rollup AFTER INSERT ON sign_ins BEGIN
  INSERT OR IGNORE INTO sign_in_hours (hour, user_id) VALUES ((CAST(strftime('%s', NEW.at) AS INTEGER) / 3600), NEW.user_id);
END""",
    ],
}

BACKFILL: dict[str, list[str]] = {
    "postgresql": [
        'DELETE FROM activity_hours',
        """INSERT INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances) SELECT r.hour, r.student_id, u.school_id, u.class_id, sum(r.o), sum(r.q), sum(r.a) FROM (SELECT CAST(floor(extract(epoch FROM x.live_at) / 3600) AS INTEGER) AS hour, x.student_id, 1 AS o, 0 AS q, 0 AS a FROM tutoring_sessions x WHERE x.live_at IS NOT NULL UNION ALL SELECT CAST(floor(extract(epoch FROM x.created_at) / 3600) AS INTEGER) AS hour, x.student_id, 0 AS o, 1 AS q, 0 AS a FROM questions x WHERE x.created_at IS NOT NULL UNION ALL SELECT CAST(floor(extract(epoch FROM x.joined_at) / 3600) AS INTEGER) AS hour, x.student_id, 0 AS o, 0 AS q, 1 AS a FROM class_attendances x WHERE x.joined_at IS NOT NULL) r JOIN users u ON u.id = r.student_id GROUP BY r.hour, r.student_id, u.school_id, u.class_id""",
        'DELETE FROM sign_in_hours',
        """INSERT INTO sign_in_hours (hour, user_id) SELECT DISTINCT CAST(floor(extract(epoch FROM at) / 3600) AS INTEGER), user_id FROM sign_ins""",
    ],
    "sqlite": [
        'DELETE FROM activity_hours',
        """INSERT INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances) SELECT r.hour, r.student_id, u.school_id, u.class_id, sum(r.o), sum(r.q), sum(r.a) FROM (SELECT (CAST(strftime('%s', x.live_at) AS INTEGER) / 3600) AS hour, x.student_id, 1 AS o, 0 AS q, 0 AS a FROM tutoring_sessions x WHERE x.live_at IS NOT NULL UNION ALL SELECT (CAST(strftime('%s', x.created_at) AS INTEGER) / 3600) AS hour, x.student_id, 0 AS o, 1 AS q, 0 AS a FROM questions x WHERE x.created_at IS NOT NULL UNION ALL SELECT (CAST(strftime('%s', x.joined_at) AS INTEGER) / 3600) AS hour, x.student_id, 0 AS o, 0 AS q, 1 AS a FROM class_attendances x WHERE x.joined_at IS NOT NULL) r JOIN users u ON u.id = r.student_id GROUP BY r.hour, r.student_id, u.school_id, u.class_id""",
        'DELETE FROM sign_in_hours',
        """INSERT INTO sign_in_hours (hour, user_id) SELECT DISTINCT (CAST(strftime('%s', at) AS INTEGER) / 3600), user_id FROM sign_ins""",
    ],
}


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
    for stmt in TRIGGERS[dialect] + BACKFILL[dialect]:  # then the records so far
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in ("tutoring_sessions", "questions", "class_attendances"):
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
