"""Process tuning shared by the service and its benchmarks."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Move what start-up built (modules, caches) out of the collector's way and make young-
    generation passes rarer: under a high allocation rate the default thresholds cost tens of
    milliseconds of stall at the tail (measured with loadtest.matching)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
