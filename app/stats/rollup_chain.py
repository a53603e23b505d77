"""The rollup triggers of migration 0013: a shorter chain from a go-live to every rollup.

Migrations 0004 and 0008 kept the day and month rollups with a chain of triggers, each level doing
every statement of its event whatever changed: a session going live ran 27 statements (the
day's bits of `activity_blocks` recomputed with three EXISTS probes of `activity_hours`, a
subtract-and-delete for the session's old, NULL, live time, a delete after every upsert).
Measured on the benchmark city (`python -m loadtest.stats`): 11–18 ms per go-live on a loaded
machine, the target is 2.

Now, per level, one statement per table that changes, and none for what cannot change:
- `activity_hours` → `student_days` and `school_days` (one upsert each; the empty rows deleted
  only when something was taken away);
- `student_days` → `school_day_students` (a new student-day), `student_months`, and the day's
  bits in `activity_blocks`, set from the student-day row itself (bit = the day has a session /
  a question / an attendance), only when one of them changes — no probe of the hourly rollup;
- `student_months` → `school_months` only when one of its "took part" flags changes, and
  `class_months`;
- `tutoring_sessions` → `tutor_days` / `tutor_months`: a change within the same day (the session
  ends, it is rated) is one delta upsert per table; a move between days removes and adds.

The same rollups as before, with the same definitions (a rebuild is unchanged). Concurrency on
PostgreSQL (READ COMMITTED): the `student_days` row of (school, day, student) is locked by the
upsert before the day's bits are written, so two transactions touching one student-day are
serialised, and each sets the bits from that row as the other left it.

SQLite gets the same logic for the `activity_hours` / `student_days` levels (its triggers cannot
be skipped with IF, each one's WHEN does that); its `student_months` and `tutoring_sessions`
triggers of 0008 stay as they are. Migration 0013 holds a frozen copy of what this module
generates; tests/test_dashboard_rollups.py keeps them equal.
"""

from __future__ import annotations

from .rollups import BLOCK_DAYS, COUNTS, DAY_OFFSET_H, day_of_ts, month_of_day


def _counts_upsert(table: str, key: dict[str, str], extra: dict[str, str], delta: dict[str, str]) -> str:
    cols = {**key, **extra, **delta}
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in delta)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(cols.values())}) ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"


def _match(key: dict[str, str]) -> str:
    return " AND ".join(f"{c} = {v}" for c, v in key.items())


def _drop_zero(table: str, key: dict[str, str], cols: list[str]) -> str:
    return f"DELETE FROM {table} WHERE {_match(key)} AND " + " AND ".join(f"{c} = 0" for c in cols)


def _bit(day: str) -> str:
    return f"(CAST(1 AS BIGINT) << ({day} % {BLOCK_DAYS}))"


BITS = {"o_days": "one_to_one", "q_days": "questions", "a_days": "attendances"}


def _flag(ref: str, col: str) -> str:
    return f"(CASE WHEN {ref}.{col} > 0 THEN 1 ELSE 0 END)"


# --- activity_hours → student_days, school_days ----------------------------------------------------


def _hours_days(ref: str, delta: dict[str, str]) -> tuple[list[str], list[str]]:
    """(upserts, deletes of emptied rows) carrying an activity_hours change into the day rollups."""
    day = f"(({ref}.hour + {DAY_OFFSET_H}) / 24)"
    sd = {"school_id": f"{ref}.school_id", "day": day, "student_id": f"{ref}.student_id"}
    sc = {"school_id": f"{ref}.school_id", "day": day}
    return (
        [_counts_upsert("student_days", sd, {"class_id": f"{ref}.class_id"}, delta), _counts_upsert("school_days", sc, {}, delta)],
        [_drop_zero("student_days", sd, COUNTS), _drop_zero("school_days", sc, COUNTS)],
    )


def _hour_delta(op: str) -> dict[str, str]:
    if op == "INSERT":
        return {c: f"NEW.{c}" for c in COUNTS}
    if op == "DELETE":
        return {c: f"-OLD.{c}" for c in COUNTS}
    return {c: f"NEW.{c} - OLD.{c}" for c in COUNTS}


