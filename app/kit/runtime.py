"""Process tuning shared by the service and its benchmarks."""

from __future__ import annotations

import asyncio
import gc
import time

# A collection's pause grows with the objects it walks, not with how often it runs. Young
# collections stay small (a gen0 pass walks at most ~1,000 objects, ~0.5 ms; a gen1 pass the
# survivors of ten of them, ~2 ms) and full collections stay rare (every ~10,000 gen0 passes,
# and only when a quarter of the heap is new, CPython's own guard). With gen0 at 50,000 each
# young pass walked ~50,000 live objects: 10-25 ms of stall at once, the matching p99 tail.
GC_THRESHOLDS = (1_000, 10, 1_000)

# CPython counts a generation's "allocations" as allocations minus deallocations, and an older
# object dying counts too. With thousands of sockets each waiting for its next message (a
# coroutine, a future and a callback per wait, alive ~1 s, then freed from an older generation)
# the count stays low while young objects pile up: at 1,000 live pairs each young pass walked
# 11,000-17,000 objects (3-8 ms) and each gen-1 pass up to 40,000 (5-30 ms), the relay's p99
# tail. Collecting the young generation on a clock bounds what a pass can walk by the time
# since the last one instead: every YOUNG_EVERY_S seconds a gen-0 pass, every tenth a gen-1.
YOUNG_EVERY_S = 0.01


def tune_gc() -> None:
    """Move what start-up built (modules, caches) out of the collector's way (gc.freeze) and
    keep every pause short (GC_THRESHOLDS): measured with loadtest.matching, whose JSON reports
    the longest GC pause of each run."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def young_collections(every_s: float = YOUNG_EVERY_S, full_every_s: float = 900.0) -> None:
    """Run as a task beside tune_gc: the young generations collected on a clock (see above),
    so that no pass walks more than `every_s` (gen 0) or ten times that (gen 1) of allocations
    that are still alive.

    What survives a gen-1 pass is frozen (gc.freeze: a splice of the collector's lists, O(1)):
    an open socket's objects live as long as the socket, and CPython's own full collections
    walked them all — at 1,000 live pairs 535,000 tracked objects (a socket's middleware
    coroutines, closures, headers and protocol state: ~270 each), a 360 ms pause every ~100 s,
    which alone put a full collection's worth of messages past the relay's p99 in any window it
    fell in (loadtest.signaling, timed with gc.callbacks). Cycles among frozen objects (what a
    closed socket leaves: ~40 objects a second at 1,000 pairs) wait for the full pass that runs
    here every `full_every_s` instead: everything unfrozen, collected, frozen again — the
    pause CPython took every ~100 s, now once per `full_every_s`."""
    n = 0
    full_at = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        n += 1
        if n % 10:
            gc.collect(0)
            continue
        gc.collect(1)
        if time.monotonic() - full_at >= full_every_s:
            gc.unfreeze()
            gc.collect()
            full_at = time.monotonic()
        gc.freeze()
