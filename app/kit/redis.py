from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def make_redis(url: str, max_connections: int = 64) -> Redis:
    """A bounded pool that waits for a free connection instead of failing under a burst."""
    pool = BlockingConnectionPool.from_url(url, decode_responses=True, max_connections=max_connections,
                                           timeout=10, health_check_interval=30)
    return Redis(connection_pool=pool)
