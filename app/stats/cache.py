"""Figures shared between concurrent requests, and kept briefly while their period is still open.

At 18:00 hundreds of admins open the dashboard at once; every one of their participation tables
is the same city-wide ranking (a school's rank is among all the city's schools), and many ask
for the same scope and month. Two rules:

- **Shared computation (exact).** Requests for the same figure (same key: what, scope, period)
  that arrive while it is being computed wait for that one computation instead of starting their
  own. Each gets figures read after it was sent or at most one computation earlier — what it
  would get from a read that started a moment before.
- **Kept for `ttl_s` seconds, only for an open period** (one that has not ended yet: it
  includes the current service day or later). Such figures change with every session that
  goes live, so any answer is a snapshot anyway; a dashboard up to `ttl_s` old (15 s by default:
  shorter than anyone reads a chart, and it spares the database the same work for every admin
  who opens the page within that window) is the staleness we allow. A **closed period** is
  never kept: its figures can still change (a late correction, a rating given after midnight to a
  session of the day before), and an admin reading last month must see them exactly.

- **Kept while the database says it is unchanged (exact)** — `kept_with` / `keep_with` (and
  `checked()`, both at once): a figure computed under a token read from the change counters
  (app/stats/changes.py) just before is served again only to a request that reads the same
  token, whatever the period (open or closed). The participation table's distinct students (per
  shard of the city's schools) and the online rate's counts (per shard of the users) are kept
  this way, for the tables and exports too.

Only what the dashboard answers is kept for `ttl_s` (`GET /api/stats/dashboard`: its whole answer,
and the city's participation table it is cut from); the tables and exports share computations
but are never served from those copies. The cache is per process and
bounded (`max_entries`, the oldest dropped first); several instances each keep their own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import date
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float: ...


# Figures kept under a token are kept per shard (16 per figure, app/stats/changes.py) and are
# small (a few counts per school or group): room for as many figures as the kept answers.
CHECKED_PER_ENTRY = 16


class FigureCache:
    def __init__(self, clock: Clock, ttl_s: float = 15.0, max_entries: int = 512) -> None:
        self.clock, self.ttl_s, self.max_entries = clock, ttl_s, max_entries
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self._checked: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]], *, keep: bool) -> Any:
        """The figure for `key`: a kept copy younger than ttl_s (when `keep`), else the running
        computation of the same key, else a new one (kept afterwards when `keep`)."""
        if keep:
            hit = self._kept.get(key)
            if hit is not None and self.clock.now() - hit[0] < self.ttl_s:
                return hit[1]
        running = self._running.get(key)
        if running is not None:
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this request itself was cancelled
                # The request computing it was cancelled (its client left): compute it here.
                return await self.get(key, compute, keep=keep)
        started = self.clock.now()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # marked retrieved: no one else waiting is not an error
            raise
        finally:
            del self._running[key]
        future.set_result(value)
        if keep:
            self._kept[key] = (started, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)
        return value

    async def checked(self, key: Hashable, token: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The figure for `key` kept with `token` if the token is the same (read by the caller
        before this call), else computed (once for concurrent requests of the same key and token)
        and kept with it. The token must be read before the figure is computed: a change that
        commits in between then makes the next token differ, so it is never kept past a change."""
        hit = self.kept_with(key, token)
        if hit is not None:
            return hit
        value = await self.get(("checked", key, token), compute, keep=False)
        self.keep_with(key, token, value)
        return value

    def kept_with(self, key: Hashable, token: Hashable) -> Any:
        """The figure kept for `key` with this very token, else None."""
        hit = self._checked.get(key)
        if hit is None or hit[0] != token:
            return None
        self._checked.move_to_end(key)
        return hit[1]

    def keep_with(self, key: Hashable, token: Hashable, value: Any) -> None:
        """Keep `value` for `key` with `token` (read before `value` was computed)."""
        self._checked[key] = (token, value)
        self._checked.move_to_end(key)
        while len(self._checked) > self.max_entries * CHECKED_PER_ENTRY:
            self._checked.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()
        self._checked.clear()


def is_open(end: date, today: date) -> bool:
    """A period [from, end) is open while its end is after the current service day's start."""
    return end > today
