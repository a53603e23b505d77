"""The service calendar: holidays and vacations closed, weekend make-up school days opened."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from app.accounts.deps import CurrentUser, require
from app.kit.db import DB
from app.models import User

from . import service
from .schemas import DayIn, DayOut

router = APIRouter(prefix="/api/calendar", tags=["calendar"])
CityAdmin = require("city_admin")


@router.get("", response_model=list[DayOut])
async def list_days(_: CurrentUser, db: DB, from_: date = Query(alias="from"), to: date = Query()) -> list[DayOut]:
    return await service.list_days(db, from_, to)


@router.put("/{day}", response_model=DayOut)
async def set_day(day: date, body: DayIn, db: DB, _: User = CityAdmin) -> DayOut:
    return await service.set_day(db, day, body)


@router.delete("/{day}", status_code=204)
async def clear_day(day: date, db: DB, _: User = CityAdmin) -> None:
    await service.clear_day(db, day)
