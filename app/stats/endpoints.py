"""Statistics endpoints. Every table comes as JSON, CSV or XLSX (`?format=`). Each takes its period
and the caller's scope from app/stats/deps.py, looks up what it reports on through service.py and
reads the table from the module that owns it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from app.accounts.deps import Admin, Tutor, require
from app.kit.clock import Clock, ClockDep
from app.kit.db import DB
from app.kit.deps import SettingsDep
from app.models import Role, User

from . import boards
from .cache import is_open
from .dashboard import dashboard, participation_rows
from .deps import AdminScope, ClassScope, FiguresDep, MonthQuery, PeriodQuery
from .export import ARCHIVE, BOARD, HOT, ONLINE, PAYROLL, STARS, TREND, WEEKLY, WORKLOAD, WORKLOAD_TOTALS, Format, table
from .hot_spots import hot_spots
from .online import kept_online_rate
from .participation import COLUMNS
from .payroll import payroll
from .schemas import Board, TotalsBy
from .service import archive_tutor, payroll_district, weekly_school
from .weekly import class_weekly
from .workload import archive, tutor_workload, workload_totals

router = APIRouter(prefix="/api/stats", tags=["statistics"])


def service_today(clock: Clock, tz: str) -> date:
    """The current day in the service's time zone, by the app's clock."""
    return datetime.fromtimestamp(clock.now(), ZoneInfo(tz)).date()


@router.get("/online-rate")
async def online(cache: FiguresDep, admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """上线率 by role and stage: users who signed in during the period / users registered."""
    rows = await kept_online_rate(db, cache, scope.city_id, scope.district_id, scope.school_id, period.start, period.end, period.tz)
    return table("online_rate", format, ONLINE, rows, period.start, period.end)


@router.get("/payroll")
async def district_payroll(
    admin: Admin, period: PeriodQuery, db: DB, settings: SettingsDep, district_id: int | None = None, format: Format = "json"
) -> object:
    """A district's tutor compensation for the period: points from the ledger × the value of a point."""
    district = await payroll_district(db, admin, district_id)
    pay = await payroll(db, district.id, period.start, period.end, period.tz, settings.point_value_cny)
    if format == "json":
        return {"from": period.start, "to": period.end, **pay}
    total = {
        "tutor_id": None,
        "name": "合计",
        "entries": sum(t["entries"] for t in pay["tutors"]),
        "points": pay["total_points"],
        "amount_cny": pay["total_cny"],
    }
    return table(f"payroll_{pay['district']}", format, PAYROLL, [*pay["tutors"], total], period.start, period.end)


