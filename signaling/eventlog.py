"""Each user's event stream: sequenced, resumable, shared across instances.

Every event to a user gets the next id of that user's stream (1, 2, 3, …). A client that
reconnects — to any instance — says the last id it saw and receives exactly what followed, in
order. The stream keeps the last `keep` events for `ttl_s`; a resume from before that is
impossible and answered with a clear error, after which the client re-fetches its state.

In-process (embedded default): a deque per user. Redis: a Stream per user (XADD with the id
itself, so ids are plain integers), written by one Lua script; a single pub/sub channel per
deployment rings the bell ("user 42 has event 17: …"). The bell carries the event, so an
instance with the user's socket sends it without a second round trip to read the stream — but
only when it continues exactly from what that socket saw (`_fresh`); after a gap, or when the
stream was not asked for a second, `read` goes to the stream, so a missed bell loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from .subscriber import Subscriber

log = logging.getLogger(__name__)


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, not one per call
_KINDS: dict[str, str] = {}


def dumps(data: Any) -> str:
    """Compact JSON as every frame and stored event carries it."""
    return _encode(data)


class StoredEvent:
    """One event of a user's stream. Its data is kept as JSON text (`body`) when it came that
    way (the relay serialises a shared item once for all its recipients and the transcript; a
    bell or a stream read hands over text): `text()` then frames it without decoding or
    encoding anything, and `data` is decoded only if someone asks."""

    __slots__ = ("id", "kind", "_data", "_body")

    def __init__(self, id: int, kind: str, data: dict[str, Any] | None = None, body: str | None = None) -> None:
        self.id, self.kind, self._data, self._body = id, kind, data, body

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self._body or "{}")
        return self._data

    @property
    def body(self) -> str:
        if self._body is None:
            self._body = dumps(self._data)
        return self._body

    def frame(self) -> dict[str, Any]:
        return {"type": "event", "id": self.id, "kind": self.kind, "data": self.data}

    def text(self, ref: str | None = None) -> str:
        """`frame()` as the JSON text sent on the socket; `ref`: the sending socket's own copy
        of a shared item carries the ref of the message that made it (signaling/ws.py)."""
        kind = _KINDS.get(self.kind) or _KINDS.setdefault(self.kind, json.dumps(self.kind))
        if ref is not None:
            return f'{{"type":"event","id":{self.id},"kind":{kind},"ref":{dumps(ref)},"data":{self.body}}}'
        return f'{{"type":"event","id":{self.id},"kind":{kind},"data":{self.body}}}'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredEvent) and (self.id, self.kind, self.data) == (other.id, other.kind, other.data)

    def __repr__(self) -> str:
        return f"StoredEvent({self.id}, {self.kind!r}, {self.body})"


class ResumeGap(Exception):
    """The events after `after` are no longer kept (or `after` is in the future)."""

    def __init__(self, latest: int) -> None:
        super().__init__(f"cannot resume; the latest event id is {latest}")
        self.latest = latest


# A socket's offer to take an event straight away (signaling/ws.py): True if it sent it (it was
# waiting for exactly that one), False if its pump must read it (busy, behind, or resuming).
Offer = Callable[[StoredEvent], bool]


class EventLog(ABC):
    def __init__(self) -> None:
        self._bells: dict[int, dict[asyncio.Event, Offer | None]] = defaultdict(dict)

    @abstractmethod
    async def append(self, user_id: int, kind: str, data: dict[str, Any], body: str | None = None) -> int:
        """`body`: `data` already serialised as JSON, when the caller has it (stored and sent as it is)."""

    @abstractmethod
    async def read(self, user_id: int, after: int, limit: int = 500) -> list[StoredEvent]:
        """Events with id > after, oldest first. Raises ResumeGap when some were dropped."""

    @abstractmethod
    async def latest(self, user_id: int) -> int: ...

    def bell(self, user_id: int, offer: Offer | None = None) -> asyncio.Event:
        """An Event set whenever `user_id` has news; the caller discards it with `unbell`.
        `offer`: a new event is first offered to it, and the bell rings only if it says no —
        a socket that is idle and caught up sends the event in the appender's own step, without
        waking its pump (at 1,000 live pairs the pumps' wake-ups, a future and a coroutine per
        frame out, were ~5 % of the loop's CPU and much of what the collector walked)."""
        ev = asyncio.Event()
        self._bells[user_id][ev] = offer
        return ev

    def unbell(self, user_id: int, ev: asyncio.Event) -> None:
        self._bells[user_id].pop(ev, None)
        if not self._bells[user_id]:
            self._bells.pop(user_id, None)

    def _ring(self, user_id: int, event: StoredEvent | None = None) -> None:
        """News for `user_id`: `event` itself when the caller has it (offered first), else a
        plain ring (the pump reads)."""
        bells = self._bells.get(user_id)
        if not bells:
            return
        for ev, offer in list(bells.items()):
            if event is None or offer is None or not offer(event):
                ev.set()

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class InProcessEventLog(EventLog):
    def __init__(self, keep: int = 1000) -> None:
        super().__init__()
        self.keep = keep
        # Kept as (id, kind, JSON text) tuples, not StoredEvent objects: a tuple of a number and
        # strings is dropped from the garbage collector's tracking at its first collection, an
        # object is traversed by every collection for as long as it is kept. Up to `keep` events
        # per user stay: at 1,000 pairs the kept events were most of the young objects, and
        # the young-generation passes (50,000 objects, app/kit/runtime.py) stalled the loop
        # 48-100 ms every ~4 s — the relay's p99 (a loop watchdog, loadtest.signaling).
        self.streams: dict[int, deque[tuple[int, str, str]]] = defaultdict(lambda: deque(maxlen=self.keep))
        self.seq: dict[int, int] = defaultdict(int)

    async def append(self, user_id: int, kind: str, data: dict[str, Any], body: str | None = None) -> int:
        """`body`: `data` already serialised (the relay's shared items), sent as it is."""
        event_id = self.seq[user_id] = self.seq[user_id] + 1
        text = body if body is not None else dumps(data)
        self.streams[user_id].append((event_id, kind, text))
        if user_id in self._bells:
            self._ring(user_id, StoredEvent(event_id, kind, body=text))
        return event_id

    async def latest(self, user_id: int) -> int:
        return self.seq.get(user_id, 0)

    async def read(self, user_id: int, after: int, limit: int = 500) -> list[StoredEvent]:
        latest = self.seq.get(user_id, 0)
        stream = self.streams.get(user_id)
        first = stream[0][0] if stream else latest + 1
        if after > latest or (after < first - 1):
            raise ResumeGap(latest)
        if not stream:
            return []
        # Ids in a stream are consecutive: the events after `after` start at a known index (a
        # scan of the whole deque — up to `keep` events — on every wake-up grew with the session).
        # A deque finds an index from its nearer end, so the usual read — the newest event or
        # two — costs the same however long the stream is.
        start = after - first + 1
        out = []
        for i in range(start, min(start + limit, len(stream))):
            event_id, kind, body = stream[i]
            out.append(StoredEvent(event_id, kind, body=body))
        return out


_APPEND = r"""
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], seq .. '-1', 'k', ARGV[2], 'd', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[5] .. '|' .. seq .. '|' .. ARGV[2] .. '|' .. ARGV[3])
return seq
"""


class RedisEventLog(EventLog):
    def __init__(self, redis: Redis, prefix: str, keep: int = 1000, ttl_s: int = 86400) -> None:
        super().__init__()
        self.r, self.p, self.keep, self.ttl = redis, prefix + "ev:", keep, ttl_s
        self.channel = self.p + "bell"
        self._append = redis.register_script(_APPEND)
        self._listener: Subscriber | None = None
        # Events that arrived with their bell, per user with a local socket; and when the
        # user's stream itself was last read (an empty answer from `_fresh` is trusted for 1 s).
        self._fresh: dict[int, deque[StoredEvent]] = {}
        self._asked: dict[int, float] = {}
        self._heard_at: dict[int, float] = {}  # when a local user last heard an event (monotonic)

    def heard(self, user_id: int, event_id: int, kind: str, body: str) -> None:
        """An event known without reading the stream (its bell, or our own append)."""
        if user_id not in self._bells:
            return
        self._heard_at[user_id] = time.monotonic()
        fresh = self._fresh.setdefault(user_id, deque(maxlen=64))
        if fresh and event_id <= fresh[-1].id:
            # Heard already: a sender's own copy is heard from the relay's reply and again from
            # its bell. Ringing again woke the pump for nothing, and once its last stream read
            # was over a second old that wake-up read the stream (three commands): ~300 stream
            # reads a second at 200 pairs. A later event's ring made the pump read past this one.
            return
        if fresh and event_id > fresh[-1].id + 1:
            fresh.clear()  # one not heard in between (its bell may still come): the run restarts here
        event = StoredEvent(event_id, kind, body=body)  # decoded only if someone asks
        if not fresh or event_id == fresh[-1].id + 1:
            fresh.append(event)
        self._ring(user_id, event)

    def unbell(self, user_id: int, ev: asyncio.Event) -> None:
        super().unbell(user_id, ev)
        if user_id not in self._bells:
            self._fresh.pop(user_id, None)
            self._asked.pop(user_id, None)
            self._heard_at.pop(user_id, None)

    async def append(self, user_id: int, kind: str, data: dict[str, Any], body: str | None = None) -> int:
        body = body if body is not None else dumps(data)
        keys = [f"{self.p}seq:{user_id}", f"{self.p}s:{user_id}", self.channel]
        seq = int(await self._append(keys=keys, args=[self.keep, kind, body, self.ttl, user_id]))
        self.heard(user_id, seq, kind, body)  # local listeners need not wait for the round trip through pub/sub
        return seq

    async def latest(self, user_id: int) -> int:
        return int(await self.r.get(f"{self.p}seq:{user_id}") or 0)

    async def read(self, user_id: int, after: int, limit: int = 500) -> list[StoredEvent]:
        fresh = self._fresh.get(user_id)
        if fresh and fresh[0].id <= after + 1 <= fresh[-1].id:  # continues exactly from `after`
            return [e for e in fresh if e.id > after][:limit]
        if fresh and fresh[-1].id == after and time.monotonic() - self._asked.get(user_id, 0.0) < 1.0:
            return []
        self._asked[user_id] = time.monotonic()
        key = f"{self.p}s:{user_id}"
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.get(f"{self.p}seq:{user_id}")
            pipe.xrange(key, "-", "+", count=1)
            pipe.xrange(key, f"{after + 1}-0", "+", count=limit)
            latest_raw, head, rows = await pipe.execute()
        latest = int(latest_raw or 0)
        first = int(head[0][0].split("-")[0]) if head else latest + 1
        if after > latest or after < first - 1:
            raise ResumeGap(latest)
        return [StoredEvent(int(i.split("-")[0]), f["k"], body=f["d"]) for i, f in rows]

    async def start(self) -> None:
        async def ring(data: str) -> None:
            user, event_id, kind, body = data.split("|", 3)
            self.heard(int(user), int(event_id), kind, body)

        self._listener = Subscriber(self.r, self.channel, ring, "event bell")
        self._listener.start()
        self._ringer = asyncio.create_task(self._ring_all())

    async def _ring_all(self, every_s: float = 5.0) -> None:
        """A bell is a pub/sub message and can be lost (a subscriber reconnecting): every few
        seconds each socket that heard nothing meanwhile reads its stream anyway (one timer for
        all of them, instead of a timeout around every wait)."""
        while True:
            await asyncio.sleep(every_s)
            now = time.monotonic()
            for user_id in list(self._bells):
                if now - self._heard_at.get(user_id, 0.0) >= every_s:  # quiet that long: ask the stream
                    self._heard_at[user_id] = now
                    self._ring(user_id)

    async def aclose(self) -> None:
        ringer = getattr(self, "_ringer", None)
        if ringer is not None:
            ringer.cancel()
            await asyncio.gather(ringer, return_exceptions=True)
        if self._listener is not None:
            await self._listener.aclose()
