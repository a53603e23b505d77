"""Rollups that keep the city-wide tables fast, kept exact by database triggers.

`activity_hours` holds each student's participations per UTC hour (hours since the epoch):
one-to-one sessions by the hour they went live, questions by the hour they were posted,
class attendances by the hour the student joined. `sign_in_hours` holds who signed in in each
hour. Triggers on the raw tables (installed by migration 0003, the same logic for PostgreSQL
and SQLite) update them in the same transaction as the write, whatever code path writes —
so they never drift. `rebuild()` recomputes both from the raw records (after a bulk load with
triggers disabled, or to check them).

Hours, not days, so that any period [from, to) in a time zone with a whole-hour UTC offset
(Asia/Shanghai: +8) is a whole range of hours.

Two smaller rollups are derived from `activity_hours` by a trigger on it (so they follow it in
the same transaction), for periods made of whole service days (days of UTC+8, i.e.
Asia/Shanghai, which has kept +8 all year since 1991):
- `school_days`: per school and day, the sessions, questions and attendances — the count
  columns of a school's row come from ~140 rows per school and semester instead of one row per
  student and hour;
- `activity_blocks`: per student, school and block of 63 days, three bitmasks of the days on
  which the student had a one-to-one session / asked a question / attended a class (bit d set
  for day 63·block + d). "Students who took part in [from, to)" is then one row per student and
  block, tested against the period's day mask — a semester touches three blocks.
`sign_in_blocks` does the same for sign-ins (per user and block, the days signed in).
A period whose bounds are not whole UTC+8 days (a service configured for another time zone)
is answered from the hourly rollups instead; both paths give the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, literal, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from app.kit.errors import InvalidInput

# (source table, time column, activity column). rollup_triggers.py builds the triggers from these
# and hour_sql(); migration 0003 holds a frozen copy: changing them means a new migration that
# replaces the triggers (tests/test_migrations.py compares the frozen copies with the generators).
SOURCES = [
    ("tutoring_sessions", "live_at", "one_to_one"),
    ("questions", "created_at", "questions"),
    ("class_attendances", "joined_at", "attendances"),
]


def hour_sql(dialect: str, col: str) -> str:
    if dialect == "postgresql":
        return f"CAST(floor(extract(epoch FROM {col}) / 3600) AS INTEGER)"
    return f"(CAST(strftime('%s', {col}) AS INTEGER) / 3600)"


def hour_bounds(start: date, end: date, tz: str) -> tuple[int, int]:
    """[from, to) in days of `tz` as [first hour, last hour) since the epoch."""
    zone = ZoneInfo(tz)
    out = []
    for d in (start, end):
        ts = datetime.combine(d, time(0), zone).timestamp()
        if ts % 3600:
            raise InvalidInput(f"the time zone {tz} is not a whole number of hours from UTC on {d}")
        out.append(int(ts // 3600))
    return out[0], out[1]


DAY_OFFSET_H = 8  # rollup days are days of UTC+8 (Asia/Shanghai)
BLOCK_DAYS = 63  # days per bitmask block: bit 62 at most, so masks stay positive 64-bit integers
FULL_MASK = (1 << BLOCK_DAYS) - 1


def day_bounds(h0: int, h1: int) -> tuple[int, int] | None:
    """[first day, last day) of a period given in hours, or None if it does not fall on whole days."""
    if (h0 + DAY_OFFSET_H) % 24 or (h1 + DAY_OFFSET_H) % 24:
        return None
    return (h0 + DAY_OFFSET_H) // 24, (h1 + DAY_OFFSET_H) // 24


def block_masks(d0: int, d1: int) -> dict[int, int]:
    """For days [d0, d1): each block it touches and the bits of the days inside the period."""
    out = {}
    for block in range(d0 // BLOCK_DAYS, (d1 - 1) // BLOCK_DAYS + 1) if d1 > d0 else ():
        lo, hi = max(d0 - block * BLOCK_DAYS, 0), min(d1 - block * BLOCK_DAYS, BLOCK_DAYS)
        out[block] = ((1 << hi) - 1) & ~((1 << lo) - 1)
    return out


def hits(
    days_col: ColumnElement[int] | InstrumentedAttribute[int], block_col: ColumnElement[int] | InstrumentedAttribute[int], masks: dict[int, int]
) -> ColumnElement[bool]:
    """True for a block row with a day inside the period (rows already limited to its blocks)."""
    partial = [(block_col == b, literal(m, BigInteger)) for b, m in masks.items() if m != FULL_MASK]
    if not partial:
        return days_col != 0
    return days_col.op("&")(case(*partial, else_=literal(FULL_MASK, BigInteger))) != 0


def _day(ref: str) -> str:
    return f"(({ref}.hour + {DAY_OFFSET_H}) / 24)"


def _block(ref: str) -> str:
    return f"({_day(ref)} / {BLOCK_DAYS})"


def _bit(ref: str) -> str:
    return f"(CAST(1 AS BIGINT) << ({_day(ref)} % {BLOCK_DAYS}))"


def derived_sql(ref: str, sign: int) -> list[str]:
    """Statements that carry one activity_hours row (`ref` = NEW or OLD, added or taken away by
    `sign`) into school_days and activity_blocks. The same SQL runs in the PostgreSQL trigger
    function and the SQLite triggers (migration 0004). The day's bits are recomputed from
    activity_hours itself (already in its new state in an AFTER trigger), so the order of
    updates does not matter and a bit goes away only when nothing is left on that day.

    Concurrency (PostgreSQL, READ COMMITTED): the upserts before the recomputation (the
    school_days row of that school and day, then the activity_blocks row) wait for any other
    open transaction that touched the same rows, and the recomputation is a later statement of
    the trigger function, with a new snapshot that sees what the other one committed — so an
    addition and a removal on the same student and day cannot drop each other's bit. Keep the
    recomputing UPDATE after them (tests/test_rollups.py races an addition and a removal)."""
    day, bit, block = _day(ref), _bit(ref), _block(ref)
    mine = (
        f"h.student_id = {ref}.student_id AND h.school_id = {ref}.school_id AND h.hour >= {day} * 24 - {DAY_OFFSET_H} "
        f"AND h.hour < {day} * 24 + {24 - DAY_OFFSET_H}"
    )
    row = f"block = {block} AND school_id = {ref}.school_id AND student_id = {ref}.student_id"

    def recompute(col: str, src: str) -> str:
        return f"{col} = (({col} & ~{bit}) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE {mine} AND h.{src} > 0) THEN {bit} ELSE 0 END))"

    return [
        "INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) "
        f"SELECT {ref}.school_id, {day}, {sign} * {ref}.one_to_one, {sign} * {ref}.questions, {sign} * {ref}.attendances "
        "WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, "
        "questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances",
        f"DELETE FROM school_days WHERE school_id = {ref}.school_id AND day = {day} AND one_to_one = 0 AND questions = 0 AND attendances = 0",
        "INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) "
        f"SELECT {block}, {ref}.school_id, {ref}.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING",
        f"UPDATE activity_blocks SET {recompute('o_days', 'one_to_one')}, {recompute('q_days', 'questions')}, "
        f"{recompute('a_days', 'attendances')} WHERE {row}",
        f"DELETE FROM activity_blocks WHERE {row} AND o_days = 0 AND q_days = 0 AND a_days = 0",
    ]


def sign_in_block_sql(ref: str) -> str:
    """A sign_in_hours row (`ref`) sets its day's bit in sign_in_blocks (sign-ins are never taken back)."""
    return (
        "INSERT INTO sign_in_blocks (user_id, block, days) "
        f"SELECT {ref}.user_id, {_block(ref)}, {_bit(ref)} WHERE true "
        "ON CONFLICT (user_id, block) DO UPDATE SET days = sign_in_blocks.days | excluded.days"
    )


