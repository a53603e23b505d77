"""CPU of chat masking per message on the live relay path (`Recent.screen`, app/kit/safety.py),
against the floor of serialising the same chats, in one process, no network.

    python -m loadtest.masking            # 2,000 senders, 8 timed rounds, 5 repeats
    python -m loadtest.masking --quick    # 500 senders, 4 rounds, 3 repeats

The stream is what loadtest.signaling's chat looks like at 1,000 pairs: every sender (a session
and a user) sends in turn, each line unique ("第17步 u1523: 先把方程两边同时乘以二, 再移项";
four-digit user ids, as at 1,000 pairs — "u1523" looks like the start of an account name, so
the account patterns' keyword checks run), so every call reads a full window of the sender's
last three lines; one message in ten is a corpus text instead (tests/masking_corpus.py:
contact details to mask, ordinary school texts, and numbers split over messages). Each repeat
starts a fresh `Recent`, fills the windows with three untimed rounds, then times the rounds with
`time.process_time` (CPU of this process: another engineer's load on the shared cores
lengthens wall time, much less CPU time). The collector stays on, with what existed before the
run frozen, so its young passes walk what masking allocates and keeps, as the service's do.

The floor: the relay's `dumps` (signaling/eventlog.py) of each chat's event — the one JSON
encoding every chat costs anyway — over the same stream. `tracked_per_sender`: objects the
collector tracks that a sender's kept window holds (the service's young passes walk them).

Prints the figures, then as its last line one JSON object, also written to
loadtest/results/masking.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from app.kit.safety import Recent
from signaling.eventlog import dumps
from tests.masking_corpus import CONTACTS, ORDINARY

from .common import report

SPLITS = ["我的号", "138", "0013", "8000", "微", "信 kid2010bj", "朝阳路", "12号", "扣扣", "1234", "5678"]
CORPUS_SHARE = 0.1


def stream(senders: int, rounds: int, first: int, rng: random.Random, share: float = CORPUS_SHARE) -> list[tuple[tuple[int, int], str]]:
    """`rounds` rounds of one message per sender, numbered from `first` (so repeats never send a
    line twice); a `share` of them corpus texts."""
    corpus = [t for t, _ in CONTACTS] + ORDINARY + SPLITS
    out = []
    for k in range(first, first + rounds):
        for s in range(senders):
            uid = 1000 + s
            text = rng.choice(corpus) if rng.random() < share else f"第{k}步 u{uid}: 先把方程两边同时乘以二, 再移项"
            out.append(((s // 2, uid), text))
    return out


def cpu_us(fn: Callable[[tuple[int, int], str], Any], messages: list[tuple[tuple[int, int], str]]) -> float:
    t0 = time.process_time_ns()
    for key, text in messages:
        fn(key, text)
    return (time.process_time_ns() - t0) / 1000 / len(messages)


def tracked_per_sender(recent: Recent, senders: int) -> float:
    """Objects the collector tracks held by `recent`'s windows, per sender, once collections have
    passed over them (a pass untracks a tuple whose items are untracked: a tuple of tuples of
    strings after two passes at most, the first in the service, where a line's tuple is younger
    than the window holding it)."""
    gc.collect()
    gc.collect()
    with_windows = len(gc.get_objects())
    recent._lines.clear()  # the windows only: the same dict stays
    gc.collect()
    return round((with_windows - len(gc.get_objects())) / senders, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    senders, rounds, repeats = (500, 4, 3) if args.quick else (2000, 8, 5)
    load = os.getloadavg()[0]
    print(f"masking: {senders} senders x {rounds} rounds, {repeats} repeats, corpus share {CORPUS_SHARE:.0%}; "
          f"load average {load:.2f} on {os.cpu_count()} cores", flush=True)
    rng = random.Random(7)
    screen_us, floor_us, chat_only_us, tracked = [], [], [], []
    for r in range(repeats):
        first = r * 2 * (rounds + 3)
        warm, timed = stream(senders, 3, first, rng), stream(senders, rounds, first + 3, rng)
        # The benchmark-like lines alone (no corpus text), other numbers: each line unique.
        warm_chats, chats = stream(senders, 3, first + rounds + 3, rng, 0), stream(senders, rounds, first + rounds + 6, rng, 0)
        recent, chats_only = Recent(keys=senders * 2), Recent(keys=senders * 2)
        for key, text in warm:
            recent.screen(key, text)
        for key, text in warm_chats:
            chats_only.screen(key, text)
        gc.collect()
        gc.freeze()
        screen_us.append(cpu_us(recent.screen, timed))
        chat_only_us.append(cpu_us(chats_only.screen, chats))
        floor_us.append(cpu_us(lambda key, text: dumps({"session_id": key[0], "from": key[1], "text": text}), timed))
        gc.unfreeze()
        tracked.append(tracked_per_sender(recent, senders))
        print(f"  repeat {r + 1}: screen {screen_us[-1]:.1f} µs/chat (benchmark lines alone {chat_only_us[-1]:.1f}), "
              f"floor dumps {floor_us[-1]:.2f} µs, tracked objects per sender window {tracked[-1]}", flush=True)
    med = statistics.median(screen_us)
    figures = {
        "senders": senders, "rounds": rounds, "repeats": repeats, "corpus_share": CORPUS_SHARE,
        "screen_us_per_chat": round(med, 2), "screen_us_min": round(min(screen_us), 2),
        "benchmark_lines_us": round(statistics.median(chat_only_us), 2),
        "floor_dumps_us": round(statistics.median(floor_us), 2),
        "screen_over_floor": round(med / statistics.median(floor_us), 1),
        "tracked_per_sender": statistics.median(tracked),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    print(f"screen: {figures['screen_us_per_chat']} µs of CPU per chat (median; min {figures['screen_us_min']}), "
          f"benchmark lines alone {figures['benchmark_lines_us']} µs; floor (dumps of the event) "
          f"{figures['floor_dumps_us']} µs; {figures['screen_over_floor']} x the floor; "
          f"{figures['tracked_per_sender']} tracked objects per sender window; load average {figures['load_average']}")
    report("masking", figures)


if __name__ == "__main__":
    main()
