"""The service calendar and the service window it shapes: the configured weekly window
(`settings.service_window`) with the admins' exceptions (holidays closed, make-up school days
opened). Live tutoring, going on duty and classes all ask `service_window()`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit.errors import InvalidInput, NotFound
from app.models import CalendarDay

from .schemas import DayIn, DayOut
from .window import ServiceWindow


async def list_days(db: AsyncSession, from_: date, to: date) -> list[DayOut]:
    if to < from_ or (to - from_).days > 400:
        raise InvalidInput("give a range [from, to] of at most 400 days")
    rows = (await db.execute(select(CalendarDay).where(CalendarDay.day >= from_, CalendarDay.day <= to).order_by(CalendarDay.day))).scalars()
    return [DayOut(day=r.day, is_service_day=r.is_service_day, note=r.note) for r in rows]


async def set_day(db: AsyncSession, day: date, body: DayIn) -> DayOut:
    row = await db.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, is_service_day=body.is_service_day, note=body.note)
        db.add(row)
    row.is_service_day, row.note = body.is_service_day, body.note
    await db.flush()
    return DayOut(day=day, is_service_day=row.is_service_day, note=row.note)


async def clear_day(db: AsyncSession, day: date) -> None:
    row = await db.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"no calendar entry for {day}")
    await db.delete(row)
    await db.flush()


async def service_window(db: AsyncSession, settings: Settings, around: float) -> ServiceWindow:
    """The configured weekly window with the admins' calendar exceptions for the coming year."""
    today = datetime.fromtimestamp(around, UTC).date()
    rows = (
        await db.execute(select(CalendarDay).where(CalendarDay.day >= today - timedelta(days=1), CalendarDay.day <= today + timedelta(days=400)))
    ).scalars()
    overrides: dict[date, bool] = {r.day: r.is_service_day for r in rows}
    return ServiceWindow.parse(settings.service_window, settings.timezone, overrides)
