"""The application factory. `uvicorn app.main:app` serves it; `tutoring run` prepares and serves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.classes.dispatch import ClassDispatch
from app.classes.dispatch import run_tick as class_tick
from app.config import Settings, get_settings
from app.helprequests.service import collect_unattached_images
from app.kit import errors, logs
from app.kit.bodylimit import BodyLimit
from app.kit.db import PG_CONNECT_ARGS, make_engine, make_sessionmaker
from app.kit.headers import SecurityHeaders
from app.kit.reads import HotReads
from app.kit.redis import make_redis
from app.kit.runtime import tune_gc, young_collections
from app.kit.throttle import SocketRate, Throttle
from app.lessons.worker import make_worker as make_lesson_worker
from app.live.socket import EventLogSink, LiveHandler, run_tick
from app.live.transcript import TranscriptWriter
from app.match.closing import account_closed
from app.match.flows import ExpiryHooks
from app.match.reconcile import reconcile
from app.models import utcnow
from app.qa.endpoints import run_escalation
from app.stats.cache import FigureCache
from matching import Clock, EventSink, InProcessPool, MatchConfig, Matcher, RedisPool, SystemClock, Weights
from signaling import InProcessEventLog, RedisEventLog
from signaling.presence import InProcessPresence, RedisPresence
from signaling.relay import InProcessRelay, RedisRelay
from signaling.ws import RawChannel


async def collect_images(app: FastAPI) -> None:
    """Uploads abandoned for a day (never attached to a request nor shown in a session) go."""
    # utcnow(), the clock Image.created_at is stamped with, so that the two compare.
    async with app.state.sessionmaker() as db:
        await collect_unattached_images(db, utcnow() - timedelta(seconds=app.state.settings.unattached_image_keep_s))
        await db.commit()


async def _every(interval: float, step: Callable[[FastAPI], Awaitable[Any]], app: FastAPI) -> None:
    while True:
        try:
            await step(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed pass must not stop the timers
            logging.getLogger(__name__).exception("periodic %s failed", step.__name__)
        await asyncio.sleep(interval)


def build_matcher(settings: Settings, redis: Redis | None, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, sink: EventSink) -> Matcher:
    pool = RedisPool(redis, settings.redis_prefix) if redis is not None else InProcessPool()
    weights = Weights(
        expertise=settings.match_w_expertise, rating=settings.match_w_rating, favourite=settings.match_w_favourite, fairness=settings.match_w_fairness
    )
    config = MatchConfig(
        ring_seconds=settings.match_ring_seconds,
        fanout=settings.match_fanout,
        candidates=settings.match_candidates,
        max_wait_s=settings.match_max_wait_s,
        presence_ttl_s=settings.match_presence_ttl_s,
        weights=weights,
    )
    return Matcher(pool, clock, sink, config, ExpiryHooks(sessionmaker, clock))


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.secret()  # fail at start, not at the first sign-in, when production lacks a secret

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.sqlalchemy_url)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.reads = HotReads(app.state.engine, PG_CONNECT_ARGS)
        await app.state.reads.start()
        app.state.redis = make_redis(settings.redis_url) if settings.redis_url else None
        app.state.events = RedisEventLog(app.state.redis, settings.redis_prefix) if app.state.redis is not None else InProcessEventLog()
        await app.state.events.start()
        app.state.presence = (
            RedisPresence(app.state.redis, settings.redis_prefix, settings.ws_presence_ttl_s)
            if app.state.redis is not None
            else InProcessPresence(settings.ws_presence_ttl_s)
        )
        await app.state.presence.start()
        app.state.relay = (
            RedisRelay(app.state.redis, settings.redis_prefix, app.state.events)
            if isinstance(app.state.events, RedisEventLog)
            else InProcessRelay(app.state.events)
        )
        await app.state.relay.start()
        app.state.transcript = TranscriptWriter(app.state.relay, app.state.sessionmaker)
        app.state.transcript.start()
        app.state.matcher = build_matcher(settings, app.state.redis, app.state.sessionmaker, app.state.clock, EventLogSink(app.state.events))
        app.state.live = LiveHandler(
            settings=settings,
            clock=app.state.clock,
            sessionmaker=app.state.sessionmaker,
            events=app.state.events,
            relay=app.state.relay,
            presence=app.state.presence,
            matcher=app.state.matcher,
        )
        app.state.account_closed = partial(account_closed, app)
        app.state.classes = app.state.live.classes = ClassDispatch(app)
        await app.state.classes.start()
        app.state.lesson_worker = make_lesson_worker(app)
        app.state.lesson_worker.start()
        app.state.throttle = Throttle(settings)
        app.state.socket_rate = SocketRate()
        timers = (
            [
                asyncio.create_task(app.state.matcher.run_reaper()),
                asyncio.create_task(_every(1.0, run_tick, app)),
                asyncio.create_task(_every(1.0, class_tick, app)),
                asyncio.create_task(_every(3600.0, collect_images, app)),
                asyncio.create_task(_every(60.0, run_escalation, app)),
                asyncio.create_task(_every(settings.match_reconcile_s, reconcile, app)),
            ]
            if settings.match_reaper
            else []
        )
        if settings.tune_gc:
            tune_gc()
            timers.append(asyncio.create_task(young_collections()))
        try:
            yield
        finally:
            for task in timers:
                task.cancel()
            await asyncio.gather(*timers, return_exceptions=True)
            await app.state.classes.media.aclose()
            await app.state.lesson_worker.aclose()
            await app.state.transcript.aclose()
            await app.state.events.aclose()
            await app.state.presence.aclose()
            await app.state.throttle.aclose()
            await app.state.matcher.pool.aclose()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await app.state.reads.aclose()
            await app.state.engine.dispose()

    # Swagger UI and ReDoc from files in the package, not a CDN: /docs works offline (and where
    # CDNs are unreliable, as from mainland China).
    app = FastAPIOffline(
        title="Open online tutoring (开放型在线辅导)",
        version="0.1.0",
        lifespan=lifespan,
        description='Live one-to-one tutoring, classes, Q&A and participation statistics. Errors: `{"error": "Code", "detail": "..."}`.',
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()  # the one clock (app/kit/clock.py)
    app.state.figures = FigureCache(app.state.clock, ttl_s=settings.dashboard_cache_s)  # app/stats/cache.py
    errors.install(app)
    logs.install()
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(SecurityHeaders)  # every HTTP answer, the 413s above included
    app.add_middleware(RawChannel)  # outermost: websockets get the server's own channel (signaling/ws.py)

    from app.accounts.endpoints import manage_router as accounts
    from app.accounts.endpoints import router as auth
    from app.calendar.endpoints import router as calendar
    from app.classes.endpoints import router as classes
    from app.health import router as health
    from app.helprequests.endpoints import router as helprequests
    from app.lessons.endpoints import router as lessons
    from app.live.endpoints import router as live
    from app.match.endpoints import router as match
    from app.qa.endpoints import router as qa
    from app.safety.endpoints import router as safety
    from app.schools.endpoints import router as schools
    from app.stats.endpoints import router as stats
    from app.subjects.endpoints import router as subjects
    from app.tutors.endpoints import router as tutors

    # FastAPI tries the routers in this order, every route of each in turn (~2.5 µs a route: a
    # request for the last route of the last router paid ~300 µs of CPU before its endpoint ran),
    # so the paths of every page load come first: the caller (/api/auth/me), the home page's
    # sessions, the duty desk and requests. No path of one router matches a route of another
    # (tests/test_routes.py), so the order changes only the cost.
    for router in (health, auth, live, match, helprequests, accounts, subjects, schools, tutors, calendar, classes, safety, stats, qa, lessons):
        app.include_router(router)

    from app import web

    web.install(app)

    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` builds the app lazily, so importing this module has no side effects.
    if name == "app":
        return create_app()
    raise AttributeError(name)
