"""The session timer's pass at evening scale: what it costs an instance every second.

Every instance runs the timer once a second (`LiveHandler.sweep`, app/live/socket.py). Until
2026-11-27 the pass read every active session and asked presence about both of their users.
Now it asks presence whose sockets lapsed since its last pass and reads the next SWEEP_STEP
sessions of a round through them all (app/live/presence.py). This times both on N live sessions
whose 2N users are present:
- `full_*`: the old pass, every active session (`settle` over all of them);
- `pass_*`: the timer's pass as it runs now (`LiveHandler.sweep` itself).
Each is timed per pass for CPU (the process's, the SQLite thread included) and wall time, and for
the longest step of the event loop meanwhile (a coroutine yielding in a loop beside it). The two
alternate (`--rounds`), so drift in the machine falls on both alike.

The sessions are written straight into a fresh database seeded with the demo city: this times a
query and a comparison, not the flow that makes sessions (loadtest.signaling does that).

    python -m loadtest.sweep                        # 1,000 live sessions, both setups
    python -m loadtest.sweep --sessions 3000 --setup production
    python -m loadtest.sweep --quick                # 200 sessions, a few passes
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.kit.db import make_engine, make_sessionmaker
from app.kit.runtime import tune_gc
from app.live.presence import settle
from app.live.socket import LiveHandler
from app.models import HelpRequest, Role, Subject, TutoringSession, User
from app.prestart import prestart
from matching.clock import SystemClock
from signaling.eventlog import InProcessEventLog
from signaling.presence import InProcessPresence, Presence, RedisPresence

from .common import report
from .http import REDIS_URL, clear_redis, create_database, drop_database

REQUIRED = ["setup", "sessions", "passes", "full_cpu_ms", "full_wall_ms", "full_longest_step_ms",
            "pass_cpu_ms", "pass_wall_ms", "pass_longest_step_ms"]


async def _live_sessions(sm: async_sessionmaker[AsyncSession], n: int) -> set[int]:
    """N live sessions between the demo city's students and tutors (a user may be in several);
    returns their users."""
    async with sm() as db:
        students = (await db.execute(select(User.id).where(User.role == Role.STUDENT).order_by(User.id))).scalars().all()
        tutors = (await db.execute(select(User.id).where(User.role == Role.TUTOR).order_by(User.id))).scalars().all()
        subject = (await db.execute(select(Subject.code).limit(1))).scalar_one()
        pairs = [(students[k % len(students)], tutors[k % len(tutors)]) for k in range(n)]
        requests = (await db.execute(
            insert(HelpRequest).returning(HelpRequest.id),
            [{"student_id": s, "subject_code": subject, "text": "sweep benchmark", "status": "matched"} for s, _ in pairs],
        )).scalars().all()
        await db.execute(insert(TutoringSession), [
            {"request_id": r, "student_id": s, "tutor_id": t, "subject_code": subject, "state": "live"}
            for r, (s, t) in zip(requests, pairs, strict=True)
        ])
        await db.commit()
    return {u for pair in pairs for u in pair}


async def _timed(passes: int, one: Callable[[], Awaitable[None]]) -> tuple[float, float, float]:
    """CPU ms and wall ms per pass, and the loop's longest step (ms) while they ran."""
    steps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0)
            now = time.perf_counter()
            steps.append(now - last)
            last = now

    await one()  # warm: statements compiled, pages cached
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(passes):
        await one()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    running = False
    await tick
    return cpu * 1000 / passes, wall * 1000 / passes, max(steps) * 1000


async def run(setup: str, sessions: int, passes: int, rounds: int, pg_db: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        if setup == "embedded":
            settings = Settings(DATABASE_URL=f"sqlite:///{Path(tmp) / 'tutoring.db'}", REDIS_URL=None, data_dir=Path(tmp), seed_demo=True)
            await asyncio.to_thread(prestart, settings)
        else:
            await drop_database(pg_db)  # fresh: one a run left behind (killed) is not reused
            url = await create_database(pg_db)  # migrated, the demo city seeded
            settings = Settings(DATABASE_URL=url, REDIS_URL=REDIS_URL, data_dir=Path(tmp))
        engine = make_engine(settings.sqlalchemy_url)
        sm = make_sessionmaker(engine)
        redis = None
        presence: Presence
        prefix = f"bench:sweep:{secrets.token_hex(4)}:"
        if setup == "embedded":
            presence = InProcessPresence(settings.ws_presence_ttl_s)
        else:
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL, decode_responses=True)
            presence = RedisPresence(redis, prefix, settings.ws_presence_ttl_s)
        try:
            users = await _live_sessions(sm, sessions)
            clock = SystemClock()
            await presence.refresh([(u, f"c{u}") for u in sorted(users)], clock.now())
            # The timer's pass as the app runs it; what it needs of the handler's collaborators is
            # the clock, the database and presence (the relay and the matcher are not reached).
            handler = LiveHandler(settings=settings, clock=clock, sessionmaker=sm, events=InProcessEventLog(),
                                  relay=None, presence=presence, matcher=None)  # type: ignore[arg-type]

            async def full() -> None:
                now = clock.now()
                async with sm() as db:
                    await settle(db, lambda ids: presence.present(ids, now), now)
                    await db.commit()

            tune_gc()  # as the service does at start-up: what set-up built is frozen, the passes short
            got: dict[str, list[tuple[float, float, float]]] = {"full": [], "pass": []}
            for _ in range(rounds):
                got["full"].append(await _timed(passes, full))
                got["pass"].append(await _timed(passes, handler.sweep))
        finally:
            await engine.dispose()
            if redis is not None:
                await redis.aclose()
                await clear_redis(prefix)
                await drop_database(pg_db)
    figures: dict[str, Any] = {"setup": setup, "sessions": sessions, "passes": passes * rounds}
    for name, runs in got.items():
        figures[f"{name}_cpu_ms"] = round(statistics.median(r[0] for r in runs), 2)
        figures[f"{name}_wall_ms"] = round(statistics.median(r[1] for r in runs), 2)
        figures[f"{name}_longest_step_ms"] = round(max(r[2] for r in runs), 2)
    for key in REQUIRED[3:]:
        print(f"  {setup:10s} {key:22s} {figures[key]}")
    return figures


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=20, help="passes per round of each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 sessions, 5 passes, 2 rounds")
    parser.add_argument("--pg-db", default="tutoring_bench_sweep", help="the PostgreSQL database made (and dropped) for the run")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.passes, args.rounds = 200, 5, 2
    setups = ["embedded", "production"] if args.setup == "both" else [args.setup]
    load = round(os.getloadavg()[0], 2)
    print(f"sweep: {args.sessions} live sessions, {args.rounds} x {args.passes} passes of each; load average {load} on {os.cpu_count()} cores")
    runs = [await run(setup, args.sessions, args.passes, args.rounds, args.pg_db) for setup in setups]
    figures = {**runs[0], "load_average_at_start": load, "runs": runs}
    report("sweep", figures)
    return figures


if __name__ == "__main__":
    asyncio.run(main())
