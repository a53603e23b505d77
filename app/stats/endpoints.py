"""Statistics endpoints (the participation table so far; see app/stats/participation.py)."""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.deps import Admin, Tutor
from app.kit.db import DB
from app.kit.errors import Forbidden, InvalidInput
from app.accounts.scope import require_school
from app.models import District, SchoolClass

from .other import class_weekly, hot_spots, online_rate, payroll, tutor_workload
from .participation import COLUMNS, city_table

router = APIRouter(prefix="/api/stats", tags=["statistics"])


def _scope(admin, district_id: int | None, school_id: int | None) -> tuple[int | None, int | None]:  # type: ignore[no-untyped-def]
    """Narrow a request to the admin's scope; asking for something outside it is refused."""
    if admin.role == "school_admin":
        if school_id not in (None, admin.school_id) or district_id not in (None, admin.district_id):
            raise Forbidden("this school is outside your scope")
        return admin.district_id, admin.school_id
    if admin.role == "district_admin":
        if district_id not in (None, admin.district_id):
            raise Forbidden("this district is outside your scope")
        return admin.district_id, school_id
    return district_id, school_id


def _period(from_: date, to: date) -> None:
    if to <= from_ or (to - from_).days > 400:
        raise InvalidInput("give a period with from < to, at most 400 days")


@router.get("/online-rate")
async def online(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                 district_id: int | None = None, school_id: int | None = None) -> dict[str, object]:
    """上线率 by role and stage: users who signed in during the period / users registered."""
    _period(from_, to)
    district_id, school_id = _scope(admin, district_id, school_id)
    rows = await online_rate(db, admin.city_id or 0, district_id, school_id, from_, to, request.app.state.settings.timezone)
    return {"from": from_, "to": to, "rows": rows}


@router.get("/payroll")
async def district_payroll(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                           district_id: int | None = None) -> dict[str, object]:
    """A district's tutor compensation for the period: points from the ledger × the value of a point."""
    _period(from_, to)
    if admin.role == "school_admin":
        raise Forbidden("payroll is for district and city admins")
    district_id, _ = _scope(admin, district_id, None)
    district = await db.get(District, district_id) if district_id is not None else None
    if district is None:
        raise InvalidInput("give the district_id of a district", field="district_id")
    if district.city_id != admin.city_id:
        raise Forbidden("this district is outside your scope")
    s = request.app.state.settings
    return {"from": from_, "to": to, **await payroll(db, district_id, from_, to, s.timezone, s.point_value_cny)}


@router.get("/tutors")
async def workload(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                   district_id: int | None = None, school_id: int | None = None) -> dict[str, object]:
    """Tutor workload (the tutoring archive in figures) for tutors employed in the admin's scope."""
    _period(from_, to)
    district_id, school_id = _scope(admin, district_id, school_id)
    rows = await tutor_workload(db, admin.city_id or 0, district_id, school_id, None, from_, to,
                                request.app.state.settings.timezone)
    return {"from": from_, "to": to, "rows": rows}


@router.get("/tutors/me")
async def my_workload(request: Request, tutor: Tutor, db: DB, from_: date = Query(alias="from"),
                      to: date = Query()) -> dict[str, object]:
    """A tutor's own archive figures; the sessions themselves are at GET /api/sessions."""
    _period(from_, to)
    rows = await tutor_workload(db, tutor.city_id or 0, None, None, tutor.id, from_, to,
                                request.app.state.settings.timezone)
    return {"from": from_, "to": to, **(rows[0] if rows else {})}


@router.get("/classes/weekly")
async def weekly(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                 school_id: int | None = None) -> dict[str, object]:
    """Each class's participants, sessions and questions per week: the weekly class feedback."""
    _period(from_, to)
    _, school_id = _scope(admin, None, school_id)
    if school_id is None:
        raise InvalidInput("give the school_id", field="school_id")
    await require_school(db, admin, school_id)
    return {"from": from_, "to": to, "rows": await class_weekly(db, school_id, from_, to, request.app.state.settings.timezone)}


@router.get("/hot-spots")
async def hot(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
              subject: str | None = Query(None, max_length=16), district_id: int | None = None,
              school_id: int | None = None, class_id: int | None = None,
              limit: int = Query(20, ge=1, le=100)) -> dict[str, object]:
    """The most-asked knowledge points per class, school, district or the city, optionally by subject."""
    _period(from_, to)
    district_id, school_id = _scope(admin, district_id, school_id)
    if class_id is not None:
        klass = await db.get(SchoolClass, class_id)
        if klass is None:
            raise InvalidInput(f"no class {class_id}", field="class_id")
        await require_school(db, admin, klass.school_id)
    rows = await hot_spots(db, admin.city_id or 0, from_, to, request.app.state.settings.timezone, subject=subject,
                           district_id=district_id, school_id=school_id, class_id=class_id, limit=limit)
    return {"from": from_, "to": to, "rows": rows}


@router.get("/participation")
async def participation(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                        district_id: int | None = None, school_id: int | None = None,
                        format: Literal["json", "csv"] = "json") -> object:
    """The thirteen columns of DOMAIN.md per school for [from, to), ranked across the city.
    A school admin sees their school, a district admin their district, a city admin any."""
    _period(from_, to)
    district_id, school_id = _scope(admin, district_id, school_id)
    rows = await city_table(db, admin.city_id or 0, from_, to, request.app.state.settings.timezone)
    rows = [r for r in rows if (district_id is None or r.district_id == district_id)
            and (school_id is None or r.school_id == school_id)]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([zh for _, zh in COLUMNS])
        for r in rows:
            d = r.as_dict()
            writer.writerow([d[key] for key, _ in COLUMNS])
        # UTF-8 with BOM so that Excel opens the Chinese headers correctly.
        return Response(("\ufeff" + out.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="participation_{from_}_{to}.csv"'})
    return {"from": from_, "to": to, "rows": [r.as_dict() for r in rows]}
