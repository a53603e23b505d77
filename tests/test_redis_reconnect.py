"""A Redis connection dropped while it sat idle in the pool is reconnected before use: after an
outage no request fails on a connection the outage closed."""
from __future__ import annotations

import asyncio

from app.kit.redis import make_redis
from loadtest.cluster import Proxy

from . import infra


async def test_connections_closed_while_idle_serve_again_once_redis_is_back() -> None:
    host_port = infra.REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    proxy = await Proxy(host, int(port)).start()
    redis = make_redis(f"redis://127.0.0.1:{proxy.port}/0")
    try:
        await asyncio.gather(*(redis.ping() for _ in range(3)))  # three connections, now idle
        proxy.cut()  # drops every connection through it
        await asyncio.sleep(0.2)
        proxy.mend()
        assert await asyncio.gather(*(redis.ping() for _ in range(3))) == [True, True, True]
    finally:
        await redis.aclose()
        await proxy.stop()
