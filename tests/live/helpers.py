"""Real clients for live tests: HTTP over a real socket, and a websocket that records frames."""
from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import uvicorn
import websockets
from fastapi import FastAPI

from ..factories import PASSWORD


class Server:
    """The app served by uvicorn on a free port, inside the test's event loop (a real socket,
    so websockets and WebRTC signaling go over the network stack)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                                    log_level="warning", ws="websockets-sansio"))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> "Server":
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 10)
            except asyncio.TimeoutError:
                for t in asyncio.all_tasks():
                    t.print_stack(limit=6)
                self.server.force_exit = True
                await asyncio.wait_for(self.task, 10)
                raise AssertionError("the server did not stop within 10 s (task stacks printed above)")


class Client:
    def __init__(self, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.http = httpx.AsyncClient(base_url=base, timeout=10)
        self.frames: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None

    async def sign_in(self) -> "Client":
        r = await self.http.post("/api/auth/sign-in", json={"username": self.username, "password": PASSWORD})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return self

    async def connect(self, base: str | None = None, resume: bool = False) -> "Client":
        if base:
            self.base = base
            self.http.base_url = httpx.URL(base)
        ticket = (await self.http.post("/api/live/ticket")).json()["ticket"]
        url = f"{self.base.replace('http', 'ws', 1)}/ws?ticket={ticket}"
        if resume:
            url += f"&last_event_id={self.last_event_id}"
        self.ws = await websockets.connect(url, max_size=2**22)
        self.reader = asyncio.create_task(self._read())
        await self.wait_for(lambda f: f.get("type") == "hello")
        return self

    @property
    def last_event_id(self) -> int:
        return self.events[-1]["id"] if self.events else 0

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames.append(frame)
                if frame.get("type") == "event":
                    self.events.append(frame)
                self._new.set()

    async def send(self, **msg: Any) -> None:
        await self.ws.send(json.dumps(msg, ensure_ascii=False))

    async def wait_for(self, pred, timeout: float = 10.0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        async def scan() -> dict[str, Any]:
            seen = 0
            while True:
                for frame in self.frames[seen:]:
                    if pred(frame):
                        return frame
                seen = len(self.frames)
                self._new.clear()
                await self._new.wait()
        return await asyncio.wait_for(scan(), timeout)

    async def event(self, kind: str, /, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        frame = await self.wait_for(lambda f: f.get("type") == "event" and f["kind"] == kind
                                    and all(f["data"].get(k) == v for k, v in match.items()), timeout)
        return frame["data"]

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    async def drop(self) -> None:
        """Cut the connection (as a phone losing its network would)."""
        await self.ws.close()
        if self.reader:
            await self.reader

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader:
            await self.reader
        await self.http.aclose()