def _or_agg(dialect: str, expr: str) -> str:
    # Every bit value in one group stands for a different day, so summing the distinct values is an OR.
    return f"bit_or({expr})" if dialect == "postgresql" else f"sum(DISTINCT {expr})"


def derived_rebuild_sql(dialect: str) -> list[str]:
    day, bit, block = _day("x"), _bit("x"), _block("x")
    flag = lambda col: _or_agg(dialect, f"CASE WHEN x.{col} > 0 THEN {bit} ELSE 0 END")
    return [
        "DELETE FROM school_days",
        "INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) "
        f"SELECT x.school_id, {day}, sum(x.one_to_one), sum(x.questions), sum(x.attendances) FROM activity_hours x "
        f"WHERE x.school_id IS NOT NULL GROUP BY x.school_id, {day}",
        "DELETE FROM activity_blocks",
        "INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) "
        f"SELECT {block}, x.school_id, x.student_id, {flag('one_to_one')}, {flag('questions')}, "
        f"{flag('attendances')} FROM activity_hours x WHERE x.school_id IS NOT NULL "
        f"GROUP BY {block}, x.school_id, x.student_id",
        "DELETE FROM sign_in_blocks",
        f"INSERT INTO sign_in_blocks (user_id, block, days) SELECT x.user_id, {block}, "
        f"{_or_agg(dialect, bit)} FROM sign_in_hours x GROUP BY x.user_id, {block}",
    ]


def rebuild_sql(dialect: str) -> list[str]:
    # With the triggers of migration 0013 enabled, student_days' trigger writes activity_blocks:
    # the blocks (and school_days) are recomputed after it.
    return hour_rebuild_sql(dialect) + dashboard_rebuild_sql(dialect) + derived_rebuild_sql(dialect) + hot_spot_rebuild_sql(dialect)


