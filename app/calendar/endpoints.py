"""The service calendar: holidays and vacations closed, weekend make-up school days opened."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.accounts.deps import CurrentUser, require
from app.kit.db import DB
from app.kit.errors import InvalidInput, NotFound
from app.models import CalendarDay, User

router = APIRouter(prefix="/api/calendar", tags=["calendar"])
CityAdmin = require("city_admin")


class DayIn(BaseModel):
    is_service_day: bool
    note: str = Field(default="", max_length=100, description="e.g. 国庆节, 寒假, 调休上课")


class DayOut(DayIn):
    day: date


@router.get("", response_model=list[DayOut])
async def list_days(_: CurrentUser, db: DB, from_: date = Query(alias="from"), to: date = Query()) -> list[DayOut]:
    if to < from_ or (to - from_).days > 400:
        raise InvalidInput("give a range [from, to] of at most 400 days")
    rows = (await db.execute(select(CalendarDay).where(CalendarDay.day >= from_, CalendarDay.day <= to)
                             .order_by(CalendarDay.day))).scalars()
    return [DayOut(day=r.day, is_service_day=r.is_service_day, note=r.note) for r in rows]


@router.put("/{day}", response_model=DayOut)
async def set_day(day: date, body: DayIn, db: DB, _: User = CityAdmin) -> DayOut:
    row = await db.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, is_service_day=body.is_service_day, note=body.note)
        db.add(row)
    row.is_service_day, row.note = body.is_service_day, body.note
    await db.flush()
    return DayOut(day=day, is_service_day=row.is_service_day, note=row.note)


@router.delete("/{day}", status_code=204)
async def clear_day(day: date, db: DB, _: User = CityAdmin) -> None:
    row = await db.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"no calendar entry for {day}")
    await db.delete(row)
