"""Class media in Janus, the native media server, driven by the service over Janus's WebSocket API.

The browser's protocol does not change: each participant's page sends its one offer over the
service's websocket (`class_signal`), the service passes it to Janus and returns Janus's answer.
Each connection is a handle of Janus's Duktape plugin running `classroom/janus/classroom.js`
(installed by scripts/ensure-janus.sh), which tells the plugin who hears whom; the plugin's C
code relays the tutor's (or the floor holder's) Opus packets to every listener without decoding
them. Janus's API secret stays here: the browser sees SDP only.

    nobody has the floor:      the tutor is heard by every student
    a student has the floor:   the floor holder is heard by the tutor and the class; they hear the tutor

(The aiortc backend mixes the tutor and the floor holder for the class; Janus forwards packets
and a page has one audio line, so the class hears one voice at a time: the floor holder while
they hold it.)

One Janus session per backend (kept alive every `KEEPALIVE_S`), one control handle for the rooms,
one handle per connection. The rooms live in Janus, so every instance of the service drives them
alike: each attaches the participants whose websocket it holds, and any instance moves the floor
or closes the room (no routing between instances; a dead instance's connections go with its
Janus session). Every call has a deadline: a Janus that is down or stuck gives
`MediaUnavailable` within `timeout_s`, never a hang. Rooms are named `<prefix><class id>` so
that several deployments (or test runs) can share one Janus; `list_rooms()` lists this prefix's
rooms for the start-up reconciliation (app/classes/dispatch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from pathlib import Path
from typing import Any

from .errors import MediaUnavailable

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.classroom"
KEEPALIVE_S = 20.0  # Janus drops a session after 60 s without a request


class JanusError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code, self.reason = code, reason


class JanusApi:
    """One WebSocket to Janus: requests matched to their replies by transaction."""

    def __init__(self, url: str, api_secret: str | None, timeout_s: float, on_hangup: Any = None) -> None:
        self.url, self.secret, self.timeout_s = url, api_secret, timeout_s
        self.on_hangup = on_hangup  # called with a handle whose connection went down
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.pending: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []  # asynchronous events without a transaction (webrtcup, hangup…)
        self.lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return self.ws is not None and self.reader is not None and not self.reader.done()

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        try:
            self.ws = await asyncio.wait_for(
                connect(
                    self.url,
                    subprotocols=["janus-protocol"],  # type: ignore[list-item]  # websockets types subprotocols as its Subprotocol NewType
                    open_timeout=self.timeout_s,
                    max_size=2**22,
                ),
                self.timeout_s,
            )
        except (TimeoutError, OSError, Exception) as exc:  # noqa: BLE001 - refused, timed out, bad handshake
            raise MediaUnavailable(f"the class media server (Janus at {self.url}) is not answering: {type(exc).__name__}") from None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                q = self.pending.get(msg.get("transaction", ""))
                if q is not None:
                    q.put_nowait(msg)
                elif msg.get("janus") in ("webrtcup", "hangup", "media", "slowlink", "detached", "timeout"):
                    self.events.append(msg)
                    del self.events[:-200]
                    if msg["janus"] == "hangup" and self.on_hangup is not None and "sender" in msg:
                        self.on_hangup(int(msg["sender"]))
        except Exception:  # noqa: BLE001 - the socket closed: every waiter is told below
            pass
        finally:
            for q in self.pending.values():
                q.put_nowait({"janus": "closed"})

    async def call(self, janus: str, *, want_event: bool = False, **fields: Any) -> dict[str, Any]:
        """One request; its `success` (or, for a message answered later, its `event`)."""
        if not self.open:
            raise MediaUnavailable(f"the class media server (Janus at {self.url}) is not connected")
        tr = secrets.token_hex(8)
        req = {"janus": janus, "transaction": tr, **fields}
        if self.secret:
            req["apisecret"] = self.secret
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.pending[tr] = q
        try:
            await asyncio.wait_for(self.ws.send(json.dumps(req)), self.timeout_s)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            while True:
                msg = await asyncio.wait_for(q.get(), max(0.01, deadline - loop.time()))
                kind = msg.get("janus")
                if kind == "closed":
                    raise MediaUnavailable("the connection to the class media server (Janus) closed")
                if kind == "error":
                    err = msg.get("error", {})
                    raise JanusError(int(err.get("code", 0)), str(err.get("reason", "")))
                if kind == "ack" and want_event:
                    continue  # the plugin answers later, in an event with this transaction
                return msg
        except TimeoutError:
            raise MediaUnavailable(f"the class media server (Janus) did not answer {janus} within {self.timeout_s} s") from None
        except OSError as exc:
            raise MediaUnavailable(f"the class media server (Janus) is unreachable: {exc}") from None
        finally:
            self.pending.pop(tr, None)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        self.ws = self.reader = None


class JanusBackend:
    """`MediaBackend` on Janus (see the module's docstring)."""

    name = "janus"

    def __init__(self, url: str, api_secret: str | None = None, *, room_prefix: str = "tutoring:class-", timeout_s: float = 5.0) -> None:
        if not url:
            raise ValueError("TUTORING_CLASS_MEDIA=janus needs TUTORING_JANUS_URL (ws://host:port of Janus's WebSocket API)")
        self.url, self.prefix = url, room_prefix
        self.api = JanusApi(url, api_secret, timeout_s, on_hangup=self._hung_up)
        self.session: int | None = None
        self.control: int | None = None
        self.handles: dict[tuple[int, int], int] = {}  # (room, user) -> handle of their connection
        self.rooms: dict[int, dict[str, Any]] = {}  # rooms this backend created, with their last stats
        self.loops = 0  # Janus's static event loops, when it lets the API pick one (else 0: Janus picks)
        self.keepalive: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    # --- the Janus session -----------------------------------------------------------------------
    async def _ready(self) -> None:
        """Connected, with a session and a control handle; reconnects after Janus went away."""
        if self.api.open and self.session is not None and self.control is not None:
            return
        async with self.lock:
            if self.api.open and self.session is not None and self.control is not None:
                return
            await self.api.close()
            self.session = self.control = None
            self.handles.clear()
            await self.api.connect()
            try:
                info = await self.api.call("info")
                loops = int(info.get("static-event-loops") or 0)
                self.loops = loops if loops > 1 and info.get("loop-indication") else 0
                self.session = int((await self.api.call("create"))["data"]["id"])
                self.control = await self._attach()
            except JanusError as exc:
                await self.api.close()
                raise MediaUnavailable(f"the class media server (Janus) refused the service: {exc.reason}") from None
            if self.keepalive is None or self.keepalive.done():
                self.keepalive = asyncio.create_task(self._keepalive())

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            if self.session is None or not self.api.open:
                continue
            try:
                await self.api.call("keepalive", session_id=self.session)
            except Exception:  # noqa: BLE001 - the next call reconnects
                log.warning("Janus keepalive failed; the next class media call reconnects")
                self.session = None

    def _hung_up(self, handle: int) -> None:
        """A connection went down (the page left, ICE failed, or another instance closed the room):
        its handle is of no further use."""
        for key, h in list(self.handles.items()):
            if h == handle:
                del self.handles[key]
                asyncio.get_running_loop().create_task(self._detach(handle))

    async def _attach(self, room: str | None = None) -> int:
        """A new handle. A room's connections all go to one of Janus's event loops (the same on
        every instance: chosen by the room's name): the tutor's packet is then relayed to its
        listeners by the thread that received it, in one pass, instead of waking another loop's
        thread for every listener's copy. Rooms spread over the loops (the cores)."""
        fields: dict[str, Any] = {}
        if room is not None and self.loops:
            fields["loop_index"] = zlib.crc32(room.encode()) % self.loops
        out = await self.api.call("attach", session_id=self.session, plugin=PLUGIN, **fields)
        return int(out["data"]["id"])

    async def _detach(self, handle: int) -> None:
        with contextlib.suppress(JanusError, MediaUnavailable):
            await self.api.call("detach", session_id=self.session, handle_id=handle)

    async def _control(self, **body: Any) -> dict[str, Any]:
        await self._ready()
        try:
            out = await self.api.call("message", session_id=self.session, handle_id=self.control, body=body)
        except JanusError as exc:
            raise MediaUnavailable(f"the class media server (Janus) refused {body.get('request')}: {exc.reason}") from None
        data = out.get("plugindata", {}).get("data", {})
        if data.get("classroom") == "error":
            raise KeyError(data.get("error", "classroom error"))
        return data

    def _room(self, room_id: int) -> str:
        return f"{self.prefix}{room_id}"

    # --- MediaBackend ----------------------------------------------------------------------------
    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        """Idempotent. With `record_to`, Janus records the tutor and each floor holder (Opus in
        .mjr files) in the recordings folder next to its configuration (see the README)."""
        await self._control(request="create", room=self._room(room_id), record=record_to is not None)
        self.rooms.setdefault(room_id, {})

    async def _connect(self, room_id: int, user_id: int, offer_sdp: str, role: str) -> str:
        if not offer_sdp.strip().startswith("v="):
            raise ValueError("not an SDP offer")
        await self._ready()
        old = self.handles.pop((room_id, user_id), None)
        if old is not None:
            await self._detach(old)
        handle = await self._attach(self._room(room_id))
        try:
            out = await self.api.call(
                "message",
                want_event=True,
                session_id=self.session,
                handle_id=handle,
                body={"request": "join", "room": self._room(room_id), "user": user_id, "role": role},
                jsep={"type": "offer", "sdp": offer_sdp},
            )
        except JanusError as exc:
            await self._detach(handle)
            raise ValueError(exc.reason) from None  # Janus refuses SDP it cannot parse (JSEP errors)
        except BaseException:
            await self._detach(handle)
            raise
        data = out.get("plugindata", {}).get("data", {})
        if data.get("classroom") != "joined" or "jsep" not in out:
            await self._detach(handle)
            reason = str(data.get("error", "no answer"))
            if reason == "no such room":  # Janus restarted between create_room and this offer
                raise MediaUnavailable(f"the class media server (Janus) lost room {room_id}; connect again")
            raise ValueError(reason)
        self.handles[(room_id, user_id)] = handle
        return str(out["jsep"]["sdp"])

    async def publish(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._connect(room_id, user_id, offer_sdp, "tutor")

    async def subscribe(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._connect(room_id, user_id, offer_sdp, "student")

    async def give_floor(self, room_id: int, user_id: int) -> None:
        with contextlib.suppress(KeyError):
            await self._control(request="floor", room=self._room(room_id), user=user_id)

    async def take_floor(self, room_id: int) -> None:
        with contextlib.suppress(KeyError):
            await self._control(request="floor", room=self._room(room_id), user=None)

    async def leave(self, room_id: int, user_id: int) -> None:
        """Their connection goes, whichever instance made it (the room is Janus's, shared by all)."""
        handle = self.handles.pop((room_id, user_id), None)
        if handle is not None and self.api.open:
            await self._detach(handle)
        with contextlib.suppress(KeyError):
            await self._control(request="leave", room=self._room(room_id), user=user_id)

    async def close_room(self, room_id: int) -> None:
        for key in [k for k in self.handles if k[0] == room_id]:
            handle = self.handles.pop(key, None)  # a hangup event may have taken it meanwhile
            if handle is not None and self.api.open:
                await self._detach(handle)
        self.rooms.pop(room_id, None)
        await self._control(request="destroy", room=self._room(room_id))

    async def room_stats(self, room_id: int) -> dict[str, Any]:
        """Janus's own view of the room (participants, connected, floor, tutor); {} if none."""
        try:
            data = await self._control(request="stats", room=self._room(room_id))
        except KeyError:
            self.rooms.pop(room_id, None)
            return {}
        out = {k: data[k] for k in ("participants", "connected", "floor", "tutor")}
        if room_id in self.rooms:
            self.rooms[room_id] = out
        return out

    def stats(self, room_id: int) -> dict[str, Any]:
        """The last figures read from Janus (`room_stats` refreshes them); {} when the room is gone."""
        if room_id not in self.rooms:
            return {}
        return {"participants": sum(1 for r, _ in self.handles if r == room_id), "floor": None, **self.rooms[room_id]}

    async def list_rooms(self) -> list[int]:
        """The class ids of this prefix's rooms in Janus (whoever created them)."""
        data = await self._control(request="list", prefix=self.prefix)
        return [int(n[len(self.prefix) :]) for n in data.get("rooms", []) if n[len(self.prefix) :].isdigit()]

    async def reconcile(self, live: set[int]) -> list[int]:
        """Destroy the rooms of classes that are not live (left by a crashed instance); returns them."""
        orphans = [r for r in await self.list_rooms() if r not in live]
        for room_id in orphans:
            await self._control(request="destroy", room=self._room(room_id))
        return orphans

    async def aclose(self) -> None:
        if self.keepalive is not None:
            self.keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keepalive
        if self.api.open:
            for room_id in list(self.rooms):
                with contextlib.suppress(Exception):
                    await self.close_room(room_id)
            if self.session is not None:
                with contextlib.suppress(Exception):
                    await self.api.call("destroy", session_id=self.session)
        await self.api.close()