def hour_rebuild_sql(dialect: str) -> list[str]:
    """Recompute activity_hours and sign_in_hours (migration 0003 ran this; later ones add more)."""
    parts = []
    for table, col, acol in SOURCES:
        cols = {"one_to_one": "0", "questions": "0", "attendances": "0", acol: "1"}
        parts.append(
            f"SELECT {hour_sql(dialect, 'x.' + col)} AS hour, x.student_id, {cols['one_to_one']} AS o, "
            f"{cols['questions']} AS q, {cols['attendances']} AS a FROM {table} x WHERE x.{col} IS NOT NULL"
        )
    union = " UNION ALL ".join(parts)
    return [
        "DELETE FROM activity_hours",
        "INSERT INTO activity_hours (hour, student_id, school_id, class_id, one_to_one, questions, attendances) "
        f"SELECT r.hour, r.student_id, u.school_id, u.class_id, sum(r.o), sum(r.q), sum(r.a) FROM ({union}) r "
        "JOIN users u ON u.id = r.student_id GROUP BY r.hour, r.student_id, u.school_id, u.class_id",
        "DELETE FROM sign_in_hours",
        f"INSERT INTO sign_in_hours (hour, user_id) SELECT DISTINCT {hour_sql(dialect, 'at')}, user_id FROM sign_ins",
    ]


async def rebuild(conn: AsyncConnection) -> None:
    """Recompute every rollup from the raw records (in the caller's transaction)."""
    for stmt in rebuild_sql(conn.dialect.name):
        await conn.execute(text(stmt))


# --- Rollups of migration 0008: what the dashboard and the exports read ---------------------------
#
# Every one is kept by triggers (in the same transaction as the write, the same SQL on both
# databases) and recomputed by rebuild(). Days are service days (UTC+8) since the epoch, months
# are calendar months of those days counted from 1970-01 (month = 12·(year − 1970) + month − 1).
#
# activity_hours ─► student_days (school, day, student: the day's counts and the student's class)
#   student_days ─► school_day_students (per school and day, the students with a student_days row)
#                ─► student_months (school, month, student: the month's counts)
#   student_months ─► school_months (distinct students of the month: any / one-to-one / question / class)
#                  ─► class_months (distinct students of the month and their participations, per class)
# tutoring_sessions ─► tutor_days, tutor_months (sessions gone live, live seconds, ratings: count and sum)
# points_ledger ─► points_months (per district, tutor and month: entries and points in cents)
# users ─► student_registrations (students per school, class (0: none) and day of registration)
# help_request_knowledge_points ─► knowledge_point_days (tags per school, class (0: none), day and knowledge point)
#
# A count of distinct students cannot be added up over days or months, so school_months and
# class_months answer a period of exactly one calendar month; other periods read student_days.


def day_of_ts(dialect: str, col: str) -> str:
    """The service day (UTC+8) of a timestamp column, as days since the epoch."""
    if dialect == "postgresql":
        return f"CAST(floor((extract(epoch FROM {col}) + {DAY_OFFSET_H * 3600}) / 86400) AS INTEGER)"
    return f"((CAST(strftime('%s', {col}) AS INTEGER) + {DAY_OFFSET_H * 3600}) / 86400)"


def month_of_day(dialect: str, day: str) -> str:
    if dialect == "postgresql":
        return f"CAST((extract(year FROM date '1970-01-01' + {day}) - 1970) * 12 + extract(month FROM date '1970-01-01' + {day}) - 1 AS INTEGER)"
    return (
        f"((CAST(strftime('%Y', {day} * 86400, 'unixepoch') AS INTEGER) - 1970) * 12 "
        f"+ CAST(strftime('%m', {day} * 86400, 'unixepoch') AS INTEGER) - 1)"
    )


EPOCH_DAY = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH_DAY).days


def month_number(d: date) -> int:
    return (d.year - 1970) * 12 + d.month - 1


def month_start(m: int) -> date:
    return date(1970 + m // 12, m % 12 + 1, 1)


def split_months(d0: int, d1: int) -> tuple[int, int, list[tuple[int, int]]]:
    """Days [d0, d1) as the whole months [m0, m1) inside them and the day ranges left at the edges."""
    first, last = EPOCH_DAY + timedelta(days=d0), EPOCH_DAY + timedelta(days=d1)
    m0 = month_number(first) + (first.day != 1)
    m1 = month_number(last)
    if m1 <= m0:
        return m0, m0, [(d0, d1)] if d1 > d0 else []
    edges = [(d0, day_number(month_start(m0))), (day_number(month_start(m1)), d1)]
    return m0, m1, [(a, b) for a, b in edges if b > a]


def single_month(d0: int, d1: int) -> int | None:
    """The month if days [d0, d1) are exactly one calendar month."""
    m0, m1, edges = split_months(d0, d1)
    return m0 if m1 == m0 + 1 and not edges else None


def _ind(cond: str) -> str:
    return f"(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _upsert(table: str, key: list[str], values: dict[str, str], add: list[str], where: str = "true") -> str:
    """INSERT one row (key + values) or add the `add` columns of it to the existing row."""
    cols = list(values)
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values.values())} WHERE {where} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    )


