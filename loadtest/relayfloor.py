"""The floor `loadtest.signaling` compares the service with: a bare FastAPI websocket relay (no
auth, no database, no validation) and a bare echo, served by the same uvicorn as the service.

    uvicorn loadtest.relayfloor:create_app --factory --fd 3

`/relay?pair=7&side=a` forwards every frame verbatim to `pair=7&side=b` and back. With
`FLOOR_REDIS_URL` set, the two sides may sit on different processes: each socket subscribes to
its own channel and a frame is PUBLISHed to the other side's (one round trip through Redis, as
the service's cross-instance relay needs at least). `/echo` sends every frame back.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from redis.asyncio import BlockingConnectionPool, Redis


def create_app() -> FastAPI:
    peers: dict[str, WebSocket] = {}
    redis_url = os.environ.get("FLOOR_REDIS_URL")
    prefix = os.environ.get("FLOOR_PREFIX", "floor:")
    state: dict[str, object] = {}

    async def dispatch(pubsub) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message and message.get("type") == "message":
                target = peers.get(message["channel"][len(prefix):])
                if target is not None:
                    with contextlib.suppress(Exception):
                        await target.send_text(message["data"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not redis_url:
            yield
            return
        # The service's pool (app/kit/redis.py): bounded, waiting for a free connection — with
        # redis-py's unbounded default, 200 pairs' concurrent PUBLISHes failed with "Too many connections".
        redis = Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, decode_responses=True,
                                                                      max_connections=64, timeout=10))
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(prefix + "_")  # get_message needs a subscription to read from
        state.update(redis=redis, pubsub=pubsub)
        reader = asyncio.create_task(dispatch(pubsub))
        try:
            yield
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await pubsub.aclose()
            await redis.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/relay")
    async def relay(ws: WebSocket, pair: str, side: str) -> None:
        await ws.accept()
        me, other = f"{pair}:{side}", f"{pair}:{'b' if side == 'a' else 'a'}"
        peers[me] = ws
        redis, pubsub = state.get("redis"), state.get("pubsub")
        if pubsub is not None:
            await pubsub.subscribe(prefix + me)  # type: ignore[attr-defined]
        try:
            while True:
                text = await ws.receive_text()
                target = peers.get(other)
                if target is not None:
                    await target.send_text(text)
                elif redis is not None:
                    await redis.publish(prefix + other, text)  # type: ignore[attr-defined]
        except WebSocketDisconnect:
            pass
        finally:
            peers.pop(me, None)
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.unsubscribe(prefix + me)  # type: ignore[attr-defined]

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await ws.send_text(await ws.receive_text())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