@router.get("/tutors")
async def workload(admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """Tutor workload (the tutoring archive in figures) for tutors employed in the admin's scope."""
    rows = await tutor_workload(db, scope.city_id, scope.district_id, scope.school_id, None, period.start, period.end, period.tz)
    return table("tutor_workload", format, WORKLOAD, rows, period.start, period.end)


@router.get("/tutors/totals")
async def workload_by(admin: Admin, by: TotalsBy, period: PeriodQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """Tutor workload per subject or per district, over the tutors employed in the admin's scope."""
    rows = await workload_totals(db, scope.city_id, scope.district_id, scope.school_id, by, period.start, period.end, period.tz)
    key = ("subject", "学科") if by == "subject" else ("district", "区ID")
    return table(f"tutor_workload_by_{by}", format, [key, ("name", "名称"), *WORKLOAD_TOTALS], rows, period.start, period.end)


TutorOrAdmin = Annotated[User, require(Role.TUTOR, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)]


@router.get("/archive")
async def tutor_archive(user: TutorOrAdmin, period: PeriodQuery, db: DB, tutor_id: int | None = None, format: Format = "json") -> object:
    """A tutor's archive (辅导档案): sessions, classes and answers with minutes, ratings and points.
    A tutor sees their own (no tutor_id); an admin any tutor employed in their scope."""
    tutor = await archive_tutor(db, user, tutor_id)
    rows = await archive(db, tutor.id, period.start, period.end, period.tz)
    return table(f"archive_{tutor.real_name}", format, ARCHIVE, rows, period.start, period.end, tutor_id=tutor.id, tutor=tutor.real_name)


@router.get("/tutors/me")
async def my_workload(tutor: Tutor, period: PeriodQuery, db: DB) -> dict[str, object]:
    """A tutor's own archive figures; the sessions themselves are at GET /api/sessions."""
    rows = await tutor_workload(db, tutor.city_id or 0, None, None, tutor.id, period.start, period.end, period.tz)
    return {"from": period.start, "to": period.end, **(rows[0] if rows else {})}


@router.get("/classes/weekly")
async def weekly(admin: Admin, period: PeriodQuery, db: DB, school_id: int | None = None, format: Format = "json") -> object:
    """Each class's participants, sessions and questions per week: the weekly class feedback."""
    school = await weekly_school(db, admin, school_id)
    rows = await class_weekly(db, school, period.start, period.end, period.tz)
    return table("class_weekly", format, WEEKLY, rows, period.start, period.end)


@router.get("/hot-spots")
async def hot(
    admin: Admin,
    period: PeriodQuery,
    scope: ClassScope,
    db: DB,
    subject: str | None = Query(None, max_length=16),
    limit: int = Query(20, ge=1, le=100),
    format: Format = "json",
) -> object:
    """The most-asked knowledge points per class, school, district or the city, optionally by subject."""
    rows = await hot_spots(
        db,
        scope.city_id,
        period.start,
        period.end,
        period.tz,
        subject=subject,
        district_id=scope.district_id,
        school_id=scope.school_id,
        class_id=scope.class_id,
        limit=limit,
    )
    return table("hot_spots", format, HOT, rows, period.start, period.end)


@router.get("/participation")
async def participation(cache: FiguresDep, admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """The thirteen columns of DOMAIN.md per school for [from, to), ranked across the city.
    A school admin sees their school, a district admin their district, a city admin any."""
    rows = await participation_rows(db, cache, scope.city_id, scope.district_id, scope.school_id, period.start, period.end, period.tz)
    return table("participation", format, COLUMNS, [r.as_dict() for r in rows], period.start, period.end)


@router.get("/dashboard")
async def dashboard_page(cache: FiguresDep, clock: ClockDep, admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB) -> dict[str, object]:
    """Everything the dashboard page shows, in one answer: the daily trend, the participation rows
    of the scope, the hot spots, the top 10 students and classes of the period, and the stars of
    the month the period starts in (each as its own endpoint returns it). While the period is
    open (it includes today), the answer may be up to 15 s old (app/stats/cache.py)."""
    from_, to, tz = period.start, period.end, period.tz
    keep = is_open(to, service_today(clock, tz))
    body = await cache.get(("dashboard", scope, from_, to, tz), lambda: dashboard(db, cache, scope, from_, to, tz, keep), keep=keep)
    return {"from": from_, "to": to, **body}


@router.get("/leaderboards/{kind}")
async def leaderboard(
    kind: Board, admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB, limit: int = Query(20, ge=1, le=200), format: Format = "json"
) -> object:
    """Students by participations, tutors by sessions then minutes, classes by participation rate
    (ties share a rank), within the admin's scope."""
    makers: dict[str, Callable[..., Awaitable[list[dict[str, Any]]]]] = {
        "students": boards.students,
        "tutors": boards.tutors,
        "classes": boards.classes,
    }
    make = makers[kind]
    rows = await make(db, scope.city_id, scope.district_id, scope.school_id, period.start, period.end, period.tz, limit)
    return table(f"leaderboard_{kind}", format, BOARD, rows, period.start, period.end)


@router.get("/trend")
async def participation_trend(admin: Admin, period: PeriodQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """Participations and participants per day in the admin's scope (the dashboard's line chart)."""
    rows = await boards.trend(db, scope.city_id, scope.district_id, scope.school_id, period.start, period.end, period.tz)
    return table("trend", format, TREND, rows, period.start, period.end)


@router.get("/stars")
async def month_stars(admin: Admin, month: MonthQuery, scope: AdminScope, db: DB, format: Format = "json") -> object:
    """The month's stars (学习之星, 辅导之星, 活跃班级) by the rule in app/stats/boards.py and README."""
    rows = await boards.stars(db, scope.city_id, scope.district_id, scope.school_id, month.start, month.end, month.tz)
    return table(f"stars_{month.start:%Y-%m}", format, STARS, rows, month.start, month.end)