def _sub(table: str, match: str, values: dict[str, str]) -> str:
    sets = ", ".join(f"{c} = {c} - {v}" for c, v in values.items())
    return f"UPDATE {table} SET {sets} WHERE {match}"


def _drop_empty(table: str, match: str, cols: list[str]) -> str:
    return f"DELETE FROM {table} WHERE {match} AND " + " AND ".join(f"{c} = 0" for c in cols)


COUNTS = ["one_to_one", "questions", "attendances"]


def student_day_sql(op: str) -> list[str]:
    """An activity_hours row inserted, updated (its counts: the key and school never change) or
    deleted, carried into student_days. Nothing is written for a change of zero, so a row of
    student_days exists exactly while the student has a participation that day."""
    ref = "OLD" if op == "DELETE" else "NEW"
    day = _day(ref)
    key = f"school_id = {ref}.school_id AND day = {day} AND student_id = {ref}.student_id"
    if op == "DELETE":
        return [_sub("student_days", key, {c: f"OLD.{c}" for c in COUNTS}), _drop_empty("student_days", key, COUNTS)]
    delta = {c: f"NEW.{c}" if op == "INSERT" else f"NEW.{c} - OLD.{c}" for c in COUNTS}
    out = [
        _upsert(
            "student_days",
            ["school_id", "day", "student_id"],
            {"school_id": "NEW.school_id", "day": day, "student_id": "NEW.student_id", "class_id": "NEW.class_id", **delta},
            COUNTS,
            where=" OR ".join(f"{v} <> 0" for v in delta.values()),
        )
    ]
    return out + [_drop_empty("student_days", key, COUNTS)] if op == "UPDATE" else out


def _month_key(dialect: str, ref: str) -> str:
    return f"school_id = {ref}.school_id AND month = {month_of_day(dialect, ref + '.day')} AND student_id = {ref}.student_id"


def _student_month_upsert(dialect: str, count: str) -> str:
    """Add a student day's counts to its month row; `count` is each count's expression, with
    `{c}` for the column."""
    return _upsert(
        "student_months",
        ["school_id", "month", "student_id"],
        {
            "school_id": "NEW.school_id",
            "month": month_of_day(dialect, "NEW.day"),
            "student_id": "NEW.student_id",
            "class_id": "NEW.class_id",
            **{c: count.format(c=c) for c in COUNTS},
        },
        COUNTS,
    )


def student_days_insert_sql(dialect: str) -> list[str]:
    return [
        _upsert("school_day_students", ["school_id", "day"], {"school_id": "NEW.school_id", "day": "NEW.day", "participants": "1"}, ["participants"]),
        _student_month_upsert(dialect, "NEW.{c}"),
    ]


def student_days_update_sql(dialect: str) -> list[str]:
    return [
        _student_month_upsert(dialect, "NEW.{c} - OLD.{c}"),
        _drop_empty("student_months", _month_key(dialect, "NEW"), COUNTS),
    ]


def student_days_delete_sql(dialect: str) -> list[str]:
    day = "school_id = OLD.school_id AND day = OLD.day"
    return [
        _sub("school_day_students", day, {"participants": "1"}),
        _drop_empty("school_day_students", day, ["participants"]),
        _sub("student_months", _month_key(dialect, "OLD"), {c: f"OLD.{c}" for c in COUNTS}),
        _drop_empty("student_months", _month_key(dialect, "OLD"), COUNTS),
    ]


def _month_flags(ref: str) -> dict[str, str]:
    """What one student_months row adds to its school_months row."""
    return {
        "participants": _ind(" OR ".join(f"{ref}.{c} > 0" for c in COUNTS)),
        "o_students": _ind(f"{ref}.one_to_one > 0"),
        "q_students": _ind(f"{ref}.questions > 0"),
        "a_students": _ind(f"{ref}.attendances > 0"),
    }


SCHOOL_MONTH = ["participants", "o_students", "q_students", "a_students"]
CLASS_MONTH = ["participants", "participations"]


def _class_month(ref: str) -> dict[str, str]:
    return {"participants": _month_flags(ref)["participants"], "participations": "(" + " + ".join(f"{ref}.{c}" for c in COUNTS) + ")"}


