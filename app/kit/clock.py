"""One clock. Every timestamp in a request path, a timer or a socket handler comes from the
clock the app was built with (`create_app(settings, clock)`; `app.state.clock`), never from
the wall clock beside it: that is what lets tests move time with one `FakeClock` instead of
sleeping. The clock protocol itself lives in `matching/` (the lower layer, which knows nothing
of `app/`); this module is where `app/` takes it from.

Left on the wall clock, on purpose: column defaults (`app.models.base.utcnow`, for rows that
no request stamps), JWT expiry (PyJWT checks `exp` against the wall clock) and the refresh
tokens that must agree with it, rate-limit windows (the `limits` library's own clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from matching.clock import Clock, FakeClock, SystemClock

__all__ = ["Clock", "ClockDep", "FakeClock", "SystemClock", "get_clock", "now_dt", "ts"]


def ts(now: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime (what the database columns hold)."""
    return datetime.fromtimestamp(now, UTC)


def now_dt(clock: Clock) -> datetime:
    return ts(clock.now())


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]
