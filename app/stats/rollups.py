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
"""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kit.errors import InvalidInput

# (source table, time column, activity column). Migration 0003 builds its triggers from these
# and hour_sql(): changing them means a new migration that replaces the triggers.
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


def rebuild_sql(dialect: str) -> list[str]:
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
    """Recompute both rollups from the raw records (in the caller's transaction)."""
    for stmt in rebuild_sql(conn.dialect.name):
        await conn.execute(text(stmt))
