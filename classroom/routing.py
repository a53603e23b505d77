"""Rooms across instances: the first instance to create a class's room owns it (a Redis key);
an instance whose websocket receives a student's offer, or a floor change, for a room it does not
own asks the owner over Redis and waits for the answer. The media then flows between the
student and the owner (its ICE candidates are in the answer), so a class is one room whatever
instance each participant's websocket lands on. Without Redis there is one instance: no routing.

Cost: one GET per media call, and for a remote room one PUBLISH and one BLPOP round trip — once
per connection or floor change, never per packet.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from signaling.subscriber import Subscriber

from . import MediaBackend, MediaUnavailable

log = logging.getLogger(__name__)

OWNER_TTL_S = 4 * 3600
RPC_TIMEOUT_S = 10


class RoutedMedia:
    def __init__(self, local: MediaBackend, redis: Any, prefix: str) -> None:
        self.local, self.r, self.prefix = local, redis, prefix
        self.name = local.name
        self.instance = secrets.token_hex(6)
        self.channel = f"{prefix}classroom:instance:{self.instance}"
        self._listener: Subscriber | None = None

    def _owner_key(self, room_id: int) -> str:
        return f"{self.prefix}classroom:owner:{room_id}"

    async def start(self) -> None:
        async def serve(data: str) -> None:
            asyncio.create_task(self._serve(json.loads(data)))  # a slow request does not hold the channel

        self._listener = Subscriber(self.r, self.channel, serve, "classroom")
        self._listener.start()

    async def _owner(self, room_id: int) -> str | None:
        return await self.r.get(self._owner_key(room_id))

    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        owner = await self._owner(room_id)
        if owner is None and await self.r.set(self._owner_key(room_id), self.instance, nx=True, ex=OWNER_TTL_S):
            owner = self.instance
        if owner is None:
            owner = await self._owner(room_id)
        if owner == self.instance:
            await self.local.create_room(room_id, record_to=record_to)

    async def _call(self, op: str, room_id: int, *args: Any) -> Any:
        owner = await self._owner(room_id)
        if owner is None or owner == self.instance:
            return await getattr(self.local, op)(room_id, *args)
        rid = secrets.token_hex(8)
        reply = f"{self.prefix}classroom:reply:{rid}"
        listeners = await self.r.publish(f"{self.prefix}classroom:instance:{owner}",
                                         json.dumps({"id": rid, "op": op, "room": room_id, "args": list(args)}))
        if not listeners:
            raise MediaUnavailable("the instance that holds this class's media is gone")
        got = await self.r.blpop([reply], timeout=RPC_TIMEOUT_S)
        if got is None:
            raise MediaUnavailable("the instance that holds this class's media did not answer")
        out = json.loads(got[1])
        if "error" in out:
            raise (ValueError if out["error"] == "ValueError" else MediaUnavailable)(out["detail"])
        return out.get("result")

    async def publish(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._call("publish", room_id, user_id, offer_sdp)

    async def subscribe(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._call("subscribe", room_id, user_id, offer_sdp)

    async def give_floor(self, room_id: int, user_id: int) -> None:
        await self._call("give_floor", room_id, user_id)

    async def take_floor(self, room_id: int) -> None:
        await self._call("take_floor", room_id)

    async def leave(self, room_id: int, user_id: int) -> None:
        await self._call("leave", room_id, user_id)

    async def close_room(self, room_id: int) -> None:
        await self._call("close_room", room_id)
        if await self._owner(room_id) == self.instance:
            await self.r.delete(self._owner_key(room_id))

    def stats(self, room_id: int) -> dict[str, Any]:
        return self.local.stats(room_id)

    async def _serve(self, req: dict[str, Any]) -> None:
        try:
            result = await getattr(self.local, req["op"])(req["room"], *req["args"])
            out: dict[str, Any] = {"result": result}
        except Exception as exc:  # noqa: BLE001 - the caller gets the reason
            out = {"error": type(exc).__name__, "detail": str(exc) or type(exc).__name__}
        reply = f"{self.prefix}classroom:reply:{req['id']}"
        await self.r.rpush(reply, json.dumps(out))
        await self.r.expire(reply, 60)

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()
        for room_id in list(getattr(self.local, "rooms", {})):
            if await self._owner(room_id) == self.instance:
                await self.r.delete(self._owner_key(room_id))
        await self.local.aclose()
