"""Dependencies for what the app factory builds once (`app.state`), so that endpoints declare
what they use instead of reaching into the app: settings and the event log here, the clock in
`clock.py`, the database session in `db.py`, the matcher in `app/match/deps.py` (its pool here,
for the domains below `match` that read who is on duty)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from matching import Pool
from signaling.eventlog import EventLog


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_events(request: Request) -> EventLog:
    events: EventLog = request.app.state.events
    return events


def get_pool(request: Request) -> Pool:
    pool: Pool = request.app.state.matcher.pool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EventsDep = Annotated[EventLog, Depends(get_events)]
PoolDep = Annotated[Pool, Depends(get_pool)]
