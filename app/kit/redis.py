from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def make_redis(url: str, max_connections: int = 64) -> Redis:
    """A bounded pool that waits for a free connection instead of failing under a burst."""
    # Connect and read timeouts: a Redis that stopped answering is reported (503) within
    # seconds instead of holding the request forever.
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections, timeout=10, health_check_interval=30, socket_connect_timeout=3, socket_timeout=10
    )
    return Redis(connection_pool=pool)


async def ensure_reachable(redis: Redis | None) -> None:
    """Before a change that must reach Redis after the commit (filing a request): a Redis that
    is down is a 503 with nothing stored, rather than a stored request matching never hears of."""
    if redis is not None:
        await redis.ping()