# --- student_days → school_day_students, student_months, activity_blocks --------------------------


def _blocks_key(ref: str) -> dict[str, str]:
    return {"block": f"({ref}.day / {BLOCK_DAYS})", "school_id": f"{ref}.school_id", "student_id": f"{ref}.student_id"}


def _blocks_set(ref: str) -> str:
    """A new student-day: its kinds' bits set in the student's block row (made if missing)."""
    bit = _bit(f"{ref}.day")
    vals = {b: f"(CASE WHEN {ref}.{c} > 0 THEN {bit} ELSE 0 END)" for b, c in BITS.items()}
    key = _blocks_key(ref)
    sets = ", ".join(f"{b} = activity_blocks.{b} | excluded.{b}" for b in BITS)
    return (
        f"INSERT INTO activity_blocks ({', '.join([*key, *vals])}) VALUES ({', '.join([*key.values(), *vals.values()])}) "
        f"ON CONFLICT (block, school_id, student_id) DO UPDATE SET {sets}"
    )


def _blocks_update(ref: str | None) -> list[str]:
    """The day's bits rewritten from the student-day row `ref` (None: the row is gone, all bits cleared)."""
    src = ref or "OLD"
    bit = _bit(f"{src}.day")
    sets = ", ".join(f"{b} = ({b} & ~{bit}) | " + (f"(CASE WHEN {ref}.{c} > 0 THEN {bit} ELSE 0 END)" if ref else "0") for b, c in BITS.items())
    key = _blocks_key(src)
    return [f"UPDATE activity_blocks SET {sets} WHERE {_match(key)}", _drop_zero("activity_blocks", key, list(BITS))]


def _month_key(dialect: str, ref: str) -> dict[str, str]:
    return {"school_id": f"{ref}.school_id", "month": month_of_day(dialect, f"{ref}.day"), "student_id": f"{ref}.student_id"}


def _days_months(dialect: str, op: str) -> tuple[list[str], list[str]]:
    """student_days' event `op` into school_day_students and student_months: (statements, deletes of emptied rows)."""
    ref = "OLD" if op == "DELETE" else "NEW"
    sds = {"school_id": f"{ref}.school_id", "day": f"{ref}.day"}
    months = _month_key(dialect, ref)
    delta = {c: (f"NEW.{c}" if op == "INSERT" else f"-OLD.{c}" if op == "DELETE" else f"NEW.{c} - OLD.{c}") for c in COUNTS}
    out = [_counts_upsert("student_months", months, {"class_id": f"{ref}.class_id"}, delta)]
    if op == "INSERT":
        return [_counts_upsert("school_day_students", sds, {}, {"participants": "1"}), *out], []
    if op == "DELETE":
        return [_counts_upsert("school_day_students", sds, {}, {"participants": "-1"}), *out], [
            _drop_zero("school_day_students", sds, ["participants"]),
            _drop_zero("student_months", months, COUNTS),
        ]
    return out, [_drop_zero("student_months", months, COUNTS)]


def _flags_changed(a: str, b: str) -> str:
    return " OR ".join(f"({a}.{c} > 0) <> ({b}.{c} > 0)" for c in COUNTS)


def _any_taken(op: str) -> str:
    return "true" if op == "DELETE" else " OR ".join(f"NEW.{c} < OLD.{c}" for c in COUNTS)


# --- student_months → school_months, class_months (PostgreSQL) -------------------------------------

SCHOOL_MONTH = {"participants": None, "o_students": "one_to_one", "q_students": "questions", "a_students": "attendances"}


def _school_flags(ref: str) -> dict[str, str]:
    return {
        c: (f"(CASE WHEN {' OR '.join(f'{ref}.{k} > 0' for k in COUNTS)} THEN 1 ELSE 0 END)" if k is None else _flag(ref, k))
        for c, k in SCHOOL_MONTH.items()
    }


