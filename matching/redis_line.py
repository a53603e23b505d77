"""One pipelined connection that carries this instance's matching scripts.

Every decision is a few Lua scripts (`redis_lua`). Through redis-py's pool each call cost the
instance 65-95 us of CPU (taking and returning a pooled connection under a lock, a timeout
context per read, packing, the response machinery), about a third of a request's CPU at 200
requests/s; here a call is a write and a future, 15-20 us, and calls made together leave in one
write. Redis answers the commands of one connection in order, so replies are matched to callers
by position.

Failure semantics follow the pool's: a connection that closes fails every call in flight with
`redis.exceptions.ConnectionError` (the next call reconnects), a reply that does not come within
`timeout` fails every call in flight with `redis.exceptions.TimeoutError` and drops the
connection (whose replies could no longer be matched), and nothing is retried (a script may have
run).
"""

from __future__ import annotations

import asyncio
import collections
import socket
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class ScriptLine:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 3.0,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.connect_timeout, self.timeout = connect_timeout, timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._connecting = asyncio.Lock()
        self._watchdog: asyncio.TimerHandle | None = None
        self._failure: RedisError | None = None

    @classmethod
    def for_client(cls, redis: Redis) -> ScriptLine | None:
        """A line to the server `redis` talks to; None when that is not plain TCP (TLS, a UNIX
        socket), where the pool's own connections are used."""
        pool = redis.connection_pool
        if pool.connection_class is not Connection:
            return None
        kw = pool.connection_kwargs
        return cls(
            str(kw.get("host") or "localhost"),
            int(kw.get("port") or 6379),
            db=int(kw.get("db") or 0),
            username=kw.get("username"),
            password=kw.get("password"),
            connect_timeout=float(kw.get("socket_connect_timeout") or 3.0),
            timeout=float(kw.get("socket_timeout") or 10.0),
        )

    async def evalsha(self, sha: str, script: str | bytes | memoryview, args: tuple[Any, ...]) -> Any:
        """Run a script by its digest (loading it first if this server does not know it)."""
        try:
            return await self.call("EVALSHA", sha, 0, *args)
        except NoScriptError:
            await self.call("SCRIPT", "LOAD", bytes(script) if isinstance(script, memoryview) else script)
            return await self.call("EVALSHA", sha, 0, *args)

    async def call(self, *args: Any) -> Any:
        if self._writer is None or self._writer.is_closing():
            async with self._connecting:
                if self._writer is None or self._writer.is_closing():
                    await self._connect()
        reply = await self._send(args)
        if isinstance(reply, hiredis.ReplyError):
            text = str(reply)
            raise NoScriptError(text) if text.startswith("NOSCRIPT") else ResponseError(text)
        return reply

    def _send(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        if self._writer is None or self._writer.is_closing():  # closed while connecting
            raise self._failure or RedisConnectionError("Connection closed by server.")
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._writer.write(b"".join(parts))
        self._pending.append((fut, loop.time()))
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.timeout, self._check)
        return fut

    def _check(self) -> None:
        """One timer for the whole line: the oldest call still waiting decides."""
        self._watchdog = None
        if not self._pending:
            return
        loop = asyncio.get_running_loop()
        waited = loop.time() - self._pending[0][1]
        if waited < self.timeout:
            self._watchdog = loop.call_later(self.timeout - waited, self._check)
            return
        self._failure = RedisTimeoutError(f"Timeout reading from {self.host}:{self.port}")
        if self._writer is not None:
            self._writer.transport.abort()

    async def _connect(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise RedisConnectionError(f"Error connecting to {self.host}:{self.port}: {exc!r}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Each connection its own queue of calls in flight: a closed connection fails its own
        # calls only, even when the next one is already open.
        self._writer, self._failure, self._pending = writer, None, collections.deque()
        self._reader_task = asyncio.get_running_loop().create_task(self._read(reader, writer, self._pending))
        try:
            if self.password:
                creds = (self.username, self.password) if self.username else (self.password,)
                if isinstance(reply := await self._send(("AUTH", *creds)), hiredis.ReplyError):
                    raise RedisConnectionError(f"AUTH failed: {reply}")
            if self.db and isinstance(reply := await self._send(("SELECT", self.db)), hiredis.ReplyError):
                raise RedisConnectionError(f"SELECT failed: {reply}")
        except BaseException:
            writer.transport.abort()
            raise

    async def _read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: collections.deque[tuple[asyncio.Future[Any], float]]
    ) -> None:
        parser = hiredis.Reader(encoding="utf-8")
        error: RedisError = RedisConnectionError("Connection closed by server.")
        try:
            while data := await reader.read(65536):
                parser.feed(data)
                while (reply := parser.gets()) is not False:
                    fut, _ = pending.popleft()
                    if not fut.done():  # its caller may have been cancelled meanwhile
                        fut.set_result(reply)
        except (OSError, hiredis.ProtocolError) as exc:
            error = RedisConnectionError(f"Error while reading from {self.host}:{self.port}: {exc!r}")
        finally:
            if self._writer is writer:
                self._writer = None
            writer.transport.abort()
            error = self._failure or error
            while pending:
                fut, _ = pending.popleft()
                if not fut.done():
                    fut.set_exception(error)

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
            self._writer = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)
            self._reader_task = None