def student_months_sql(op: str) -> list[str]:
    """The statements of student_months' trigger for `op` (INSERT, UPDATE or DELETE): its row's
    flags and counts carried into school_months and class_months (UPDATE: new minus old; the key
    and the class of a row never change)."""

    def delta(fn: Callable[[str], dict[str, str]]) -> dict[str, str]:
        new, old = fn("NEW"), fn("OLD")
        if op == "INSERT":
            return new
        if op == "UPDATE":
            return {c: f"{new[c]} - {old[c]}" for c in new}  # every term is parenthesised
        return {c: f"-{old[c]}" for c in old}

    ref = "OLD" if op == "DELETE" else "NEW"
    school, klass = delta(_month_flags), delta(_class_month)
    school_key, class_key = f"school_id = {ref}.school_id AND month = {ref}.month", f"class_id = {ref}.class_id AND month = {ref}.month"
    if op == "DELETE":
        return [
            _sub("school_months", school_key, {c: _month_flags("OLD")[c] for c in SCHOOL_MONTH}),
            _drop_empty("school_months", school_key, SCHOOL_MONTH),
            _sub("class_months", class_key, {c: _class_month("OLD")[c] for c in CLASS_MONTH}),
            _drop_empty("class_months", class_key, CLASS_MONTH),
        ]
    out = [
        _upsert("school_months", ["school_id", "month"], {"school_id": f"{ref}.school_id", "month": f"{ref}.month", **school}, SCHOOL_MONTH),
        _upsert(
            "class_months",
            ["class_id", "month"],
            {"class_id": f"{ref}.class_id", "month": f"{ref}.month", "school_id": f"{ref}.school_id", **klass},
            CLASS_MONTH,
            where=f"{ref}.class_id IS NOT NULL",
        ),
    ]
    if op == "UPDATE":
        out += [_drop_empty("school_months", school_key, SCHOOL_MONTH), _drop_empty("class_months", class_key, CLASS_MONTH)]
    return out


TUTOR = ["sessions", "seconds", "rated", "rating_sum"]


def tutor_sql(dialect: str, ref: str, sign: int) -> list[str]:
    """A tutoring_sessions row (`ref`) that went live, added or taken away, into tutor_days and tutor_months."""
    day = day_of_ts(dialect, f"{ref}.live_at")
    values = {
        "sessions": f"{sign}",
        "seconds": f"{sign} * coalesce({ref}.duration_s, 0)",
        "rated": f"{sign} * {_ind(f'{ref}.rating IS NOT NULL')}",
        "rating_sum": f"{sign} * coalesce({ref}.rating, 0)",
    }
    live = f"{ref}.live_at IS NOT NULL"
    out = []
    for table, col, key in (("tutor_days", "day", day), ("tutor_months", "month", month_of_day(dialect, day))):
        out.append(_upsert(table, ["tutor_id", col], {"tutor_id": f"{ref}.tutor_id", col: key, **values}, TUTOR, where=live))
        out.append(_drop_empty(table, f"{live} AND tutor_id = {ref}.tutor_id AND {col} = {key}", TUTOR))
    return out


def points_sql(dialect: str, ref: str, sign: int) -> list[str]:
    month = month_of_day(dialect, day_of_ts(dialect, f"{ref}.created_at"))
    cents = f"CAST(round({ref}.points * 100) AS {'BIGINT' if dialect == 'postgresql' else 'INTEGER'})"
    return [
        _upsert(
            "points_months",
            ["district_id", "month", "tutor_id"],
            {"district_id": f"{ref}.district_id", "month": month, "tutor_id": f"{ref}.tutor_id", "entries": f"{sign}", "cents": f"{sign} * {cents}"},
            ["entries", "cents"],
        ),
        _drop_empty("points_months", f"district_id = {ref}.district_id AND month = {month} AND tutor_id = {ref}.tutor_id", ["entries", "cents"]),
    ]


def registration_sql(dialect: str, ref: str, sign: int) -> list[str]:
    day = day_of_ts(dialect, f"{ref}.created_at")
    cond = f"{ref}.role = 'student' AND {ref}.school_id IS NOT NULL"
    return [
        _upsert(
            "student_registrations",
            ["school_id", "class_id", "day"],
            {"school_id": f"{ref}.school_id", "class_id": f"coalesce({ref}.class_id, 0)", "day": day, "students": f"{sign}"},
            ["students"],
            where=cond,
        ),
        _drop_empty(
            "student_registrations",
            f"{cond} AND school_id = {ref}.school_id AND class_id = coalesce({ref}.class_id, 0) AND day = {day}",
            ["students"],
        ),
    ]


def hot_spot_sql(dialect: str, ref: str, sign: int) -> list[str]:
    """A help request's knowledge-point tag (`ref`), added or taken away, into knowledge_point_days
    under the request's day and the student's school and class (0: none) at that moment."""
    return _tag_sql(
        dialect,
        ref,
        sign,
        f"FROM help_requests h JOIN users u ON u.id = h.student_id WHERE h.id = {ref}.request_id AND u.school_id IS NOT NULL",
        "h.created_at",
    )


