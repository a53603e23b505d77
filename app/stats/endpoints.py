"""Statistics endpoints. Every table comes as JSON, CSV or XLSX (`?format=`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from app.accounts.deps import Admin, Tutor, require
from app.accounts.scope import user_in_scope
from app.kit.db import DB
from app.kit.errors import Forbidden, InvalidInput, NotFound
from app.models import District, TutorProfile, User
from matching import SystemClock

from . import boards
from .cache import FigureCache, is_open
from .dashboard import dashboard, in_scope, shared_city_table
from .export import ARCHIVE, BOARD, HOT, ONLINE, PAYROLL, STARS, TREND, WEEKLY, WORKLOAD, WORKLOAD_TOTALS, Format, table
from .hot_spots import hot_spots
from .online import online_rate
from .participation import COLUMNS
from .payroll import payroll
from .scope import scoped
from .weekly import class_weekly
from .workload import archive, tutor_workload, workload_totals

router = APIRouter(prefix="/api/stats", tags=["statistics"])


async def _scope(db: DB, admin: User, district_id: int | None, school_id: int | None) -> tuple[int | None, int | None]:
    """The request's district and school intersected with the admin's scope (app/stats/scope.py)."""
    s = await scoped(db, admin, district_id, school_id)
    return s.district_id, s.school_id


def figures(request: Request) -> FigureCache:
    """The process's shared figures (app/stats/cache.py)."""
    return request.app.state.figures


def service_today(request: Request, tz: str) -> date:
    """The current day in the service's time zone, by the app's clock."""
    clock = getattr(request.app.state, "clock", None) or SystemClock()
    return datetime.fromtimestamp(clock.now(), ZoneInfo(tz)).date()


def _period(from_: date, to: date) -> None:
    if to <= from_ or (to - from_).days > 400:
        raise InvalidInput("give a period with from < to, at most 400 days")