def _months_pg() -> str:
    def school(delta: dict[str, str], ref: str) -> str:
        return _counts_upsert("school_months", {"school_id": f"{ref}.school_id", "month": f"{ref}.month"}, {}, delta)

    def klass(delta: dict[str, str], ref: str) -> str:
        return _counts_upsert("class_months", {"class_id": f"{ref}.class_id", "month": f"{ref}.month"}, {"school_id": f"{ref}.school_id"}, delta)

    new, old = _school_flags("NEW"), _school_flags("OLD")
    part = lambda ref: " + ".join(f"{ref}.{c}" for c in COUNTS)  # noqa: E731 - a one-line SQL snippet builder
    s_key = {"school_id": "OLD.school_id", "month": "OLD.month"}
    c_key = {"class_id": "OLD.class_id", "month": "OLD.month"}
    return f"""
CREATE OR REPLACE FUNCTION rollup_student_months_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {school(new, "NEW")};
    IF NEW.class_id IS NOT NULL THEN
      {klass({"participants": new["participants"], "participations": f"({part('NEW')})"}, "NEW")};
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF {_flags_changed("OLD", "NEW")} THEN
      {school({c: f"{new[c]} - {old[c]}" for c in new}, "NEW")};
      {_drop_zero("school_months", {"school_id": "NEW.school_id", "month": "NEW.month"}, list(SCHOOL_MONTH))};
    END IF;
    IF NEW.class_id IS NOT NULL THEN
      {klass({"participants": f"{new['participants']} - {old['participants']}", "participations": f"({part('NEW')}) - ({part('OLD')})"}, "NEW")};
      {_drop_zero("class_months", {"class_id": "NEW.class_id", "month": "NEW.month"}, ["participants", "participations"])};
    END IF;
  ELSE
    {school({c: f"-{old[c]}" for c in old}, "OLD")};
    {_drop_zero("school_months", s_key, list(SCHOOL_MONTH))};
    IF OLD.class_id IS NOT NULL THEN
      {klass({"participants": f"-{old['participants']}", "participations": f"-({part('OLD')})"}, "OLD")};
      {_drop_zero("class_months", c_key, ["participants", "participations"])};
    END IF;
  END IF;
  RETURN NULL;
END $$"""


# --- tutoring_sessions → tutor_days, tutor_months (PostgreSQL) -------------------------------------

TUTOR = ["sessions", "seconds", "rated", "rating_sum"]


def _tutor_values(ref: str, sign: str) -> dict[str, str]:
    return {
        "sessions": f"{sign}1",
        "seconds": f"{sign}coalesce({ref}.duration_s, 0)",
        "rated": f"{sign}(CASE WHEN {ref}.rating IS NOT NULL THEN 1 ELSE 0 END)",
        "rating_sum": f"{sign}coalesce({ref}.rating, 0)",
    }


def _tutor_upserts(dialect: str, ref: str, delta: dict[str, str]) -> list[str]:
    day = day_of_ts(dialect, f"{ref}.live_at")
    return [
        _counts_upsert("tutor_days", {"tutor_id": f"{ref}.tutor_id", "day": day}, {}, delta),
        _counts_upsert("tutor_months", {"tutor_id": f"{ref}.tutor_id", "month": month_of_day(dialect, day)}, {}, delta),
    ]


