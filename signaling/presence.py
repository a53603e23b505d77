"""Who is connected, seen by every instance: each open websocket is registered with an expiry
that its instance keeps pushing forward; a socket whose instance died simply stops being
refreshed and expires. A user is present while any of their sockets is unexpired, wherever it
is — so a stale socket closing on one instance changes nothing while another is alive.

The same backend remembers used websocket tickets (single use, on every instance) and carries
"kicks" (close this user's sockets: suspended, signed out) to every instance.

In-process (embedded default): dictionaries. Redis: a sorted set per user (socket → expiry),
`SET NX` for tickets, one pub/sub channel for kicks. `tests/signaling/test_presence.py` runs
the same contract against both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from .subscriber import Subscriber

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kick:
    user_id: int
    sid: str | None  # one signed-in device, or None for every device of the user
    reason: str  # the error code sent before the close: TokenRevoked, AccountSuspended


KickHandler = Callable[[Kick], Awaitable[None]]


class Presence(ABC):
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._handlers: list[KickHandler] = []

    # --- connections ----------------------------------------------------------------------
    @abstractmethod
    async def register(self, user_id: int, conn: str, now: float) -> None:
        """A socket opened; it counts until `now + ttl_s` unless refreshed or unregistered."""

    @abstractmethod
    async def refresh(self, conns: Iterable[tuple[int, str]], now: float) -> None:
        """This instance's sockets are alive: push their expiry to `now + ttl_s` (one round trip)."""

    @abstractmethod
    async def unregister(self, user_id: int, conn: str) -> None: ...

    @abstractmethod
    async def present(self, user_ids: Iterable[int], now: float) -> set[int]:
        """Of `user_ids`, those with at least one unexpired socket anywhere."""

    @abstractmethod
    async def lapsed(self, since: float, now: float) -> set[int]:
        """The users whose presence may have ended by expiry in (`since`, `now`]: the latest
        expiry any socket of theirs was given falls in that interval, and no socket of theirs is
        alive now. Nobody said goodbye for them (their instance died or froze): the timer's sweep
        settles these at once, without reading every active session (app/live/socket.py). A
        user whose last socket closed in the interval may be among them too; settling them again
        changes nothing."""

    # --- single-use tickets -----------------------------------------------------------------
    @abstractmethod
    async def claim_once(self, key: str, ttl_s: float, now: float) -> bool:
        """True the first time `key` is claimed within `ttl_s`; False on every later claim."""

    # --- kicks ------------------------------------------------------------------------------
    def on_kick(self, handler: KickHandler) -> None:
        self._handlers.append(handler)

    @abstractmethod
    async def kick(self, kick: Kick) -> None:
        """Have every instance close the matching sockets."""

    async def _deliver(self, kick: Kick) -> None:
        for handler in self._handlers:
            try:
                await handler(kick)
            except Exception:  # noqa: BLE001 - one failed close must not stop the others
                log.exception("kick handling failed")

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class InProcessPresence(Presence):
    def __init__(self, ttl_s: float) -> None:
        super().__init__(ttl_s)
        self._conns: dict[int, dict[str, float]] = defaultdict(dict)
        self._last: dict[int, float] = {}  # user → the latest expiry any socket of theirs was given
        self._claimed: dict[str, float] = {}

    async def register(self, user_id: int, conn: str, now: float) -> None:
        await self.refresh([(user_id, conn)], now)

    async def refresh(self, conns: Iterable[tuple[int, str]], now: float) -> None:
        # REFRESH_STEP sockets a step of the loop, as on Redis (a script call each): an instance's
        # 2,000 sockets at once were one ~4 ms stretch every 3 s at 1,000 live pairs, 0.15 % of
        # the messages but 5-9 % of the relay's slowest percent (loadtest.signaling, the timer's
        # passes timed against the client's latencies).
        until, last = now + self.ttl_s, self._last
        for n, (user_id, conn) in enumerate(conns):
            if n and not n % REFRESH_STEP:
                await asyncio.sleep(0)
            self._conns[user_id][conn] = until
            last[user_id] = until  # `now` only grows: this is the latest

    async def unregister(self, user_id: int, conn: str) -> None:
        mine = self._conns.get(user_id)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self._conns[user_id]

    async def present(self, user_ids: Iterable[int], now: float) -> set[int]:
        # No generator per user: the sweep asks for the users of SWEEP_STEP sessions at once
        # (app/live/presence.py), in one stretch of the loop.
        conns, here = self._conns, set()
        for u in user_ids:
            mine = conns.get(u)
            if mine and max(mine.values()) > now:
                here.add(u)
        return here

    async def lapsed(self, since: float, now: float) -> set[int]:
        # The users of an old expiry are forgotten (an hour is far past any sweep's `since`).
        if len(self._last) > 10_000:
            self._last = {u: exp for u, exp in self._last.items() if exp > now - 3600}
        users = [u for u, exp in self._last.items() if since < exp <= now]
        return set(users) - await self.present(users, now)

    async def claim_once(self, key: str, ttl_s: float, now: float) -> bool:
        if len(self._claimed) > 10_000:  # forget what has expired, now and then
            self._claimed = {k: exp for k, exp in self._claimed.items() if exp > now}
        if self._claimed.get(key, 0.0) > now:
            return False
        self._claimed[key] = now + ttl_s
        return True

    async def kick(self, kick: Kick) -> None:
        await self._deliver(kick)


