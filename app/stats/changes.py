"""Change counters: what lets a figure over a whole period be kept until its inputs change (migration 0019).

Two figures cannot be added up from per-school rollups for a period that is not one calendar
month, because they count distinct people: the students who took part (per school: with a
session, a question, an attendance, any of them — the participation table's four "人数"
columns, and through them every school's rate and so a school's `city_rank`), and the users who
signed in (the online rate). Both cost one row per active student or user, whatever is shown.
So they are kept (`FigureCache.checked`, app/stats/cache.py) with a **token** read from
`stats_changes` just before they were computed, and served again only while the token read now
is the same.

`stats_changes` (kind, day, shard) → n is bumped by triggers in the same transaction as every
change of what those figures read; n only grows and rows are never deleted, so (rows, sum of n)
over a set of rows changes exactly when one of them was bumped:

- `p` (day, school % 16): a `student_days` row appears, disappears or moves, or its day gains
  or loses a kind (a session, a question, an attendance) — the only ways the students who took
  part on that day at that school can change (`activity_blocks` and `school_months` follow
  student_days);
- `c` (0, 0): a school or district was added, removed or moved (the schools of a city);
- `s` (day, user % 16): a `sign_in_hours` row appears or disappears — a user's sign-ins on that
  service day (what `sign_in_blocks` holds);
- `u` (0, user % 16): a user was added, removed, or changed role, grade, place or registration
  time, or a tutor profile its status or stages (the registered users and their groups).

Tokens are per shard: the distinct students of the schools with id % 16 = k are kept under (rows,
sum) of `p` of shard k over the period's days and `c`; the online counts of the users with
id % 16 = k under `s` of shard k over the period's days and `u` of shard k. After a change only
the shards it touched are counted again. A closed period is therefore never invalidated by today's sessions or
sign-ins; an open one (it includes today) by every student's first participation of the day in
the city, so at 18:00 its figures are recomputed often (README, issue 22). Shards keep writers of
different schools or users apart: a go-live already locks its school's `school_days` row, and
now also its school's counter row of the day, shared with the schools 16 ids apart.

Rebuilding the rollups (`app.stats.rollups.rebuild`) deletes and re-inserts `student_days` and
`sign_in_hours` with the triggers on, so it bumps the counters too. Writes with the triggers off
(session_replication_role = replica) bypass every rollup alike.

Cost on a go-live: one upsert when the student's day is new or gains a kind, none otherwise (the
WHEN of the update trigger is tested without calling it). The SQL is frozen in migration 0019;
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
    when: str | None = None  # the update counts only when this holds (OLD / NEW)


_KINDS = ("one_to_one", "questions", "attendances")
_DAY_CHANGED = " OR ".join([f"OLD.{k} <> NEW.{k}" for k in ("school_id", "day", "student_id")] + [f"(OLD.{c} > 0) <> (NEW.{c} > 0)" for c in _KINDS])


SOURCES = [
    Source("student_days", "p", "{r}.day", f"{{r}}.school_id % {SHARDS}", None, _DAY_CHANGED),
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
            if s.when is None:
                out.append(
                    f"CREATE TRIGGER trg_{name} AFTER INSERT OR DELETE OR {_update_clause(s)} ON {s.table} FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            else:  # a WHEN on OLD cannot be on an INSERT trigger
                out.append(f"CREATE TRIGGER trg_{name} AFTER INSERT OR DELETE ON {s.table} FOR EACH ROW EXECUTE FUNCTION {name}()")
                out.append(
                    f"CREATE TRIGGER trg_{name}_update AFTER {_update_clause(s)} ON {s.table} FOR EACH ROW WHEN ({s.when}) EXECUTE FUNCTION {name}()"
                )
        else:
            out.append(f"CREATE TRIGGER trg_{name}_insert AFTER INSERT ON {s.table} BEGIN\n  {_bump(s, 'NEW')};\nEND")
            out.append(f"CREATE TRIGGER trg_{name}_delete AFTER DELETE ON {s.table} BEGIN\n  {_bump(s, 'OLD')};\nEND")
            both = f"{_bump(s, 'OLD')};\n  {_bump(s, 'NEW')}"
            when = f" WHEN {s.when}" if s.when else ""
            out.append(f"CREATE TRIGGER trg_{name}_update AFTER {_update_clause(s)} ON {s.table}{when} BEGIN\n  {both};\nEND")
    return out


def drop_sql(dialect: str) -> list[str]:
    out = []
    for s in SOURCES:
        name = f"stats_changes_{s.table}"
        if dialect == "postgresql":
            update = [f"DROP TRIGGER IF EXISTS trg_{name}_update ON {s.table}"] if s.when else []
            out += [f"DROP TRIGGER IF EXISTS trg_{name} ON {s.table}", *update, f"DROP FUNCTION IF EXISTS {name}()"]
        else:
            out += [f"DROP TRIGGER IF EXISTS trg_{name}_{op}" for op in ("insert", "delete", "update")]
    return out


async def online_tokens(db: AsyncSession, d0: int, d1: int) -> list[tuple[int, int, int, int]]:
    """Per shard of the users (id % 16), changes to what the online rate over days [d0, d1) reads:
    (rows, sum of n) of its `s` counters of those days, then of its `u` counter."""
    return await _per_shard(db, "s", d0, d1, "u")


async def participants_tokens(db: AsyncSession, d0: int, d1: int) -> list[tuple[int, int, int, int]]:
    """Per shard (schools with id % 16 = shard), changes to the distinct students who took part in
    days [d0, d1) at its schools: (rows, sum of n) of its `p` counters of those days, then of the
    `c` counter (any school or district change concerns every shard)."""
    return await _per_shard(db, "p", d0, d1, "c")


async def _per_shard(db: AsyncSession, per_day: str, d0: int, d1: int, whole: str) -> list[tuple[int, int, int, int]]:
    """Per shard: (rows, sum of n) of the `per_day` counters of days [d0, d1), then of the `whole`
    counter of the shard (a `whole` kept in shard 0 alone, as `c`, concerns every shard). Two
    index range scans of a table of (days × 16 + a few) rows, whatever the planner believes."""
    c = StatsChange
    total = func.coalesce(func.sum(c.n), literal(0))
    rows = (
        await db.execute(
            union_all(
                select(literal(0), c.shard, func.count(), total).where(c.kind == per_day, c.day >= d0, c.day < d1).group_by(c.shard),
                select(literal(1), c.shard, func.count(), total).where(c.kind == whole, c.day == 0).group_by(c.shard),
            )
        )
    ).all()
    got = {(int(w), int(k)): (int(n), int(t)) for w, k, n, t in rows}
    every = whole == "c"  # one row for the whole city
    return [(*got.get((0, k), (0, 0)), *got.get((1, 0 if every else k), (0, 0))) for k in range(SHARDS)]
