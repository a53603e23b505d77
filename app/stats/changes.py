"""Change counters: what lets a figure over a whole period be kept until its inputs change (migration 0019).

Two figures cannot be added up from per-school rollups for a period that is not one calendar
month, because they count distinct people: a school's `city_rank` needs every school's
participation rate (distinct students who took part / students enrolled), and the online rate
counts distinct users who signed in. Both cost one row per active student or user, whatever is
shown. So they are kept (`FigureCache.checked`, app/stats/cache.py) together with a **token**
read from `stats_changes`, and served again only while the token read now is the same.

`stats_changes` (kind, day, shard) → n is bumped by triggers in the same transaction as every
change of what those figures read; n only grows and rows are never deleted, so the sum of n over
a set of rows changes exactly when one of them was bumped:

- `p` (day, school % 16): a `student_days` row appears, disappears or moves — the students who
  took part on that day at that school may have changed (a participant is a student with a
  student_days row in the period; `activity_blocks` and `school_months` follow student_days);
- `r` (0, school % 16): `student_registrations` changed (the enrolled students);
- `c` (0, 0): a school or district was added, removed or moved (the schools of a city);
- `s` (day, user % 16): a `sign_in_hours` row appears or disappears — a user's sign-ins on that
  service day (what `sign_in_blocks` holds);
- `u` (0, user % 16): a user was added, removed, or changed role, grade, place or registration
  time, or a tutor profile its status or stages (the registered users and their groups).

The ranking's token is the sums of `p` over the period's days, `r` and `c`; the online rate's, of
`s` over the period's days and `u`. A closed period is therefore never invalidated by today's
sessions or sign-ins. Shards keep two writers from waiting on one row when they touch different
schools or users; `p` and `r` are keyed by school, as `school_days` already is, so a go-live
waits on no row it did not already wait on (but schools 16 apart share a counter row).

Rebuilding the rollups (`app.stats.rollups.rebuild`) deletes and re-inserts `student_days` and
`sign_in_hours` with the triggers on, so it bumps the counters too. Replication-role writes
(triggers off) bypass every rollup alike and are not supported.

Cost on a go-live: one upsert when it is the student's first participation of the day (the
student_days row is new), none otherwise. The SQL is frozen in migration 0019;
tests/test_dashboard_rollups.py keeps it equal to what this module generates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import StatsChange

from .rollups import DAY_OFFSET_H

SHARDS = 16


@dataclass(frozen=True)
class Source:
    table: str
    kind: str
    day: str  # SQL of the counter's day, with {r} for the row (NEW / OLD)
    shard: str  # SQL of the shard, with {r}
    update_of: Sequence[str] | None  # the columns whose update counts (None: any update)


SOURCES = [
    Source("student_days", "p", "{r}.day", f"{{r}}.school_id % {SHARDS}", ("school_id", "day", "student_id")),
    Source("student_registrations", "r", "0", f"{{r}}.school_id % {SHARDS}", None),
    Source("schools", "c", "0", "0", ("district_id",)),
    Source("districts", "c", "0", "0", ("city_id",)),
    Source("sign_in_hours", "s", f"(({{r}}.hour + {DAY_OFFSET_H}) / 24)", f"{{r}}.user_id % {SHARDS}", None),
    Source("users", "u", "0", f"{{r}}.id % {SHARDS}", ("role", "grade", "city_id", "district_id", "school_id", "created_at")),
    Source("tutor_profiles", "u", "0", f"{{r}}.user_id % {SHARDS}", ("user_id", "status", "teaches_junior", "teaches_senior")),
]


def _bump(s: Source, ref: str) -> str:
    return (
        f"INSERT INTO stats_changes (kind, day, shard, n) VALUES ('{s.kind}', {s.day.format(r=ref)}, {s.shard.format(r=ref)}, 1) "
        "ON CONFLICT (kind, day, shard) DO UPDATE SET n = stats_changes.n + 1"
    )


def _update_clause(s: Source) -> str:
    return "UPDATE" + (f" OF {', '.join(s.update_of)}" if s.update_of else "")


def trigger_sql(dialect: str) -> list[str]:
    """The counters' triggers (migration 0019)."""
    out = []
    for s in SOURCES:
        name = f"stats_changes_{s.table}"
        if dialect == "postgresql":
            out.append(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"  IF TG_OP <> 'INSERT' THEN\n    {_bump(s, 'OLD')};\n  END IF;\n"
                f"  IF TG_OP <> 'DELETE' THEN\n    {_bump(s, 'NEW')};\n  END IF;\n  RETURN NULL;\nEND $$"
            )
            out.append(f"CREATE TRIGGER trg_{name} AFTER INSERT OR DELETE OR {_update_clause(s)} ON {s.table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:
            out.append(f"CREATE TRIGGER trg_{name}_insert AFTER INSERT ON {s.table} BEGIN\n  {_bump(s, 'NEW')};\nEND")
            out.append(f"CREATE TRIGGER trg_{name}_delete AFTER DELETE ON {s.table} BEGIN\n  {_bump(s, 'OLD')};\nEND")
            both = f"{_bump(s, 'OLD')};\n  {_bump(s, 'NEW')}"
            out.append(f"CREATE TRIGGER trg_{name}_update AFTER {_update_clause(s)} ON {s.table} BEGIN\n  {both};\nEND")
    return out


def drop_sql(dialect: str) -> list[str]:
    out = []
    for s in SOURCES:
        name = f"stats_changes_{s.table}"
        if dialect == "postgresql":
            out += [f"DROP TRIGGER IF EXISTS trg_{name} ON {s.table}", f"DROP FUNCTION IF EXISTS {name}()"]
        else:
            out += [f"DROP TRIGGER IF EXISTS trg_{name}_{op}" for op in ("insert", "delete", "update")]
    return out


Token = tuple[tuple[str, int, int], ...]


async def token(db: AsyncSession, d0: int, d1: int, per_day: str, whole: Sequence[str]) -> Token:
    """(kind, rows, sum of n) of the `per_day` counters of days [d0, d1) and of the `whole` kinds:
    two index range scans of a table of (days × 16 + a few) rows, whatever the planner believes."""
    c = StatsChange
    parts = [select(c.kind, c.n).where(c.kind == per_day, c.day >= d0, c.day < d1)]
    parts += [select(c.kind, c.n).where(c.kind == k, c.day == 0) for k in whole]
    u = union_all(*parts).subquery()
    rows = (await db.execute(select(u.c.kind, func.count(), func.coalesce(func.sum(u.c.n), literal(0))).group_by(u.c.kind))).all()
    return tuple(sorted((str(k), int(n), int(s)) for k, n, s in rows))


async def ranking_token(db: AsyncSession, d0: int, d1: int) -> Token:
    """Changes to what the city's ranking of participation rates over days [d0, d1) reads."""
    return await token(db, d0, d1, "p", ("r", "c"))


async def online_token(db: AsyncSession, d0: int, d1: int) -> Token:
    """Changes to what the online rate over days [d0, d1) reads."""
    return await token(db, d0, d1, "s", ("u",))