def question_hot_spot_sql(dialect: str, ref: str, sign: int) -> list[str]:
    """A question's knowledge-point tag (`ref`), the same way (migration 0011). A question converted
    from a help request is the same ask: its tags were counted with the request, so not again."""
    return _tag_sql(
        dialect,
        ref,
        sign,
        "FROM questions q JOIN users u ON u.id = q.student_id "
        f"WHERE q.id = {ref}.question_id AND q.source_request_id IS NULL AND u.school_id IS NOT NULL",
        "q.created_at",
    )


def _tag_sql(dialect: str, ref: str, sign: int, src: str, at: str) -> list[str]:
    key = f"u.school_id, {day_of_ts(dialect, at)}, {ref}.knowledge_point_id, coalesce(u.class_id, 0)"
    cols = "school_id, day, knowledge_point_id, class_id"
    if sign > 0:
        return [
            f"INSERT INTO knowledge_point_days ({cols}, asked) SELECT {key}, 1 {src} "
            "ON CONFLICT (school_id, day, knowledge_point_id, class_id) DO UPDATE SET asked = knowledge_point_days.asked + 1"
        ]
    return [
        f"UPDATE knowledge_point_days SET asked = asked - 1 WHERE ({cols}) IN (SELECT {key} {src})",
        f"DELETE FROM knowledge_point_days WHERE asked = 0 AND ({cols}) IN (SELECT {key} {src})",
    ]


Triggers = list[tuple[str, str, list[tuple[str, str | None, list[str]]]]]


# (table, events, statements per event as (condition on OLD/NEW or None, statements)); one
# trigger per table and event on SQLite, one function per table on PostgreSQL.
def dashboard_triggers(dialect: str) -> Triggers:
    return [
        (
            "activity_hours",
            "student_days",
            [
                ("INSERT", "NEW.school_id IS NOT NULL", student_day_sql("INSERT")),
                ("UPDATE", "NEW.school_id IS NOT NULL", student_day_sql("UPDATE")),
                ("DELETE", "OLD.school_id IS NOT NULL", student_day_sql("DELETE")),
            ],
        ),
        (
            "student_days",
            "months",
            [
                ("INSERT", None, student_days_insert_sql(dialect)),
                ("UPDATE", None, student_days_update_sql(dialect)),
                ("DELETE", None, student_days_delete_sql(dialect)),
            ],
        ),
        ("student_months", "months", [(op, None, student_months_sql(op)) for op in ("INSERT", "UPDATE", "DELETE")]),
        (
            "tutoring_sessions",
            "tutors",
            [
                ("INSERT", None, tutor_sql(dialect, "NEW", 1)),
                ("DELETE", None, tutor_sql(dialect, "OLD", -1)),
                ("UPDATE", None, tutor_sql(dialect, "OLD", -1) + tutor_sql(dialect, "NEW", 1)),
            ],
        ),
        (
            "points_ledger",
            "months",
            [
                ("INSERT", None, points_sql(dialect, "NEW", 1)),
                ("DELETE", None, points_sql(dialect, "OLD", -1)),
                ("UPDATE", None, points_sql(dialect, "OLD", -1) + points_sql(dialect, "NEW", 1)),
            ],
        ),
        (
            "help_request_knowledge_points",
            "hot_spots",
            [("INSERT", None, hot_spot_sql(dialect, "NEW", 1)), ("DELETE", None, hot_spot_sql(dialect, "OLD", -1))],
        ),
        (
            "users",
            "registrations",
            [
                ("INSERT", None, registration_sql(dialect, "NEW", 1)),
                ("DELETE", None, registration_sql(dialect, "OLD", -1)),
                ("UPDATE", None, registration_sql(dialect, "OLD", -1) + registration_sql(dialect, "NEW", 1)),
            ],
        ),
    ]


# Updates that change nothing a rollup counts skip the trigger (the columns it reads).
WATCHED = {
    "tutoring_sessions": ["live_at", "tutor_id", "duration_s", "rating"],
    "points_ledger": ["district_id", "tutor_id", "created_at", "points"],
    "users": ["role", "school_id", "class_id", "created_at"],
}


def dashboard_trigger_sql(dialect: str) -> list[str]:
    return _trigger_sql(dialect, dashboard_triggers(dialect))


