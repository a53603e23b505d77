"""A session's shared items (chat, strokes, board actions, images): relayed to the recipients'
event streams and queued for the transcript in one step, off the database.

Per message: one Redis round trip (a Lua script that checks the session is not ended, takes the
session's next transcript seq, XADDs the transcript row to one stream, appends the event to
each recipient's stream and publishes it with the bell, so that the recipient's instance sends
it without reading the stream) on production; a few dict operations on the embedded setup. The
transcript rows are written to the database in batches by a writer (app/live/transcript.py)
that `take`s them and `ack`s them once committed. On Redis the rows wait in a Stream read by a
consumer group: a writer that dies before its commit leaves them pending, and any instance's
writer claims them after `claim_idle_ms` — nothing between receipt and the database is held
only by an instance. In-process (embedded) they wait in a list, flushed on shutdown.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from .eventlog import InProcessEventLog, RedisEventLog, dumps


class SessionClosed(Exception):
    """The session has ended: nothing more is relayed or recorded."""


class Row(NamedTuple):
    """A transcript row on its way to the database (`Relay.take`). While it waits in the
    in-process queue it is kept as a plain tuple: the collector stops tracking a plain tuple of
    numbers and strings at its first pass, but not a NamedTuple (CPython untracks exact tuples
    only), and every row waits up to the writer's 0.25 s — walked by a young pass and a gen-1
    pass each, ~2,000 a second at 1,000 live pairs."""

    session_id: int
    seq: int
    kind: str
    sender_id: int | None
    body: str  # JSON as delivered (chat masked), with its seq
    raw: str | None
    flagged: bool
    at: float


class Relayed(NamedTuple):
    """What `send` did: the item's transcript seq, and the id each recipient's event got in
    that recipient's stream (the sender's own copy answers its `ref`: signaling/ws.py)."""

    seq: int
    events: dict[int, int]


def _open_body(data: dict[str, Any]) -> str:
    """The event's JSON up to its closing brace, ending with `"seq":` — the seq is appended
    where it is allocated (in Redis, atomically with the relay)."""
    return dumps(data)[:-1] + ',"seq":'


class Relay(ABC):
    @abstractmethod
    async def send(
        self,
        session_id: int,
        kind: str,
        sender: int,
        data: dict[str, Any],
        recipients: list[int],
        at: float,
        raw: str | None = None,
        flagged: bool = False,
    ) -> Relayed:
        """Deliver `data` (+ its transcript seq) as event `kind` to `recipients` and queue its row.
        Returns the seq and the recipients' event ids; raises SessionClosed once the session has
        been marked ended."""

    @abstractmethod
    async def start_seq(self, session_id: int, seq: int) -> None:
        """The database's last seq of a session (first sight of it on this instance): numbering
        continues from there even if the relay's own counter was lost."""

    @abstractmethod
    async def close_session(self, session_id: int) -> None: ...

    @abstractmethod
    async def take(self, limit: int, wait_s: float) -> list[tuple[str, Row]]:
        """Rows waiting for the database (with a token to ack), oldest first."""

    @abstractmethod
    async def ack(self, tokens: list[str]) -> None: ...

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class InProcessRelay(Relay):
    def __init__(self, events: InProcessEventLog) -> None:
        self.events = events
        self.seq: dict[int, int] = defaultdict(int)
        self.closed: set[int] = set()
        self.rows: list[tuple[Any, ...]] = []  # Row's fields as a plain tuple (see Row)
        self._more = asyncio.Event()

    async def send(
        self,
        session_id: int,
        kind: str,
        sender: int,
        data: dict[str, Any],
        recipients: list[int],
        at: float,
        raw: str | None = None,
        flagged: bool = False,
    ) -> Relayed:
        if session_id in self.closed:
            raise SessionClosed(session_id)
        self.seq[session_id] += 1
        seq = self.seq[session_id]
        body = _open_body(data) + f"{seq}}}"  # serialised once: every recipient's frame and the row
        events = {user_id: await self.events.append(user_id, kind, data, body) for user_id in recipients}
        self.rows.append((session_id, seq, kind, sender, body, raw, flagged, at))
        self._more.set()
        return Relayed(seq, events)

    async def start_seq(self, session_id: int, seq: int) -> None:
        self.seq[session_id] = max(self.seq[session_id], seq)

    async def close_session(self, session_id: int) -> None:
        self.closed.add(session_id)
        self.seq.pop(session_id, None)

    async def take(self, limit: int, wait_s: float) -> list[tuple[str, Row]]:
        if not self.rows and wait_s > 0:
            self._more.clear()
            try:
                async with asyncio.timeout(wait_s):
                    await self._more.wait()
            except TimeoutError:
                pass
        # Taken rows leave the list at once: one writer per process, and a failed write puts
        # them back (`unack`).
        batch, self.rows = self.rows[:limit], self.rows[limit:]
        return [("", Row._make(row)) for row in batch]

    async def ack(self, tokens: list[str]) -> None:
        return None

    def unack(self, rows: list[Row]) -> None:
        self.rows[:0] = [tuple(row) for row in rows]


_SEND = r"""
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local ttl = ARGV[2]
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ttl)
local body = ARGV[4] .. seq .. '}'
local out = {seq}
redis.call('XADD', KEYS[3], '*', 's', ARGV[9], 'q', seq, 'k', ARGV[3], 'f', ARGV[5], 'b', body,
           'r', ARGV[6], 'g', ARGV[7], 't', ARGV[8])
for i = 10, #ARGV do
  local n = 5 + (i - 10) * 2
  local id = redis.call('INCR', KEYS[n])
  redis.call('XADD', KEYS[n + 1], 'MAXLEN', ARGV[1], id .. '-1', 'k', ARGV[3], 'd', body)
  redis.call('EXPIRE', KEYS[n], ttl)
  redis.call('EXPIRE', KEYS[n + 1], ttl)
  redis.call('PUBLISH', KEYS[4], ARGV[i] .. '|' .. id .. '|' .. ARGV[3] .. '|' .. body)
  out[#out + 1] = id
end
return out
"""

