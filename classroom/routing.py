"""Rooms across instances: the first instance to create a class's room owns it (a Redis key);
an instance whose websocket receives a student's offer, or a floor change, for a room it does not
own asks the owner over Redis and waits for the answer. The media then flows between the
student and the owner (its ICE candidates are in the answer), so a class is one room whatever
instance each participant's websocket lands on. Without Redis there is one instance: no routing.

Cost: one GET per media call, and for a remote room one PUBLISH and one BLPOP round trip — once
per connection or floor change, never per packet.

A room outlives its instance: an owner is alive while its channel has a subscriber (PUBSUB
NUMSUB; a killed process's connection is gone with it). `adopt()`, run by every instance's
class timer for each live class, finds an owner dead on two checks in a row and takes the room
over with a compare-and-set on the owner key (one instance wins); the winner creates the room
and calls `on_takeover`, which tells the class's participants to connect their media again
(their offers then reach the new owner, and the class's records — who is in, the floor, the
board — are in the database, not in the room). A connection offered for a room whose owner is
dead takes it over the same way. An instance that finds it no longer owns a room it holds (it
was taken over during a Redis outage of its own) closes its copy. Cost of the watch: per live
class and instance, one GET a second, and one PUBSUB NUMSUB a second where the owner is another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from signaling.subscriber import Subscriber

from . import MediaBackend, MediaUnavailable

log = logging.getLogger(__name__)

OWNER_TTL_S = 4 * 3600
RPC_TIMEOUT_S = 10
_TAKE_OVER = """if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0"""


class RoutedMedia:
    def __init__(self, local: MediaBackend, redis: Any, prefix: str) -> None:
        self.local, self.r, self.prefix = local, redis, prefix
        self.name = local.name
        self.instance = secrets.token_hex(6)
        self.channel = f"{prefix}classroom:instance:{self.instance}"
        self._listener: Subscriber | None = None
        self.on_takeover: Callable[[int], Awaitable[None]] | None = None
        self._suspect: dict[int, str] = {}  # room → the owner found dead on the last check

    def _owner_key(self, room_id: int) -> str:
        return f"{self.prefix}classroom:owner:{room_id}"

    async def start(self) -> None:
        async def serve(data: str) -> None:
            asyncio.create_task(self._serve(json.loads(data)))  # a slow request does not hold the channel

        self._listener = Subscriber(self.r, self.channel, serve, "classroom")
        self._listener.start()

    async def _owner(self, room_id: int) -> str | None:
        return await self.r.get(self._owner_key(room_id))

    async def _alive(self, owner: str) -> bool:
        channels = await self.r.pubsub_numsub(f"{self.prefix}classroom:instance:{owner}")
        return bool(channels and int(channels[0][1]) > 0)

    async def _take_over(self, room_id: int, dead: str, record_to: Path | None) -> bool:
        won = await self.r.eval(_TAKE_OVER, 1, self._owner_key(room_id), dead, self.instance, OWNER_TTL_S)
        if not won:
            return False
        log.warning("class room %s: instance %s is gone; this instance (%s) takes the room over", room_id, dead, self.instance)
        await self.local.create_room(room_id, record_to=record_to)
        if self.on_takeover is not None:
            await self.on_takeover(room_id)
        return True

    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        owner = await self._owner(room_id)
        if owner is None and await self.r.set(self._owner_key(room_id), self.instance, nx=True, ex=OWNER_TTL_S):
            owner = self.instance
        if owner is None:
            owner = await self._owner(room_id)
        if owner is not None and owner != self.instance and not await self._alive(owner):
            await self._take_over(room_id, owner, record_to)  # someone's offer found the owner dead
            owner = await self._owner(room_id)
        if owner == self.instance:
            await self.local.create_room(room_id, record_to=record_to)

    async def adopt(self, room_id: int, *, record_to: Path | None = None) -> bool:
        """For a live class: take its room over if its owner has been dead on two checks in a
        row (a one-off miss — the owner resubscribing after a blip — is not death); close this
        instance's copy if another instance owns the room now. True if taken over."""
        owner = await self._owner(room_id)
        local_rooms = getattr(self.local, "rooms", {})
        if owner != self.instance and room_id in local_rooms:
            await self.local.close_room(room_id)
        if owner is None or owner == self.instance:
            self._suspect.pop(room_id, None)
            return False
        if await self._alive(owner):
            self._suspect.pop(room_id, None)
            return False
        if self._suspect.get(room_id) != owner:
            self._suspect[room_id] = owner
            return False
        self._suspect.pop(room_id, None)
        return await self._take_over(room_id, owner, record_to)

    async def _call(self, op: str, room_id: int, *args: Any) -> Any:
        owner = await self._owner(room_id)
        if owner is None or owner == self.instance:
            return await getattr(self.local, op)(room_id, *args)
        rid = secrets.token_hex(8)
        reply = f"{self.prefix}classroom:reply:{rid}"
        listeners = await self.r.publish(
            f"{self.prefix}classroom:instance:{owner}", json.dumps({"id": rid, "op": op, "room": room_id, "args": list(args)})
        )
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
