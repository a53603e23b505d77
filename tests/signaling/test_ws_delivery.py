"""signaling/ws.py delivers a new event straight from the appender's step when the socket is
idle and caught up; a socket whose client stopped reading must hold up neither the appender nor
the order of what follows. Driven with a stand-in for Starlette's WebSocket whose writes can be
made to wait, as uvicorn's do when the transport's buffer is full."""
import asyncio
import json
from types import SimpleNamespace
from typing import Any

from starlette.websockets import WebSocketState

from signaling import InProcessEventLog
from signaling.ws import serve


class PausableSocket:
    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}  # no RawChannel: serve writes through send_text
        self.headers: dict[str, str] = {}
        self.query_params = {"ticket": "t"}
        self.client_state = WebSocketState.CONNECTED
        self.sent: list[dict[str, Any]] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def accept(self) -> None:
        return None

    async def send_text(self, text: str) -> None:
        await self.writable.wait()  # uvicorn: paused transport → the write waits
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.client_state = WebSocketState.DISCONNECTED
        self.inbox.put_nowait({"type": "websocket.disconnect"})

    def events(self) -> list[int]:
        return [f["data"]["n"] for f in self.sent if f["type"] == "event"]


class Handler:
    async def authenticate(self, ticket: str | None) -> Any:
        return SimpleNamespace(id=7)

    async def connected(self, user: Any, close: Any) -> None:
        return None

    async def message(self, user: Any, msg: Any) -> None:
        return None

    async def disconnected(self, user: Any) -> None:
        return None


async def test_events_go_out_in_order_while_the_client_stops_reading_and_the_appender_never_waits() -> None:
    log, ws = InProcessEventLog(), PausableSocket()
    task = asyncio.create_task(serve(ws, Handler(), log, allowed_origins=[], ping_s=60, idle_s=600))  # type: ignore[arg-type]
    for _ in range(100):
        if ws.sent:
            break
        await asyncio.sleep(0.01)
    assert ws.sent[0]["type"] == "hello"
    await asyncio.sleep(0.05)  # the pump is waiting for news

    await log.append(7, "chat", {"n": 1})
    assert ws.events() == [1]  # sent within the append: no pump wake-up in between

    ws.writable.clear()  # the client stops reading
    for n in range(2, 7):
        await asyncio.wait_for(log.append(7, "chat", {"n": n}), 0.5)  # never held up by the paused write
    await asyncio.sleep(0.05)
    assert ws.events() == [1]

    ws.writable.set()  # it reads again: everything follows, once each, in order
    for _ in range(100):
        if len(ws.events()) == 6:
            break
        await asyncio.sleep(0.01)
    assert ws.events() == [1, 2, 3, 4, 5, 6]
    await log.append(7, "chat", {"n": 7})
    await asyncio.sleep(0.05)
    assert ws.events() == [1, 2, 3, 4, 5, 6, 7]

    await ws.close()
    await asyncio.wait_for(task, 5)


async def test_a_quiet_socket_is_pinged_and_a_talking_one_is_not() -> None:
    async def pings_while(talk: bool) -> int:
        log, ws = InProcessEventLog(), PausableSocket()
        task = asyncio.create_task(serve(ws, Handler(), log, allowed_origins=[], ping_s=0.1, idle_s=600))  # type: ignore[arg-type]
        for _ in range(30):  # 1.5 s: ~15 heartbeats
            if talk:
                ws.inbox.put_nowait({"type": "websocket.receive", "text": '{"type": "pong"}'})
            await asyncio.sleep(0.05)
        await ws.close()
        await asyncio.wait_for(task, 5)
        assert ws.sent[0]["type"] == "hello"
        return sum(1 for f in ws.sent if f["type"] == "ping")

    assert await pings_while(talk=False) >= 10  # quiet: a ping every ping_s
    assert await pings_while(talk=True) == 0  # a frame every 50 ms: nothing to ask


async def test_a_socket_that_never_answers_is_closed_as_idle() -> None:
    log, ws = InProcessEventLog(), PausableSocket()
    task = asyncio.create_task(serve(ws, Handler(), log, allowed_origins=[], ping_s=0.05, idle_s=0.3))  # type: ignore[arg-type]
    await asyncio.wait_for(task, 5)  # serve returns: the heartbeat closed the socket
    assert ws.client_state == WebSocketState.DISCONNECTED
    assert any(f["type"] == "ping" for f in ws.sent)  # it was asked first


async def test_a_socket_that_answers_pings_is_never_closed_as_idle_even_with_a_short_idle_limit() -> None:
    # idle_s under 2 × ping_s: a socket that spoke just after one check would be past idle_s at
    # the next, so that check's ping must not be skipped for having heard from it recently.
    log, ws = InProcessEventLog(), PausableSocket()
    task = asyncio.create_task(serve(ws, Handler(), log, allowed_origins=[], ping_s=0.4, idle_s=0.5))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    ws.inbox.put_nowait({"type": "websocket.receive", "text": '{"type": "pong"}'})  # spoke between two checks
    answered = 0
    for _ in range(40):  # 2 s: five checks; the client answers every ping
        pings = sum(1 for f in ws.sent if f["type"] == "ping")
        if pings > answered:
            answered = pings
            ws.inbox.put_nowait({"type": "websocket.receive", "text": '{"type": "pong"}'})
        await asyncio.sleep(0.05)
    assert ws.client_state != WebSocketState.DISCONNECTED and not task.done()
    assert answered >= 2
    await ws.close()
    await asyncio.wait_for(task, 5)
