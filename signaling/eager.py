"""Run a coroutine now, in the caller's step, and hand it to a task only if it has to wait.

Python 3.12's `asyncio.eager_task_factory` does this for every task; this service runs on 3.11
(and uvloop), so the one place that needs it does it itself: an event delivered straight to a
socket (signaling/ws.py, `offer`). Writing a frame to a websocket whose transport is not paused
never waits (uvicorn writes it and returns), so the usual delivery costs one function call, not
a task wake-up. A paused transport (a client that stops reading) makes the write wait: then the
rest of the coroutine goes on in a task and the caller is not held up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_finishing: set[asyncio.Task[None]] = set()  # strong references: a task only the loop knows may be collected


_DONE = object()  # what `_step` returns once the coroutine has finished (or failed)


def run_eager(coro: Coroutine[Any, Any, None]) -> None:
    """Step `coro` until it finishes or first waits; if it waits, a task finishes it. Whatever
    it raises is logged, never raised to the caller (the caller has moved on)."""
    waiting = _step(coro)
    if waiting is _DONE:
        return
    task = asyncio.ensure_future(_finish(coro, waiting))
    _finishing.add(task)
    task.add_done_callback(_finishing.discard)


def _step(coro: Coroutine[Any, Any, None]) -> Any:
    """Resume `coro` once: what it now waits for (a future, or None for a bare yield), or _DONE."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return _DONE
    except BaseException:  # noqa: BLE001 - the caller is not the coroutine's owner; log and drop
        log.exception("eager coroutine failed")
        return _DONE
    if getattr(waiting, "_asyncio_future_blocking", None):
        # What a task's step does with the future its coroutine yields: clear the flag the
        # yield set, or awaiting that future again (in _finish) is refused as a bare yield.
        waiting._asyncio_future_blocking = False
    return waiting


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive `coro` on from where `run_eager` left it: what it yielded is the future it waits
    for (or None: a bare yield). Once that is done the coroutine is resumed; it reads the
    future's result or exception itself (Future.__await__), as it would under a task."""
    while waiting is not _DONE:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                await waiting
        except BaseException:  # noqa: BLE001,S110 - the coroutine sees the outcome when resumed
            pass
        waiting = _step(coro)
