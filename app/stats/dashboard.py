"""Everything the dashboard page shows, in one answer (`GET /api/stats/dashboard`).

The page used to send six requests (trend, participation, hot spots, two leaderboards, stars);
each paid for its own authentication, scope check and pooled connection, and at 18:00 fifty
admins meant three hundred requests queued for twenty connections. Now one request runs the same
figures one after another on one connection (each a single query over a rollup, plus the names of
at most ten rows; see README "Statistics" for the tables each reads).

The participation rows are the city's table (a school's rank is among all the city's schools),
the same for every admin of the city: it is computed once per period for all the requests that
want it at the same time (app/stats/cache.py), then narrowed to the caller's scope. The whole
answer is kept for a few seconds while its period is open (cache.py says why that is the
staleness allowed); a closed period is always computed afresh.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from . import boards
from .cache import FigureCache
from .hot_spots import hot_spots
from .participation import Row, city_table, table
from .scope import Scope, rows_scoped

LIMIT = 10  # rows per leaderboard and hot-spot chart on the page


def month_of(start: date) -> tuple[date, date]:
    """The calendar month the page's stars are for: the month the period starts in."""
    return start.replace(day=1), date(start.year + start.month // 12, start.month % 12 + 1, 1)


async def shared_city_table(db: AsyncSession, cache: FigureCache, city_id: int, start: date, end: date, tz: str, keep: bool = False) -> list[Row]:
    """The city's participation table, one computation for all concurrent requests of the same
    period (and, with `keep`, for the dashboards of the next seconds: an open period only)."""
    return await cache.get(("city_table", city_id, start, end, tz), lambda: city_table(db, city_id, start, end, tz, cache), keep=keep)


async def participation_rows(
    db: AsyncSession, cache: FigureCache, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str
) -> list[Row]:
    """The participation rows of a scope, exactly the city table's rows in it: the whole city's
    table is shared between concurrent requests; a district's or a school's is computed for its
    own schools, ranked among the city's rates (every school's distinct participants, kept while
    the change counters say they are unchanged, and its enrolments)."""
    if district_id is None and school_id is None:
        return await shared_city_table(db, cache, city_id, start, end, tz)
    return await table(db, city_id, district_id, school_id, start, end, tz, cache)


async def dashboard(db: AsyncSession, cache: FigureCache, scope: Scope, start: date, end: date, tz: str, keep: bool = False) -> dict[str, Any]:
    """`keep`: the period is open, and the city's table may be kept like the answer itself."""
    city, district, school = scope.city_id, scope.district_id, scope.school_id
    m0, m1 = month_of(start)
    students = await boards.students(db, city, district, school, start, end, tz, LIMIT)
    out = {
        "trend": await boards.trend(db, city, district, school, start, end, tz),
        "hot_spots": await hot_spots(db, city, start, end, tz, district_id=district, school_id=school, limit=LIMIT),
        "students": students,
        "classes": await boards.classes(db, city, district, school, start, end, tz, LIMIT),
        # The page's period is often exactly the stars' month: its student leaderboard is then theirs.
        "stars": await boards.stars(db, city, district, school, m0, m1, tz, students if (start, end) == (m0, m1) else None),
        "stars_month": m0.strftime("%Y-%m"),
    }
    # The city's table last: when many admins open the page at once, its one computation runs
    # while the others are still reading their own figures, rather than all of them waiting first.
    table = rows_scoped(await shared_city_table(db, cache, city, start, end, tz, keep), district, school)
    return {**out, "participation": [r.as_dict() for r in table]}