_PRESENT = r"""
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZCOUNT', KEYS[i], ARGV[1], '+inf') end
return out
"""

# KEYS[1]: the index of each user's latest expiry; KEYS[1 + i]: the users' keys; ARGV[1]: the
# sockets' new expiry, ARGV[2]: the keys' TTL, ARGV[2 + i]: the socket of KEYS[1 + i], and
# ARGV[2 + n + i] its user (n sockets).
_REFRESH = r"""
local n = #KEYS - 1
for i = 1, n do
  redis.call('ZADD', KEYS[1 + i], ARGV[1], ARGV[2 + i])
  redis.call('EXPIRE', KEYS[1 + i], ARGV[2])
  redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2 + n + i])
end
return n
"""

# KEYS[1]: the index of latest expiries; ARGV[1], ARGV[2]: since, now; ARGV[3]: forget entries
# older than this. The users whose latest expiry is in (since, now] and no socket alive now —
# ZADD GT keeps the index at each user's latest expiry, so one alive socket means a later score.
_LAPSED = r"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], ARGV[2])
"""

# Sockets refreshed by one script call (and in one step of the loop in-process). A pipeline of a ZADD and an EXPIRE per socket was packed
# command by command on the event loop: at 200 live pairs (~200 sockets an instance) one step
# of 2.3 ms (median; up to 7.8 ms) every 3 s, over-represented 25 times among the relay's
# slowest messages (loadtest.signaling, production); at 1,000 pairs five times that.
REFRESH_STEP = 250


class RedisPresence(Presence):
    def __init__(self, redis: Redis, prefix: str, ttl_s: float) -> None:
        super().__init__(ttl_s)
        self.r, self.p = redis, prefix + "pr:"
        self.channel = self.p + "kick"
        self.index = self.p + "last"  # user → the latest expiry any socket of theirs was given
        # Keys outlive their members' expiry by a margin, only so that abandoned ones vanish;
        # what counts is each member's score.
        self._key_ttl = max(60, math.ceil(ttl_s * 6))
        self._listener: Subscriber | None = None
        self._present = redis.register_script(_PRESENT)
        self._refresh = redis.register_script(_REFRESH)
        self._lapsed = redis.register_script(_LAPSED)

    def _key(self, user_id: int) -> str:
        return f"{self.p}u:{user_id}"

    async def register(self, user_id: int, conn: str, now: float) -> None:
        await self.refresh([(user_id, conn)], now)

    async def refresh(self, conns: Iterable[tuple[int, str]], now: float) -> None:
        # Plain ZADD (not XX): a socket whose entry lapsed while Redis was unreachable comes back.
        pending = list(conns)
        for start in range(0, len(pending), REFRESH_STEP):
            chunk = pending[start : start + REFRESH_STEP]
            await self._refresh(
                keys=[self.index, *(self._key(user_id) for user_id, _ in chunk)],
                args=[now + self.ttl_s, self._key_ttl, *(conn for _, conn in chunk), *(user_id for user_id, _ in chunk)],
            )

    async def unregister(self, user_id: int, conn: str) -> None:
        await self.r.zrem(self._key(user_id), conn)

    async def present(self, user_ids: Iterable[int], now: float) -> set[int]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return set()
        # One script call for all of them: the timer's sweep asks for the users of SWEEP_STEP
        # sessions at once, and a pipeline of one ZCOUNT each (800 commands a second at 200
        # pairs, when it asked for every active session) was packed and parsed command by
        # command on the event loop.
        counts = await self._present(keys=[self._key(u) for u in ids], args=[f"({now}"])
        return {u for u, n in zip(ids, counts) if int(n) > 0}

    async def lapsed(self, since: float, now: float) -> set[int]:
        users = [int(u) for u in await self._lapsed(keys=[self.index], args=[since, now, now - 3600])]
        return set(users) - await self.present(users, now)

    async def claim_once(self, key: str, ttl_s: float, now: float) -> bool:
        return bool(await self.r.set(f"{self.p}once:{key}", "1", nx=True, ex=max(1, math.ceil(ttl_s))))

    async def kick(self, kick: Kick) -> None:
        await self.r.publish(self.channel, json.dumps({"u": kick.user_id, "s": kick.sid, "r": kick.reason}))

    async def start(self) -> None:
        async def kicked(data: str) -> None:
            d = json.loads(data)
            await self._deliver(Kick(int(d["u"]), d.get("s"), d["r"]))

        self._listener = Subscriber(self.r, self.channel, kicked, "kick")  # a missed kick: the periodic check
        self._listener.start()

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()
