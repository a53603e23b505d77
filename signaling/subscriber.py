"""One Redis pub/sub channel, read by a task for as long as the owner lives.

The event log's bell, presence's kicks and the classroom's room routing each listen on a
channel the same way; this is that way, written once:
- poll with a timeout and stop on a flag: redis-py's blocking read can swallow a task
  cancellation, which would leave shutdown waiting forever;
- a lost connection is logged and the channel subscribed again a second later (what each
  owner keeps meanwhile — streams, periodic checks — covers the gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class Subscriber:
    def __init__(self, redis: Redis, channel: str, on_message: Callable[[str], Awaitable[None]], what: str) -> None:
        self.r, self.channel, self.on_message, self.what = redis, channel, on_message, what
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while not self._closing:
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                while not self._closing:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                    if message and message.get("type") == "message":
                        await self.on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - resubscribe; the owner's own state covers the gap
                log.warning("%s channel lost; resubscribing", self.what, exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def aclose(self) -> None:
        self._closing = True
        if self._task is not None:
            _, pending = await asyncio.wait([self._task], timeout=3)
            for task in pending:
                task.cancel()