def _tutors_pg() -> str:
    dialect = "postgresql"
    new, old = _tutor_values("NEW", ""), _tutor_values("OLD", "-")
    same = {c: f"{new[c]} - ({_tutor_values('OLD', '')[c]})" for c in TUTOR}
    same["sessions"] = "0"
    day = lambda ref: day_of_ts(dialect, f"{ref}.live_at")  # noqa: E731 - a one-line SQL snippet builder
    removed = _tutor_upserts(dialect, "OLD", old)
    drops = [
        _drop_zero("tutor_days", {"tutor_id": "OLD.tutor_id", "day": day("OLD")}, TUTOR),
        _drop_zero("tutor_months", {"tutor_id": "OLD.tutor_id", "month": month_of_day(dialect, day("OLD"))}, TUTOR),
    ]
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("live_at", "tutor_id", "duration_s", "rating"))
    body = lambda stmts: "".join(f"\n      {s};" for s in stmts)  # noqa: E731 - a one-line SQL snippet builder
    return f"""
CREATE OR REPLACE FUNCTION rollup_tutoring_sessions_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NOT ({changed}) THEN RETURN NULL; END IF;
    IF OLD.live_at IS NOT NULL AND NEW.live_at IS NOT NULL AND OLD.tutor_id = NEW.tutor_id AND {day("OLD")} = {day("NEW")} THEN{body(_tutor_upserts(dialect, "NEW", same))}
      RETURN NULL;
    END IF;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.live_at IS NOT NULL THEN{body(removed + drops)}
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.live_at IS NOT NULL THEN{body(_tutor_upserts(dialect, "NEW", new))}
  END IF;
  RETURN NULL;
END $$"""


# --- the triggers ----------------------------------------------------------------------------------


def _pg_if(cond: str, stmts: list[str], indent: str = "    ") -> str:
    if not stmts:
        return ""
    inner = "".join(f"\n{indent}  {s};" for s in stmts)
    return f"\n{indent}IF {cond} THEN{inner}\n{indent}END IF;"


def _hours_pg() -> str:
    parts = []
    for op in ("INSERT", "UPDATE", "DELETE"):
        ref = "OLD" if op == "DELETE" else "NEW"
        ups, drops = _hours_days(ref, _hour_delta(op))
        nonzero = " OR ".join(f"{v} <> 0" for v in _hour_delta(op).values())
        parts.append(
            f"  IF TG_OP = '{op}' AND {ref}.school_id IS NOT NULL AND ({nonzero}) THEN"
            + "".join(f"\n    {s};" for s in ups)
            + _pg_if(_any_taken(op), drops)
            + "\n  END IF;"
        )
    return (
        "\nCREATE OR REPLACE FUNCTION rollup_activity_hours_chain() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + "\n".join(parts)
        + "\n  RETURN NULL;\nEND $$"
    )


def _days_pg() -> str:
    dialect = "postgresql"
    ins, _ = _days_months(dialect, "INSERT")
    upd, upd_drops = _days_months(dialect, "UPDATE")
    dele, del_drops = _days_months(dialect, "DELETE")
    st = lambda stmts: "".join(f"\n    {s};" for s in stmts)  # noqa: E731 - a one-line SQL snippet builder
    return f"""
CREATE OR REPLACE FUNCTION rollup_student_days_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN{st(ins + [_blocks_set("NEW")])}
  ELSIF TG_OP = 'UPDATE' THEN{st(upd)}{_pg_if(_any_taken("UPDATE"), upd_drops)}{_pg_if(_flags_changed("OLD", "NEW"), _blocks_update("NEW"))}
  ELSE{st(dele + del_drops + _blocks_update(None))}
  END IF;
  RETURN NULL;
END $$"""


# (trigger, table, function) on PostgreSQL
PG_CHAIN = [
    ("trg_activity_hours_chain", "activity_hours", "rollup_activity_hours_chain", "INSERT OR DELETE OR UPDATE"),
    ("trg_student_days_chain", "student_days", "rollup_student_days_chain", "INSERT OR DELETE OR UPDATE"),
    ("trg_student_months_chain", "student_months", "rollup_student_months_chain", "INSERT OR DELETE OR UPDATE"),
    (
        "trg_tutoring_sessions_chain",
        "tutoring_sessions",
        "rollup_tutoring_sessions_chain",
        "INSERT OR DELETE OR UPDATE OF live_at, tutor_id, duration_s, rating",
    ),
]

