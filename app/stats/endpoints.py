"""Statistics endpoints (the participation table so far; see app/stats/participation.py)."""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.deps import Admin
from app.kit.db import DB
from app.kit.errors import Forbidden, InvalidInput

from .participation import COLUMNS, city_table

router = APIRouter(prefix="/api/stats", tags=["statistics"])


@router.get("/participation")
async def participation(request: Request, admin: Admin, db: DB, from_: date = Query(alias="from"), to: date = Query(),
                        district_id: int | None = None, school_id: int | None = None,
                        format: Literal["json", "csv"] = "json") -> object:
    """The thirteen columns of DOMAIN.md per school for [from, to), ranked across the city.
    A school admin sees their school, a district admin their district, a city admin any."""
    if to <= from_ or (to - from_).days > 400:
        raise InvalidInput("give a period with from < to, at most 400 days")
    if admin.role == "school_admin":
        if school_id not in (None, admin.school_id):
            raise Forbidden("this school is outside your scope")
        school_id = admin.school_id
    elif admin.role == "district_admin":
        if district_id not in (None, admin.district_id):
            raise Forbidden("this district is outside your scope")
        district_id = admin.district_id
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