def _trigger_sql(dialect: str, triggers: Triggers) -> list[str]:
    out = []
    for table, name, events in triggers:
        watched = WATCHED.get(table)
        changed = " OR ".join(f"OLD.{c} IS {'DISTINCT FROM' if dialect == 'postgresql' else 'NOT'} NEW.{c}" for c in watched or [])
        if dialect == "postgresql":
            body = []
            for op, cond, stmts in events:
                guard = f"TG_OP = '{op}'" + (f" AND {cond}" if cond else "")
                body.append(f"  IF {guard} THEN" + "".join(f"\n    {s};" for s in stmts) + "\n  END IF;")
            skip = f"  IF TG_OP = 'UPDATE' AND NOT ({changed}) THEN RETURN NULL; END IF;\n" if watched else ""
            out.append(
                f"CREATE OR REPLACE FUNCTION rollup_{table}_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"{skip}" + "\n".join(body) + "\n  RETURN NULL;\nEND $$"
            )
            of = f" OF {', '.join(watched)}" if watched else ""
            out.append(
                f"CREATE TRIGGER trg_{table}_{name} AFTER INSERT OR DELETE OR UPDATE{of} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION rollup_{table}_{name}()"
            )
        else:
            by_op: dict[str, list[str]] = {}
            for op, cond, stmts in events:
                # SQLite has no IF: a condition goes into each statement's WHEN, so conditional
                # parts get a trigger of their own.
                key = op if cond is None else f"{op}:{cond}"
                by_op.setdefault(key, []).extend(stmts)
            for i, (key, stmts) in enumerate(by_op.items()):
                op, _, cond = key.partition(":")
                conds = [c for c in (cond, changed if op == "UPDATE" and watched else "") if c]
                when = f" WHEN {' AND '.join(f'({c})' for c in conds)}" if conds else ""
                of = f" OF {', '.join(watched)}" if op == "UPDATE" and watched else ""
                out.append(
                    f"CREATE TRIGGER trg_{table}_{name}_{op.lower()}{i} AFTER {op}{of} ON {table}{when} BEGIN"
                    + "".join(f"\n  {s};" for s in stmts)
                    + "\nEND"
                )
    return out


def dashboard_drop_sql(dialect: str) -> list[str]:
    return _drop_sql(dialect, dashboard_triggers(dialect))


def _drop_sql(dialect: str, triggers: Triggers) -> list[str]:
    out = []
    for table, name, events in triggers:
        if dialect == "postgresql":
            out += [f"DROP TRIGGER IF EXISTS trg_{table}_{name} ON {table}", f"DROP FUNCTION IF EXISTS rollup_{table}_{name}()"]
        else:
            keys = dict.fromkeys(op if cond is None else f"{op}:{cond}" for op, cond, _ in events)
            out += [f"DROP TRIGGER IF EXISTS trg_{table}_{name}_{k.partition(':')[0].lower()}{i}" for i, k in enumerate(keys)]
    return out


def dashboard_rebuild_sql(dialect: str) -> list[str]:
    """Recompute the rollups of migration 0008 from activity_hours and the raw records, in the order
    they feed each other (with triggers enabled, each table is recomputed after the last write into it)."""
    month = month_of_day(dialect, "x.day")
    tday = day_of_ts(dialect, "x.live_at")
    return [
        "DELETE FROM student_days",
        "INSERT INTO student_days (school_id, day, student_id, class_id, one_to_one, questions, attendances) "
        f"SELECT x.school_id, {_day('x')}, x.student_id, min(x.class_id), sum(x.one_to_one), sum(x.questions), sum(x.attendances) "
        f"FROM activity_hours x WHERE x.school_id IS NOT NULL GROUP BY x.school_id, {_day('x')}, x.student_id",
        "DELETE FROM student_months",
        "INSERT INTO student_months (school_id, month, student_id, class_id, one_to_one, questions, attendances) "
        f"SELECT x.school_id, {month}, x.student_id, min(x.class_id), sum(x.one_to_one), sum(x.questions), sum(x.attendances) "
        f"FROM student_days x GROUP BY x.school_id, {month}, x.student_id",
        "DELETE FROM school_months",
        "INSERT INTO school_months (school_id, month, participants, o_students, q_students, a_students) "
        "SELECT x.school_id, x.month, count(*), sum("
        + _ind("x.one_to_one > 0")
        + "), sum("
        + _ind("x.questions > 0")
        + "), sum("
        + _ind("x.attendances > 0")
        + ") FROM student_months x GROUP BY x.school_id, x.month",
        "DELETE FROM class_months",
        "INSERT INTO class_months (class_id, month, school_id, participants, participations) "
        "SELECT x.class_id, x.month, min(x.school_id), count(*), sum(x.one_to_one + x.questions + x.attendances) "
        "FROM student_months x WHERE x.class_id IS NOT NULL GROUP BY x.class_id, x.month",
        "DELETE FROM school_day_students",
        "INSERT INTO school_day_students (school_id, day, participants) "
        "SELECT x.school_id, x.day, count(*) FROM student_days x GROUP BY x.school_id, x.day",
        "DELETE FROM tutor_days",
        "INSERT INTO tutor_days (tutor_id, day, sessions, seconds, rated, rating_sum) "
        f"SELECT x.tutor_id, {tday}, count(*), coalesce(sum(x.duration_s), 0), count(x.rating), coalesce(sum(x.rating), 0) "
        f"FROM tutoring_sessions x WHERE x.live_at IS NOT NULL GROUP BY x.tutor_id, {tday}",
        "DELETE FROM tutor_months",
        "INSERT INTO tutor_months (tutor_id, month, sessions, seconds, rated, rating_sum) "
        f"SELECT x.tutor_id, {month}, sum(x.sessions), sum(x.seconds), sum(x.rated), sum(x.rating_sum) "
        f"FROM tutor_days x GROUP BY x.tutor_id, {month}",
        "DELETE FROM points_months",
        "INSERT INTO points_months (district_id, month, tutor_id, entries, cents) "
        f"SELECT x.district_id, {month_of_day(dialect, day_of_ts(dialect, 'x.created_at'))}, x.tutor_id, count(*), "
        f"sum(CAST(round(x.points * 100) AS {'BIGINT' if dialect == 'postgresql' else 'INTEGER'})) FROM points_ledger x "
        f"GROUP BY x.district_id, {month_of_day(dialect, day_of_ts(dialect, 'x.created_at'))}, x.tutor_id",
        *help_hot_spot_rebuild_sql(dialect),
        "DELETE FROM student_registrations",
        "INSERT INTO student_registrations (school_id, class_id, day, students) "
        f"SELECT x.school_id, coalesce(x.class_id, 0), {day_of_ts(dialect, 'x.created_at')}, count(*) FROM users x "
        f"WHERE x.role = 'student' AND x.school_id IS NOT NULL GROUP BY x.school_id, coalesce(x.class_id, 0), "
        f"{day_of_ts(dialect, 'x.created_at')}",
    ]


