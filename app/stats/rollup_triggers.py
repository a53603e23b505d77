"""The statements that install the rollup triggers, generated from `rollups.SOURCES` and the
rollup SQL helpers.

Migrations never import this: each revision holds its own frozen copy of what it installs
(migrations are history), and `tests/test_migrations.py` checks that the frozen copies still equal
what this module generates. Changing the rollup logic therefore means a new revision that
replaces the triggers, with its own frozen copy.
"""

from __future__ import annotations

from .rollups import SOURCES, derived_sql, hour_sql, sign_in_block_sql


def _hour_pg() -> list[str]:
    out = [
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
END $$"""
    ]
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
    IF OLD.{col} IS NOT NULL THEN PERFORM rollup_bump({hour_sql("postgresql", "OLD." + col)}, OLD.student_id, {minus}); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.{col} IS NOT NULL THEN PERFORM rollup_bump({hour_sql("postgresql", "NEW." + col)}, NEW.student_id, {plus}); END IF;
  END IF;
  RETURN NULL;
END $$""")
        out.append(
            f"CREATE TRIGGER trg_{table}_rollup AFTER INSERT OR DELETE OR UPDATE OF {col}, student_id ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION rollup_{table}()"
        )
    out.append(f"""
CREATE OR REPLACE FUNCTION rollup_sign_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sign_in_hours (hour, user_id) VALUES ({hour_sql("postgresql", "NEW.at")}, NEW.user_id) ON CONFLICT DO NOTHING;
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


def _hour_sqlite() -> list[str]:
    out = []
    for table, col, acol in SOURCES:
        out.append(f"CREATE TRIGGER trg_{table}_rollup_ins AFTER INSERT ON {table} BEGIN{_sqlite_bump('NEW', col, acol, '+')}\nEND")
        out.append(f"CREATE TRIGGER trg_{table}_rollup_del AFTER DELETE ON {table} BEGIN{_sqlite_bump('OLD', col, acol, '-')}\nEND")
        out.append(
            f"CREATE TRIGGER trg_{table}_rollup_upd AFTER UPDATE OF {col}, student_id ON {table} "
            f"WHEN OLD.{col} IS NOT NEW.{col} OR OLD.student_id IS NOT NEW.student_id "
            f"BEGIN{_sqlite_bump('OLD', col, acol, '-')}{_sqlite_bump('NEW', col, acol, '+')}\nEND"
        )
    out.append(
        "CREATE TRIGGER trg_sign_ins_rollup AFTER INSERT ON sign_ins BEGIN\n"
        f"  INSERT OR IGNORE INTO sign_in_hours (hour, user_id) VALUES ({hour_sql('sqlite', 'NEW.at')}, NEW.user_id);\nEND"
    )
    return out


def _body(sql: list[str]) -> str:
    return "".join(f"\n    {stmt};" for stmt in sql)


def _derived_pg() -> list[str]:
    return [
        f"""
CREATE OR REPLACE FUNCTION rollup_activity_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.school_id IS NOT NULL THEN{_body(derived_sql("OLD", -1))}
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.school_id IS NOT NULL THEN{_body(derived_sql("NEW", 1))}
    END IF;
  END IF;
  RETURN NULL;
END $$""",
        "CREATE TRIGGER trg_activity_hours_derived AFTER INSERT OR UPDATE OR DELETE ON activity_hours "
        "FOR EACH ROW EXECUTE FUNCTION rollup_activity_hours()",
        f"""
CREATE OR REPLACE FUNCTION rollup_sign_in_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_body([sign_in_block_sql("NEW")])}
  RETURN NULL;
END $$""",
        "CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours FOR EACH ROW EXECUTE FUNCTION rollup_sign_in_hours()",
    ]


def _derived_sqlite() -> list[str]:
    return [
        "CREATE TRIGGER trg_activity_hours_derived_ins AFTER INSERT ON activity_hours WHEN NEW.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('NEW', 1))}\nEND",
        "CREATE TRIGGER trg_activity_hours_derived_del AFTER DELETE ON activity_hours WHEN OLD.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('OLD', -1))}\nEND",
        "CREATE TRIGGER trg_activity_hours_derived_upd AFTER UPDATE ON activity_hours WHEN NEW.school_id IS NOT NULL "
        f"BEGIN{_body(derived_sql('OLD', -1) + derived_sql('NEW', 1))}\nEND",
        f"CREATE TRIGGER trg_sign_in_hours_derived AFTER INSERT ON sign_in_hours BEGIN{_body([sign_in_block_sql('NEW')])}\nEND",
    ]


def hour_triggers(dialect: str) -> list[str]:
    """Migration 0003: activity_hours / sign_in_hours follow the raw records."""
    return _hour_pg() if dialect == "postgresql" else _hour_sqlite()


def derived_triggers(dialect: str) -> list[str]:
    """Migration 0004: school_days / activity_blocks / sign_in_blocks follow the hourly rollups."""
    return _derived_pg() if dialect == "postgresql" else _derived_sqlite()