@router.get("/online-rate")
async def online(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """上线率 by role and stage: users who signed in during the period / users registered."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await online_rate(db, admin.city_id or 0, district_id, school_id, from_, to, request.app.state.settings.timezone)
    return table("online_rate", format, ONLINE, rows, from_, to)


@router.get("/payroll")
async def district_payroll(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    format: Format = "json",
) -> object:
    """A district's tutor compensation for the period: points from the ledger × the value of a point."""
    _period(from_, to)
    if admin.role == "school_admin":
        raise Forbidden("payroll is for district and city admins")
    district_id, _ = await _scope(db, admin, district_id, None)
    district = await db.get(District, district_id) if district_id is not None else None
    if district is None:
        raise InvalidInput("give the district_id of a district", field="district_id")
    s = request.app.state.settings
    pay = await payroll(db, district.id, from_, to, s.timezone, s.point_value_cny)
    if format == "json":
        return {"from": from_, "to": to, **pay}
    total = {
        "tutor_id": None,
        "name": "合计",
        "entries": sum(t["entries"] for t in pay["tutors"]),
        "points": pay["total_points"],
        "amount_cny": pay["total_cny"],
    }
    return table(f"payroll_{pay['district']}", format, PAYROLL, [*pay["tutors"], total], from_, to)


@router.get("/tutors")
async def workload(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """Tutor workload (the tutoring archive in figures) for tutors employed in the admin's scope."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await tutor_workload(db, admin.city_id or 0, district_id, school_id, None, from_, to, request.app.state.settings.timezone)
    return table("tutor_workload", format, WORKLOAD, rows, from_, to)


@router.get("/tutors/totals")
async def workload_by(
    request: Request,
    admin: Admin,
    db: DB,
    by: Literal["subject", "district"],
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """Tutor workload per subject or per district, over the tutors employed in the admin's scope."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await workload_totals(db, admin.city_id or 0, district_id, school_id, by, from_, to, request.app.state.settings.timezone)
    key = ("subject", "学科") if by == "subject" else ("district", "区ID")
    return table(f"tutor_workload_by_{by}", format, [key, ("name", "名称"), *WORKLOAD_TOTALS], rows, from_, to)


TutorOrAdmin = Annotated[User, require("tutor", "school_admin", "district_admin", "city_admin")]


@router.get("/archive")
async def tutor_archive(
    request: Request,
    user: TutorOrAdmin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    tutor_id: int | None = None,
    format: Format = "json",
) -> object:
    """A tutor's archive (辅导档案): sessions, classes and answers with minutes, ratings and points.
    A tutor sees their own (no tutor_id); an admin any tutor employed in their scope."""
    _period(from_, to)
    if user.role == "tutor":
        if tutor_id not in (None, user.id):
            raise Forbidden("a tutor sees only their own archive")
        tutor = user
    else:
        if tutor_id is None:
            raise InvalidInput("give the tutor_id of a tutor", field="tutor_id")
        found = await db.get(User, tutor_id)
        if found is None or found.role != "tutor" or await db.get(TutorProfile, tutor_id) is None:
            raise NotFound("no such tutor")
        tutor = found
        if not await user_in_scope(db, user, tutor):
            raise Forbidden("this tutor is outside your scope")
    rows = await archive(db, tutor.id, from_, to, request.app.state.settings.timezone)
    return table(f"archive_{tutor.real_name}", format, ARCHIVE, rows, from_, to, tutor_id=tutor.id, tutor=tutor.real_name)


@router.get("/tutors/me")
async def my_workload(request: Request, tutor: Tutor, db: DB, from_: date = Query(alias="from"), to: date = Query()) -> dict[str, object]:
    """A tutor's own archive figures; the sessions themselves are at GET /api/sessions."""
    _period(from_, to)
    rows = await tutor_workload(db, tutor.city_id or 0, None, None, tutor.id, from_, to, request.app.state.settings.timezone)
    return {"from": from_, "to": to, **(rows[0] if rows else {})}


@router.get("/classes/weekly")
async def weekly(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """Each class's participants, sessions and questions per week: the weekly class feedback."""
    _period(from_, to)
    _, school_id = await _scope(db, admin, None, school_id)
    if school_id is None:
        raise InvalidInput("give the school_id", field="school_id")
    rows = await class_weekly(db, school_id, from_, to, request.app.state.settings.timezone)
    return table("class_weekly", format, WEEKLY, rows, from_, to)


@router.get("/hot-spots")
async def hot(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    subject: str | None = Query(None, max_length=16),
    district_id: int | None = None,
    school_id: int | None = None,
    class_id: int | None = None,
    limit: int = Query(20, ge=1, le=100),
    format: Format = "json",
) -> object:
    """The most-asked knowledge points per class, school, district or the city, optionally by subject."""
    _period(from_, to)
    s = await scoped(db, admin, district_id, school_id, class_id)
    district_id, school_id, class_id = s.district_id, s.school_id, s.class_id
    rows = await hot_spots(
        db,
        admin.city_id or 0,
        from_,
        to,
        request.app.state.settings.timezone,
        subject=subject,
        district_id=district_id,
        school_id=school_id,
        class_id=class_id,
        limit=limit,
    )
    return table("hot_spots", format, HOT, rows, from_, to)


@router.get("/participation")
async def participation(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """The thirteen columns of DOMAIN.md per school for [from, to), ranked across the city.
    A school admin sees their school, a district admin their district, a city admin any."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await shared_city_table(db, figures(request), admin.city_id or 0, from_, to, request.app.state.settings.timezone)
    return table("participation", format, COLUMNS, [r.as_dict() for r in in_scope(rows, district_id, school_id)], from_, to)


@router.get("/dashboard")
async def dashboard_page(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
) -> dict[str, object]:
    """Everything the dashboard page shows, in one answer: the daily trend, the participation rows
    of the scope, the hot spots, the top 10 students and classes of the period, and the stars of
    the month the period starts in (each as its own endpoint returns it). While the period is
    open (it includes today), the answer may be up to 15 s old (app/stats/cache.py)."""
    _period(from_, to)
    scope = await scoped(db, admin, district_id, school_id)
    tz = request.app.state.settings.timezone
    cache = figures(request)
    keep = is_open(to, service_today(request, tz))
    body = await cache.get(("dashboard", scope, from_, to, tz), lambda: dashboard(db, cache, scope, from_, to, tz, keep), keep=keep)
    return {"from": from_, "to": to, **body}


@router.get("/leaderboards/{kind}")
async def leaderboard(
    kind: Literal["students", "tutors", "classes"],
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    limit: int = Query(20, ge=1, le=200),
    format: Format = "json",
) -> object:
    """Students by participations, tutors by sessions then minutes, classes by participation rate
    (ties share a rank), within the admin's scope."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    makers: dict[str, Callable[..., Awaitable[list[dict[str, Any]]]]] = {
        "students": boards.students,
        "tutors": boards.tutors,
        "classes": boards.classes,
    }
    make = makers[kind]
    rows = await make(db, admin.city_id or 0, district_id, school_id, from_, to, request.app.state.settings.timezone, limit)
    return table(f"leaderboard_{kind}", format, BOARD, rows, from_, to)


@router.get("/trend")
async def participation_trend(
    request: Request,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """Participations and participants per day in the admin's scope (the dashboard's line chart)."""
    _period(from_, to)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await boards.trend(db, admin.city_id or 0, district_id, school_id, from_, to, request.app.state.settings.timezone)
    return table("trend", format, TREND, rows, from_, to)


@router.get("/stars")
async def month_stars(
    request: Request,
    admin: Admin,
    db: DB,
    month: str = Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM"),
    district_id: int | None = None,
    school_id: int | None = None,
    format: Format = "json",
) -> object:
    """The month's stars (学习之星, 辅导之星, 活跃班级) by the rule in app/stats/boards.py and README."""
    year, mon = map(int, month.split("-"))
    from_, to = date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)
    district_id, school_id = await _scope(db, admin, district_id, school_id)
    rows = await boards.stars(db, admin.city_id or 0, district_id, school_id, from_, to, request.app.state.settings.timezone)
    return table(f"stars_{month}", format, STARS, rows, from_, to)
