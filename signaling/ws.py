"""The websocket: one per client, authenticated by a short-lived ticket (never the long-lived
token in the URL), origin-checked, with heartbeats both ways and idle connections reaped.

It knows no database: an app-provided `Handler` authenticates and handles messages; the
`EventLog` carries every event to the user, resumable with `last_event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from .eager import run_eager
from .eventlog import EventLog, ResumeGap, StoredEvent, dumps
from .protocol import Chat, Ping, Pong, ProtocolError, ShareImage, parse

log = logging.getLogger(__name__)


READ_LIMIT = 500  # events a socket's pump reads at once

# Close this socket from outside (the user was suspended or signed out): code, error, detail.
Closer = Callable[[int, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Shared:
    """The handler's answer to a shared item (chat, stroke, board action, image): no frame of its
    own. A chat or an image comes back to its sender as an event of the sender's own stream
    (`own_event`, the masked text); that event carries the message's `ref` to this socket, so
    the sender gets one frame, not an ack and an echo. Strokes and board actions go to the
    other side only (`own_event` None): a `ref` gets an ack. Without a `ref`, nothing comes
    back but errors — as the floor does, one frame out per message for a stroke."""

    session_id: int
    own_event: int | None = None


class Handler(Protocol):
    async def authenticate(self, ticket: str | None) -> Any: ...
    async def connected(self, user: Any, close: Closer) -> None: ...
    async def message(self, user: Any, msg: Any) -> dict[str, Any] | Shared | None: ...
    async def disconnected(self, user: Any) -> None: ...


RAW_ASGI = "signaling.raw_asgi"


class RawChannel:
    """Pure ASGI middleware, outermost: a websocket's scope carries the server's own `receive`
    and `send` (`RAW_ASGI`), so `serve` reads and writes frames without the framework's layers
    in between (Starlette's WebSocket state checks and its exception handler's send wrapper:
    three calls per frame out, ~3 % of the loop's CPU at 1,000 live pairs). Those layers only
    matter for HTTP responses; the handshake and the close still go through Starlette."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[RAW_ASGI] = (receive, send)
        await self.app(scope, receive, send)


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (mobile app, test peer): the ticket is what authenticates
    if allowed:
        return origin in allowed
    return urlparse(origin).netloc == websocket.headers.get("host")


async def serve(
    websocket: WebSocket,
    handler: Handler,
    events: EventLog,
    *,
    allowed_origins: list[str],
    ping_s: float,
    idle_s: float,
    rate: Callable[[str | None], None] | None = None,
) -> None:
    """`rate`: this socket's throttle, called once per frame — `rate("chat")` for a chat,
    `rate(None)` for any other frame, valid or not; it raises ProtocolError("TooManyMessages", …)
    when the socket sends too fast.

    Per frame in: one `parse` (json + pydantic), the throttle, the handler; per frame out: one
    write of text that is, for events, serialised already (StoredEvent.text)."""
    if not origin_allowed(websocket, allowed_origins):
        await websocket.close(code=4403, reason="origin not allowed")
        return
    await websocket.accept()
    lock = asyncio.Lock()
    raw = websocket.scope.get(RAW_ASGI)
    write: Callable[[str], Awaitable[None]] = websocket.send_text
    receive: Callable[[], Awaitable[Message]] = websocket.receive
    if raw is not None:  # the server's own channel (RawChannel): frames skip the framework's layers
        receive, asgi_send = raw

        def write(text: str) -> Awaitable[None]:
            return asgi_send({"type": "websocket.send", "text": text})

    # The client disconnected (its message reached on_frame) or this side closed (close_socket):
    # nothing more is written. Starlette's own client_state does not see the disconnect on the
    # server's channel, so this flag is the one check, on both channels.
    gone = [False]

    async def send(frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else dumps(frame)
        async with lock:
            if not gone[0]:
                await write(text)

    async def close_socket(code: int, reason: str) -> None:
        if not gone[0]:
            gone[0] = True
            with contextlib.suppress(RuntimeError, OSError):  # the client may be gone already
                await websocket.close(code=code, reason=reason)

    try:
        user = await handler.authenticate(websocket.query_params.get("ticket"))
    except ProtocolError as exc:
        await send(exc.frame())
        # 1013 "try again later": the handler could not check the ticket just now (its
        # database or presence store did not answer); 4401 for a ticket it refuses.
        await websocket.close(code=1013 if exc.code == "Unavailable" else 4401, reason=exc.code)
        return
    raw_last = websocket.query_params.get("last_event_id")
    last = int(raw_last) if raw_last and raw_last.isdigit() else None
    seen = [time.monotonic()]
    # Own events not sent yet whose frame carries a ref: event id → (ref, session id). Filled
    # only while the pump has not passed that id (see `Shared`), emptied as the pump sends.
    refs: dict[int, tuple[str, int]] = {}
    # Held by the pump while it reads and sends, and by a chat or an image with a ref while it
    # is handled: on Redis the event's bell can overtake the script's reply, and the pump would
    # send the sender's copy before its ref is known. Only messages with a ref wait (the page
    # sends none), for at most the one relay call.
    hold = asyncio.Lock()

    def ack(ref: str, session_id: int) -> dict[str, Any]:
        return {"type": "ack", "ref": ref, "session_id": session_id}

    def offer(event: StoredEvent) -> bool:
        """The event log's offer of a new event (see EventLog.bell): taken and sent at once if
        this socket is idle and has sent everything before it — no pump read, no lock wait.
        Declined when the pump or a message with a ref holds `hold` (a ref's frame must carry
        it), when a frame is being written (`lock`: a transport the client stopped reading),
        or when it is not the next one; the bell then rings and the pump reads it in order."""
        nonlocal last
        if last is None or event.id != last + 1 or hold.locked() or lock.locked():
            return False
        last = event.id
        run_eager(push(event.text()))  # returns at once unless the transport is paused
        return True

    async def push(text: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # closing: its serve loop ends it
            await send(text)

    async def pump() -> None:
        nonlocal last
        if last is None:
            last = await events.latest(user.id)
        await send({"type": "hello", "user_id": user.id, "last_event_id": last})
        bell = events.bell(user.id, offer)
        try:
            while True:
                bell.clear()
                async with hold:
                    try:
                        batch = await events.read(user.id, last, READ_LIMIT)
                    except ResumeGap as gap:
                        await send(
                            {
                                "type": "error",
                                "error": "ResumeGap",
                                "latest": gap.latest,
                                "detail": "missed events are no longer kept; re-fetch your state",
                            }
                        )
                        last = gap.latest
                        for event_id in [i for i in refs if i <= gap.latest]:  # skipped: their refs still get an answer
                            await send(ack(*refs.pop(event_id)))
                        continue
                    for event in batch:
                        last = event.id  # before the send: from here on a new ref for it gets an ack instead
                        mine = refs.pop(event.id, None) if refs else None
                        await send(event.text(mine[0] if mine else None))
                if len(batch) < READ_LIMIT and not bell.is_set():
                    # Nothing more than what was read unless the bell rang meanwhile (the bell
                    # was cleared before the read). Reading again anyway found nothing, and on
                    # Redis an empty read more than a second after the last stream read asks the
                    # stream: ~300 stream reads a second at 200 pairs, one per socket per second.
                    # No timeout per wait (it cost a timer handle per event): a bell lost on its
                    # way between instances is covered by the event log ringing every bell
                    # now and then (RedisEventLog: every 5 s), after which `read` asks the stream.
                    await bell.wait()
        finally:
            events.unbell(user.id, bell)

    async def heartbeat() -> None:
        """A ping to a socket that has been quiet for `ping_s`; closed once quiet for `idle_s`.
        A socket that spoke meanwhile is plainly alive and is not pinged: at 1,000 live pairs
        the pings and their pongs were ~200 frames a second, each pong a full pass through
        `on_frame`, telling nothing the chat had not. It is pinged anyway when the next check
        could find it past `idle_s` (an `idle_s` under 2 × `ping_s`): no socket is closed as
        idle without having been asked first."""
        while True:
            await asyncio.sleep(ping_s)
            quiet = time.monotonic() - seen[0]
            if quiet > idle_s:
                await close_socket(4408, "idle")
                return
            if quiet >= ping_s or quiet + ping_s > idle_s:
                await send({"type": "ping", "at": time.time()})

    async def close(code: int, error: str, detail: str) -> None:
        await send({"type": "error", "error": error, "detail": detail})
        await close_socket(code, error)

    async def on_frame(message: Message) -> bool:
        """One frame from the client, answered; False once the client has gone."""
        if message["type"] == "websocket.disconnect":
            gone[0] = True
            return False
        seen[0] = time.monotonic()
        data: str | bytes = message["text"] if message.get("text") is not None else message.get("bytes") or b""
        msg = None
        try:
            try:
                msg = parse(data)
            except ProtocolError:
                if rate is not None:  # every frame counts, valid or not
                    rate(None)
                raise
            if rate is not None:  # one call: the frame's buckets, and a chat's own
                rate("chat" if msg.type == "chat" else None)
            if isinstance(msg, Ping):
                await handler.message(user, msg)
                await send({"type": "pong", "ref": msg.ref})
                return True
            if msg.ref is not None and isinstance(msg, (Chat, ShareImage)):
                async with hold:
                    reply = await handler.message(user, msg)
                    if isinstance(reply, Shared) and reply.own_event is not None and last is not None and reply.own_event > last:
                        refs[reply.own_event] = (msg.ref, reply.session_id)  # the pump sends it next, with the ref
                        return True
            else:
                reply = await handler.message(user, msg)
        except ProtocolError as exc:
            if exc.ref is None and msg is not None:
                exc.ref = msg.ref
            await send(exc.frame())
            return True
        except Exception:  # noqa: BLE001 - an unforeseen failure answers this frame, the socket stays
            log.exception("websocket message failed")
            await send({"type": "error", "error": "ServerError", "detail": "this message could not be handled", "ref": getattr(msg, "ref", None)})
            return True
        if isinstance(reply, Shared):
            if msg.ref is not None:  # a stroke or a board action (or a copy already gone out): an ack
                await send(ack(msg.ref, reply.session_id))
            return True
        if reply is not None and not isinstance(msg, Pong):
            await send(reply)
        return True

    tasks: list[asyncio.Task[None]] = []
    try:
        # Registered before `hello` goes out: a client that resumes here and then closes its old
        # socket on another instance must already count as present, or that instance, finding no
        # socket of the user anywhere, announces `lost` to the other participant.
        await handler.connected(user, close)
        tasks = [asyncio.create_task(pump()), asyncio.create_task(heartbeat())]
        # The frame is handled in its own call, so nothing of it (its dict, text, parsed model —
        # a stroke's is 26 lists — and the reply) stays referenced while the socket waits for
        # the next one: held by the loop's variables for the ~1 s until then, each was walked by
        # the collector's young passes and frozen (app/kit/runtime.py), ~50 tracked objects per
        # socket at 1,000 pairs.
        while await on_frame(await receive()):
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            done, _ = await asyncio.wait(tasks, timeout=5)
            for task in done:  # a pump caught sending as the socket closed: expected, not news
                if not task.cancelled():
                    task.exception()
        try:
            await handler.disconnected(user)
        except Exception:  # noqa: BLE001 - a failed presence update must not leak the socket
            log.exception("disconnect handling failed")
