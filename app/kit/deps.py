"""Dependencies for what the app factory builds once (`app.state`), so that endpoints declare
what they use instead of reaching into the app: settings, the event log, the hot reads, the
throttle, Redis and the account-closing hook here; the clock in `clock.py`, the database session
in `db.py`, the matcher in `app/match/deps.py` (its pool here, for the domains below `match` that
read who is on duty). What one domain builds has its `deps.py` there: `app/live/deps.py`,
`app/classes/deps.py`, `app/lessons/deps.py`, `app/stats/deps.py` (the figure cache).

Outside the app factory, `request.app.state` is read in these getters, in `db.get_db` (the
session makers), in `app/health.py` (the engine and Redis it probes), and where no FastAPI
dependency runs: the timers, the websocket endpoint and the signed lesson-file route (a plain
Starlette route, for throughput)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from app.config import Settings
from app.kit.reads import HotReads
from app.kit.throttle import Throttle
from matching import Pool
from signaling.eventlog import EventLog


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_events(request: Request) -> EventLog:
    events: EventLog = request.app.state.events
    return events


async def get_pool(request: Request) -> Pool:
    pool: Pool = request.app.state.matcher.pool
    return pool


async def get_reads(request: Request) -> HotReads:
    reads: HotReads = request.app.state.reads
    return reads


async def get_throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle


async def get_redis(request: Request) -> Redis | None:
    """The shared Redis, or None on the embedded setup."""
    redis: Redis | None = request.app.state.redis
    return redis


AccountClosed = Callable[[int, str | None, str], Awaitable[None]]


async def get_account_closed(request: Request) -> AccountClosed:
    """`app.match.closing.account_closed` bound to the app: closes a signed-out or suspended
    account's sockets everywhere (the domains below `match` reach it through this)."""
    closed: AccountClosed = request.app.state.account_closed
    return closed


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EventsDep = Annotated[EventLog, Depends(get_events)]
PoolDep = Annotated[Pool, Depends(get_pool)]
ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
RedisDep = Annotated[Redis | None, Depends(get_redis)]
AccountClosedDep = Annotated[AccountClosed, Depends(get_account_closed)]
ReadsDep = Annotated[HotReads, Depends(get_reads)]