GROUP = "transcript"


class RedisRelay(Relay):
    """Keys: `<prefix>tr:ended:<session>`, `<prefix>tr:seq:<session>`, the stream `<prefix>tr:rows`
    (consumer group "transcript"); the users' event streams are the event log's."""

    def __init__(self, redis: Redis, prefix: str, events: RedisEventLog, claim_idle_ms: int = 15_000, consumer: str | None = None) -> None:
        self.r, self.p, self.events = redis, prefix + "tr:", events
        self.stream = self.p + "rows"
        self.claim_idle_ms = claim_idle_ms
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._send = redis.register_script(_SEND)
        self._queue: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._claim_from = "0-0"
        self._claimed_at = float("-inf")

    async def start(self) -> None:
        try:
            await self.r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def send(
        self,
        session_id: int,
        kind: str,
        sender: int,
        data: dict[str, Any],
        recipients: list[int],
        at: float,
        raw: str | None = None,
        flagged: bool = False,
    ) -> Relayed:
        ev = self.events
        keys = [f"{self.p}ended:{session_id}", f"{self.p}seq:{session_id}", self.stream, ev.channel]
        for user_id in recipients:
            keys += [f"{ev.p}seq:{user_id}", f"{ev.p}s:{user_id}"]
        opened = _open_body(data)
        args = [ev.keep, ev.ttl, kind, opened, sender, raw or "", "1" if flagged else "", repr(at), session_id, *recipients]
        seq, *ids = (int(n) for n in await self._call(keys, args))
        if seq < 0:
            raise SessionClosed(session_id)
        body = opened + f"{seq}}}"
        for user_id, event_id in zip(recipients, ids):
            ev.heard(user_id, event_id, kind, body)  # local sockets need not wait for the bell through pub/sub
        return Relayed(seq, dict(zip(recipients, ids)))

    async def _call(self, keys: list[str], args: list[Any]) -> Any:
        """The script call of one message, sent with every other message's that arrived
        meanwhile in one pipeline: one write and one read for all of them, not one round
        trip each (at thousands of messages a second the round trips' syscalls were the
        largest self-time in the profile). One pipeline is in flight at a time; what arrives
        while it is goes in the next, so a message waits at most one round trip more. The
        pipeline keeps the calls in arrival order, so each sender's messages keep theirs."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((keys, args, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        batch: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._run(batch)
                    again = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
                    if again:  # Redis lost its scripts (restarted, flushed): those calls did nothing
                        await self.r.script_load(_SEND)
                        for i, result in zip(again, await self._run([batch[i] for i in again]), strict=True):
                            results[i] = result
                except Exception as exc:  # noqa: BLE001 - each waiting message gets the failure
                    results = [exc] * len(batch)
                for (_, _, future), result in zip(batch, results):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flusher = None
            for _, _, future in batch + self._queue:  # cancelled (shutdown): nobody waits forever
                if not future.done():
                    future.set_exception(ConnectionError("the relay stopped before this message was sent"))
            self._queue = []

    async def _run(self, batch: list[tuple[list[str], list[Any], asyncio.Future[Any]]]) -> list[Any]:
        """The batch's script calls as one pipeline of EVALSHAs. Not through the registered
        Script: on a pipeline, redis-py first asks SCRIPT EXISTS in a round trip of its own,
        every time — two round trips per flush, and that call's packing and reading were ~5 %
        of an instance's CPU at 200 live pairs (loadtest.signaling --setup production --profile).
        A missing script comes back as NoScriptError for each call, which `_flush` loads and
        sends again."""
        async with self.r.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._send.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))

    async def start_seq(self, session_id: int, seq: int) -> None:
        if seq > 0:
            await self.r.set(f"{self.p}seq:{session_id}", seq, nx=True, ex=self.events.ttl)

    async def close_session(self, session_id: int) -> None:
        await self.r.set(f"{self.p}ended:{session_id}", 1, ex=self.events.ttl)

    async def take(self, limit: int, wait_s: float) -> list[tuple[str, Row]]:
        # First what a dead writer left pending (idle for claim_idle_ms; looked for every few
        # seconds, and on a flush), then new rows.
        entries: list[Any] = []  # (id, fields) pairs as Redis replies them
        if wait_s == 0 or time.monotonic() - self._claimed_at >= 5.0:
            self._claimed_at = time.monotonic()
            claimed = await self.r.xautoclaim(self.stream, GROUP, self.consumer, self.claim_idle_ms, start_id=self._claim_from, count=limit)
            self._claim_from = claimed[0] if claimed[1] else "0-0"
            entries = [e for e in claimed[1] if e[1]]
        if not entries:
            block = int(wait_s * 1000) or None
            # RESP2's reply, [[stream, [(id, fields), …]]] (the stubs also type RESP3's dict).
            got: Any = await self.r.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=limit, block=block)
            entries = got[0][1] if got else []
        return [(i, self._row(f)) for i, f in entries]

    @staticmethod
    def _row(f: dict[str, str]) -> Row:
        return Row(int(f["s"]), int(f["q"]), f["k"], int(f["f"]) if f["f"] else None, f["b"], f["r"] or None, f["g"] == "1", float(f["t"]))

    async def ack(self, tokens: list[str]) -> None:
        if tokens:
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream, GROUP, *tokens)
                pipe.xdel(self.stream, *tokens)
                await pipe.execute()