# What 0013 replaces: 0004's and 0008's triggers on the same levels (their functions are dropped too).
PG_REPLACED = [
    ("trg_activity_hours_derived", "activity_hours", "rollup_activity_hours"),
    ("trg_activity_hours_student_days", "activity_hours", "rollup_activity_hours_student_days"),
    ("trg_student_days_months", "student_days", "rollup_student_days_months"),
    ("trg_student_months_months", "student_months", "rollup_student_months_months"),
    ("trg_tutoring_sessions_tutors", "tutoring_sessions", "rollup_tutoring_sessions_tutors"),
]
SQLITE_REPLACED = [
    "trg_activity_hours_derived_ins",
    "trg_activity_hours_derived_del",
    "trg_activity_hours_derived_upd",
    "trg_activity_hours_student_days_insert0",
    "trg_activity_hours_student_days_update1",
    "trg_activity_hours_student_days_delete2",
    "trg_student_days_months_insert0",
    "trg_student_days_months_update1",
    "trg_student_days_months_delete2",
]


def _sqlite() -> list[str]:
    dialect = "sqlite"
    out = []
    for op in ("INSERT", "UPDATE", "DELETE"):
        ref = "OLD" if op == "DELETE" else "NEW"
        ups, drops = _hours_days(ref, _hour_delta(op))
        stmts = ups + (drops if op != "INSERT" else [])
        out.append(
            f"CREATE TRIGGER trg_activity_hours_chain_{op.lower()} AFTER {op} ON activity_hours WHEN {ref}.school_id IS NOT NULL BEGIN"
            + "".join(f"\n  {s};" for s in stmts)
            + "\nEND"
        )
    ins, _ = _days_months(dialect, "INSERT")
    upd, upd_drops = _days_months(dialect, "UPDATE")
    dele, del_drops = _days_months(dialect, "DELETE")
    for op, stmts in (
        ("INSERT", ins + [_blocks_set("NEW")]),
        ("UPDATE", upd + upd_drops + _blocks_update("NEW")),
        ("DELETE", dele + del_drops + _blocks_update(None)),
    ):
        out.append(
            f"CREATE TRIGGER trg_student_days_chain_{op.lower()} AFTER {op} ON student_days BEGIN" + "".join(f"\n  {s};" for s in stmts) + "\nEND"
        )
    return out


def chain_trigger_sql(dialect: str) -> list[str]:
    """Migration 0013's statements installing the chain (after chain_drop_replaced_sql)."""
    if dialect != "postgresql":
        return _sqlite()
    out = [_hours_pg(), _days_pg(), _months_pg(), _tutors_pg()]
    for trigger, table, function, events in PG_CHAIN:
        out.append(f"CREATE TRIGGER {trigger} AFTER {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()")
    return out


def chain_drop_replaced_sql(dialect: str) -> list[str]:
    """Migration 0013's statements removing the triggers it replaces."""
    if dialect != "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}" for t in SQLITE_REPLACED]
    return [
        s
        for trigger, table, function in PG_REPLACED
        for s in (f"DROP TRIGGER IF EXISTS {trigger} ON {table}", f"DROP FUNCTION IF EXISTS {function}()")
    ]


def chain_drop_sql(dialect: str) -> list[str]:
    """Migration 0013's downgrade: the chain removed (the replaced triggers are then installed again)."""
    if dialect != "postgresql":
        return [f"DROP TRIGGER IF EXISTS trg_{t}_chain_{op}" for t in ("activity_hours", "student_days") for op in ("insert", "update", "delete")]
    return [
        s
        for trigger, table, function, _ in PG_CHAIN
        for s in (f"DROP TRIGGER IF EXISTS {trigger} ON {table}", f"DROP FUNCTION IF EXISTS {function}()")
    ]


def chain_restore_sql(dialect: str) -> list[str]:
    """Migration 0013's downgrade: the triggers it replaced, as 0004 and 0008 installed them."""
    from .rollup_triggers import derived_triggers
    from .rollups import dashboard_trigger_sql

    old = derived_triggers(dialect) + dashboard_trigger_sql(dialect)
    if dialect != "postgresql":
        return [s for s in old if s.split()[2] in SQLITE_REPLACED]
    names = {n for trigger, _, function in PG_REPLACED for n in (trigger, function)}
    return [s for s in old if (s.split()[4].split("(")[0] if s.lstrip().startswith("CREATE OR REPLACE") else s.split()[2]) in names]
