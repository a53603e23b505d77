"""Process tuning shared by the service and its benchmarks."""

from __future__ import annotations

import gc

# A collection's pause grows with the objects it walks, not with how often it runs. Young
# collections stay small (a gen0 pass walks at most ~1,000 objects, ~0.5 ms; a gen1 pass the
# survivors of ten of them, ~2 ms) and full collections stay rare (every ~10,000 gen0 passes,
# and only when a quarter of the heap is new, CPython's own guard). With gen0 at 50,000 each
# young pass walked ~50,000 live objects: 10-25 ms of stall at once, the matching p99 tail.
GC_THRESHOLDS = (1_000, 10, 1_000)


def tune_gc() -> None:
    """Move what start-up built (modules, caches) out of the collector's way (gc.freeze) and
    keep every pause short (GC_THRESHOLDS): measured with loadtest.matching, whose JSON reports
    the longest GC pause of each run."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
