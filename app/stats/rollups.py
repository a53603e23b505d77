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

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, literal, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kit.errors import InvalidInput

# (source table, time column, activity column). rollup_triggers.py builds the triggers from these
# and hour_sql(); migration 0003 holds a frozen copy: changing them means a new migration that
# replaces the triggers (tests/test_migrations.py compares the frozen copies with the generators).
SOURCES = [("tutoring_sessions", "live_at", "one_to_one"), ("questions", "created_at", "questions"),
           ("class_attendances", "joined_at", "attendances")]


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


DAY_OFFSET_H = 8   # rollup days are days of UTC+8 (Asia/Shanghai)
BLOCK_DAYS = 63    # days per bitmask block: bit 62 at most, so masks stay positive 64-bit integers
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


def hits(days_col: ColumnElement[int], block_col: ColumnElement[int], masks: dict[int, int]) -> ColumnElement[bool]:
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
    mine = f"h.student_id = {ref}.student_id AND h.school_id = {ref}.school_id AND h.hour >= {day} * 24 - {DAY_OFFSET_H} " \
           f"AND h.hour < {day} * 24 + {24 - DAY_OFFSET_H}"
    row = f"block = {block} AND school_id = {ref}.school_id AND student_id = {ref}.student_id"

    def recompute(col: str, src: str) -> str:
        return (f"{col} = (({col} & ~{bit}) | (CASE WHEN EXISTS (SELECT 1 FROM activity_hours h WHERE {mine} "
                f"AND h.{src} > 0) THEN {bit} ELSE 0 END))")
    return [
        "INSERT INTO school_days (school_id, day, one_to_one, questions, attendances) "
        f"SELECT {ref}.school_id, {day}, {sign} * {ref}.one_to_one, {sign} * {ref}.questions, {sign} * {ref}.attendances "
        "WHERE true ON CONFLICT (school_id, day) DO UPDATE SET one_to_one = school_days.one_to_one + excluded.one_to_one, "
        "questions = school_days.questions + excluded.questions, attendances = school_days.attendances + excluded.attendances",
        f"DELETE FROM school_days WHERE school_id = {ref}.school_id AND day = {day} "
        "AND one_to_one = 0 AND questions = 0 AND attendances = 0",
        "INSERT INTO activity_blocks (block, school_id, student_id, o_days, q_days, a_days) "
        f"SELECT {block}, {ref}.school_id, {ref}.student_id, 0, 0, 0 WHERE true ON CONFLICT DO NOTHING",
        f"UPDATE activity_blocks SET {recompute('o_days', 'one_to_one')}, {recompute('q_days', 'questions')}, "
        f"{recompute('a_days', 'attendances')} WHERE {row}",
        f"DELETE FROM activity_blocks WHERE {row} AND o_days = 0 AND q_days = 0 AND a_days = 0",
    ]


def sign_in_block_sql(ref: str) -> str:
    """A sign_in_hours row (`ref`) sets its day's bit in sign_in_blocks (sign-ins are never taken back)."""
    return ("INSERT INTO sign_in_blocks (user_id, block, days) "
            f"SELECT {ref}.user_id, {_block(ref)}, {_bit(ref)} WHERE true "
            "ON CONFLICT (user_id, block) DO UPDATE SET days = sign_in_blocks.days | excluded.days")


def _or_agg(dialect: str, expr: str) -> str:
    # Every bit value in one group stands for a different day, so summing the distinct values is an OR.
    return f"bit_or({expr})" if dialect == "postgresql" else f"sum(DISTINCT {expr})"


def derived_rebuild_sql(dialect: str) -> list[str]:
    day, bit, block = _day("x"), _bit("x"), _block("x")
    flag = lambda col: _or_agg(dialect, f"CASE WHEN x.{col} > 0 THEN {bit} ELSE 0 END")  # noqa: E731
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
    return hour_rebuild_sql(dialect) + derived_rebuild_sql(dialect)


def hour_rebuild_sql(dialect: str) -> list[str]:
    """Recompute activity_hours and sign_in_hours (migration 0003 ran this; later ones add more)."""
    parts = []
    for table, col, acol in SOURCES:
        cols = {"one_to_one": "0", "questions": "0", "attendances": "0", acol: "1"}
        parts.append(f"SELECT {hour_sql(dialect, 'x.' + col)} AS hour, x.student_id, {cols['one_to_one']} AS o, "
                     f"{cols['questions']} AS q, {cols['attendances']} AS a FROM {table} x WHERE x.{col} IS NOT NULL")
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
