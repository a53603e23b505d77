"""Throttles shared by every instance: the `limits` library's moving windows, kept in Redis on
the production setup and in memory on the embedded one. The per-socket message rate is apart
(`SocketRate`): token buckets in memory, checked on every frame.

A throttle refuses with `429 TooManyRequests` and `Retry-After` (header and `retry_after` in the
error envelope); on the websocket the caller turns `Throttled` into an error frame. The numbers
are in README ("Security") and here, one place:
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import BlockingConnectionPool

from app.config import Settings
from app.kit.errors import AppError, TooManyRequests
from app.kit.redis import make_pool
from signaling.protocol import ProtocolError

# Sign-in failures. Layered windows are the back-off: five wrong passwords lock the account for
# the rest of the minute, 20 in an hour for the rest of the hour, 50 in a day for the day.
SIGN_IN_ACCOUNT = parse_many("5/minute;20/hour;50/day")
SIGN_IN_ADDRESS = parse_many("30/minute;200/hour")
# The public tutor application (anonymous: per address).
APPLY_ADDRESS = parse_many("10/minute;50/day")
# Image uploads per user.
UPLOADS = parse_many("20/minute;200/day")
# Websocket messages per socket: a stroke stream sends many small frames (a pen moving at 60 Hz
# in short batches), chat is typed by hand.
SOCKET_ANY = parse_many("60/second;1200/minute")
SOCKET_CHAT = parse_many("20/10 seconds;60/minute")  # a burst (messages queued while offline) passes


class SocketRate:
    """Per-socket message rates: one token bucket per limit, in plain Python, in memory even
    with Redis (a socket lives on one instance, and a Redis round trip per message would double
    the cost of the hot path for nothing).

    A limit "N per T" is a bucket of N tokens refilled at N/T a second: a burst of N passes
    (messages queued while offline), then the sustained rate is N/T — what a moving window of
    N per T allows too, at a fraction of the cost. Measured (`loadtest.signaling --profile`):
    the `limits` moving windows cost ~5 % of the service's CPU at 400 messages/s (a lock and a
    window list per key, and an expiry pass over every key of every socket that hops to a thread
    per key); this costs a few microseconds per frame. A refused frame takes no token."""

    def __init__(self, any_: list[RateLimitItem] = SOCKET_ANY, chat: list[RateLimitItem] = SOCKET_CHAT) -> None:
        self.any = [(item.amount, item.amount / item.get_expiry(), str(item)) for item in any_]
        self.chat = [(item.amount, item.amount / item.get_expiry(), str(item)) for item in chat]

    def for_socket(self, clock: Callable[[], float] = time.monotonic) -> Callable[[str | None], None]:
        """The socket's check, called once per frame: `rate(None)` for any frame, `rate("chat")`
        for a chat (the frame's buckets and the chat's, in one call); raises
        ProtocolError("TooManyMessages", retry_after=…) when a bucket is empty, and then takes
        no token from any of them. One call per frame, not one plus one more for a chat: at
        1,000 live pairs the two calls were ~3 % of the loop's CPU (loadtest.signaling --profile)."""
        start = clock()
        frame = [_Bucket(n, per_s, label, start) for n, per_s, label in self.any]
        kinds = {None: frame, "chat": frame + [_Bucket(n, per_s, label, start) for n, per_s, label in self.chat]}

        def rate(kind: str | None) -> None:
            now = clock()
            buckets = kinds[kind]
            for b in buckets:
                tokens = b.tokens + (now - b.last) * b.per_s
                b.tokens, b.last = (b.size if tokens > b.size else tokens), now
                if b.tokens < 1.0:
                    wait = max(math.ceil((1.0 - b.tokens) / b.per_s), 1)
                    raise ProtocolError("TooManyMessages", f"this socket sends too fast ({b.label}); slow down", retry_after=wait)
            for b in buckets:
                b.tokens -= 1.0

        return rate


class _Bucket:
    """One limit "N per T" of one socket: up to N tokens, refilled at N/T a second."""

    __slots__ = ("tokens", "last", "size", "per_s", "label")

    def __init__(self, size: float, per_s: float, label: str, now: float) -> None:
        self.tokens, self.last, self.size, self.per_s, self.label = float(size), now, float(size), per_s, label


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


class Throttle:
    def __init__(self, settings: Settings) -> None:
        self.storage: Storage
        self._pool: BlockingConnectionPool | None = None
        if settings.redis_url:
            # A bounded pool that waits: with the library's own (unbounded by default, but capped
            # at 100 by redis-py) a burst of 200 sign-ins failed half of them with 503
            # "Too many connections" (`python -m loadtest.http`).
            pool = self._pool = make_pool(settings.redis_url, max_connections=32, timeout=10, socket_connect_timeout=3, socket_timeout=10)
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=settings.redis_prefix + "limits",
                connection_pool=pool,  # type: ignore[arg-type]  # limits types its options as scalars; redis-py takes the pool
            )
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def _retry_after(self, items: list[RateLimitItem], key: str) -> int | None:
        """Seconds until every window of `items` has room again; None when it has room now."""
        wait = 0.0
        for item in items:
            if not await self.limiter.test(item, key):
                stats = await self.limiter.get_window_stats(item, key)
                # The library keeps its windows in wall-clock seconds; Retry-After is relative.
                wait = max(wait, stats.reset_time - time.time(), 1.0)
        return math.ceil(wait) if wait else None

    async def check(self, items: list[RateLimitItem], key: str) -> None:
        """Raise Throttled when any window is full, without counting this attempt."""
        wait = await self._retry_after(items, key)
        if wait is not None:
            raise Throttled(wait)

    async def hit(self, items: list[RateLimitItem], key: str) -> None:
        """Count one attempt; raise Throttled (and count nothing) when a window is full."""
        await self.check(items, key)
        for item in items:
            await self.limiter.hit(item, key)

    async def count(self, items: list[RateLimitItem], key: str) -> None:
        """Count one attempt that has already happened (a failed sign-in)."""
        for item in items:
            await self.limiter.hit(item, key)

    async def clear(self, items: list[RateLimitItem], key: str) -> None:
        for item in items:
            await self.limiter.clear(item, key)

    async def aclose(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)  # the Redis client limits made
        if client is not None:
            await client.aclose()
        if self._pool is not None:  # given to the client, so the client does not close it
            await self._pool.disconnect()


def too_many(exc: Throttled, what: str) -> AppError:
    return TooManyRequests(f"{what}: too many attempts; try again in {exc.retry_after} s", retry_after=exc.retry_after)