def help_hot_spot_rebuild_sql(dialect: str) -> list[str]:
    """knowledge_point_days from help requests alone, as migration 0008 built it (and 0011's downgrade)."""
    return [
        "DELETE FROM knowledge_point_days",
        "INSERT INTO knowledge_point_days (school_id, day, knowledge_point_id, class_id, asked) "
        f"SELECT u.school_id, {day_of_ts(dialect, 'h.created_at')}, x.knowledge_point_id, coalesce(u.class_id, 0), count(*) "
        "FROM help_request_knowledge_points x JOIN help_requests h ON h.id = x.request_id JOIN users u ON u.id = h.student_id "
        f"WHERE u.school_id IS NOT NULL GROUP BY u.school_id, {day_of_ts(dialect, 'h.created_at')}, x.knowledge_point_id, "
        "coalesce(u.class_id, 0)",
    ]


# --- Migration 0011: questions count in the hot spots -------------------------------------------
# question_knowledge_points ─► knowledge_point_days, beside help_request_knowledge_points. The
# tags of a question and of a request are written once, with the question or request they belong
# to (whose day, student and source never change afterwards), so inserts and deletes of tags are
# all the triggers follow.


def question_hot_spot_triggers(dialect: str) -> Triggers:
    return [
        (
            "question_knowledge_points",
            "hot_spots",
            [("INSERT", None, question_hot_spot_sql(dialect, "NEW", 1)), ("DELETE", None, question_hot_spot_sql(dialect, "OLD", -1))],
        )
    ]


def question_hot_spot_trigger_sql(dialect: str) -> list[str]:
    return _trigger_sql(dialect, question_hot_spot_triggers(dialect))


def question_hot_spot_drop_sql(dialect: str) -> list[str]:
    return _drop_sql(dialect, question_hot_spot_triggers(dialect))


def hot_spot_rebuild_sql(dialect: str) -> list[str]:
    """knowledge_point_days from help requests and from questions not converted from one."""
    day_h, day_q = day_of_ts(dialect, "h.created_at"), day_of_ts(dialect, "q.created_at")
    return [
        "DELETE FROM knowledge_point_days",
        "INSERT INTO knowledge_point_days (school_id, day, knowledge_point_id, class_id, asked) "
        "SELECT t.school_id, t.day, t.knowledge_point_id, t.class_id, count(*) FROM ("
        f"SELECT u.school_id, {day_h} AS day, x.knowledge_point_id, coalesce(u.class_id, 0) AS class_id "
        "FROM help_request_knowledge_points x JOIN help_requests h ON h.id = x.request_id JOIN users u ON u.id = h.student_id "
        "WHERE u.school_id IS NOT NULL UNION ALL "
        f"SELECT u.school_id, {day_q}, x.knowledge_point_id, coalesce(u.class_id, 0) "
        "FROM question_knowledge_points x JOIN questions q ON q.id = x.question_id JOIN users u ON u.id = q.student_id "
        "WHERE u.school_id IS NOT NULL AND q.source_request_id IS NULL"
        ") t GROUP BY t.school_id, t.day, t.knowledge_point_id, t.class_id",
    ]
