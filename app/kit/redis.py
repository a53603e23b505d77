from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.maint_notifications import MaintNotificationsConfig


def make_pool(url: str, **options: Any) -> BlockingConnectionPool:
    """A bounded pool that waits for a free connection instead of failing under a burst.

    Maintenance notifications (push messages from managed Redis offerings, RESP3 only) are off:
    redis-py 8.1 leaves them at "auto", which its pool reads as on, and with them on it skips its
    check of an idle connection before use. A connection closed while idle (Redis restarted, a
    proxy or the network dropped it) then failed the first command sent on it: after an outage
    each idle connection failed one request — a 503, or a socket that never got its `hello`."""
    return BlockingConnectionPool.from_url(url, maint_notifications_config=MaintNotificationsConfig(enabled=False), **options)


def make_redis(url: str, max_connections: int = 64) -> Redis:
    """A bounded pool that waits for a free connection instead of failing under a burst."""
    # Connect and read timeouts: a Redis that stopped answering is reported (503) within
    # seconds instead of holding the request forever.
    pool = make_pool(
        url, decode_responses=True, max_connections=max_connections, timeout=10, health_check_interval=30, socket_connect_timeout=3, socket_timeout=10
    )
    return Redis(connection_pool=pool)


async def ensure_reachable(redis: Redis | None) -> None:
    """Before a change that must reach Redis after the commit (filing a request): a Redis that
    is down is a 503 with nothing stored, rather than a stored request matching never hears of."""
    if redis is not None:
        await redis.ping()
