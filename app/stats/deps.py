"""What every statistics endpoint starts with, as dependencies: the period it reports on (in the
service's time zone) and the caller's scope narrowed to what it asks for (app/stats/scope.py,
the one scope rule). Declare them after the caller (`Admin`, …) so that authentication answers
first, then a bad period (422), then a scope the caller may not see (403)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from app.accounts.deps import Admin
from app.kit.db import DB
from app.kit.deps import SettingsDep

from .cache import FigureCache
from .period import Period
from .schemas import Month
from .scope import Scope, scoped


async def period(settings: SettingsDep, from_: date = Query(alias="from"), to: date = Query()) -> Period:
    return Period.checked(from_, to, settings.timezone)


async def month_period(settings: SettingsDep, month: Month) -> Period:
    return Period.month(month, settings.timezone)


async def admin_scope(admin: Admin, db: DB, district_id: int | None = None, school_id: int | None = None) -> Scope:
    return await scoped(db, admin, district_id, school_id)


async def class_scope(admin: Admin, db: DB, district_id: int | None = None, school_id: int | None = None, class_id: int | None = None) -> Scope:
    return await scoped(db, admin, district_id, school_id, class_id)


async def figures(request: Request) -> FigureCache:
    """The process's shared figures (app/stats/cache.py)."""
    cache: FigureCache = request.app.state.figures
    return cache


PeriodQuery = Annotated[Period, Depends(period)]
MonthQuery = Annotated[Period, Depends(month_period)]
AdminScope = Annotated[Scope, Depends(admin_scope)]
ClassScope = Annotated[Scope, Depends(class_scope)]
FiguresDep = Annotated[FigureCache, Depends(figures)]
