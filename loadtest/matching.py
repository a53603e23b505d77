"""Matching under an evening peak: 15,000 registered tutors, 2,000 on duty, Poisson arrivals.

For each backend (in-process, and Redis at REDIS_URL or 127.0.0.1:6379) it drives the Matcher
with simulated tutors who accept (90 %) or decline after a short think, and sessions that end
after a compressed duration so the evening reaches a steady state. The Redis backend runs
twice: as one instance process, and as `--instances` (2) processes sharing one Redis pool with
the arrivals split between them — how production runs on a 2-core machine. It measures the time from
a request's submission to its first offer, and matches per second. It then times a single
ranking decision with 500, 2,000 and 8,000 tutors on duty to show that the cost per decision
follows the candidate cap, not the number on duty.

    python -m loadtest.matching            # 30 s per backend at 200 requests/s
    python -m loadtest.matching --quick    # 8 s per backend
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from app.kit.redis import make_redis
from app.kit.runtime import tune_gc  # as the service does at start-up

from matching import Event, InProcessPool, MatchConfig, Matcher, RedisPool, RequestSpec, SystemClock, TutorCard

from .common import percentile, report

FAKE_KPS = list(range(1, 301))  # knowledge-point ids for synthetic load (no database here)
SUBJECTS = ["chinese", "math", "english", "politics", "physics", "chemistry", "biology", "history", "geography"]
WEIGHTS = [12, 25, 18, 5, 14, 10, 6, 5, 5]  # evening demand by subject, roughly


def registered_tutors(n: int, rng: random.Random) -> list[TutorCard]:
    cards = []
    for i in range(1, n + 1):
        subject = rng.choices(SUBJECTS, WEIGHTS)[0]
        subjects = [subject] + ([rng.choice(SUBJECTS)] if rng.random() < 0.2 else [])
        bands = rng.choice([["junior"], ["junior"], ["senior"], ["junior", "senior"]])
        cards.append(TutorCard(id=i, name=f"T{i}", school=f"S{i % 646}", subjects=sorted(set(subjects)), bands=bands,
                               expertise=rng.sample(FAKE_KPS, 4), rating_sum=rng.uniform(0, 200),
                               rating_count=rng.randint(0, 50), sessions_given=rng.randint(0, 80)))
    return cards


ROUND_TRIPS = [0]


def count_round_trips() -> None:
    """Count every command and pipeline sent to Redis by this process."""
    from redis.asyncio.client import Pipeline, Redis

    from matching.redis_line import ScriptLine

    def counted(method):  # type: ignore[no-untyped-def]
        async def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            ROUND_TRIPS[0] += 1
            return await method(self, *args, **kwargs)
        return wrapper

    Redis.execute_command = counted(Redis.execute_command)  # type: ignore[method-assign]
    Pipeline.execute = counted(Pipeline.execute)  # type: ignore[method-assign]
    ScriptLine.call = counted(ScriptLine.call)  # type: ignore[method-assign]  # the matching scripts' own connection


class GcPauses:
    """The collector's pauses in this process (the pauses every request in flight waits out)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._start) * 1000)


GC_PAUSES = GcPauses()


class TimingSink:
    def __init__(self) -> None:
        self.submitted: dict[int, float] = {}
        self.first_offer: dict[int, float] = {}
        self.offers: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self.matches = 0

    async def publish(self, event: Event) -> None:
        if event.kind == "offer":
            rid = event.data["request_id"]
            if rid not in self.first_offer and rid in self.submitted:
                self.first_offer[rid] = time.perf_counter() - self.submitted[rid]
            self.offers.put_nowait((rid, event.user_id))


async def run_backend(pool, label: str, cards: list[TutorCard], on_duty: int, rate: float, seconds: float,
                      rng: random.Random) -> dict[str, float]:
    for card in rng.sample(cards, on_duty):
        await pool.put_tutor(card, time.time())
    return summarise(label, [await drive(pool, rate, seconds, rng)])


async def drive(pool, rate: float, seconds: float, rng: random.Random, id_base: int = 0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One instance's evening: arrivals at `rate`, its simulated tutors answering its offers."""
    sink = TimingSink()
    matcher = Matcher(pool, SystemClock(), sink, MatchConfig(ring_seconds=20, max_wait_s=120))

    responding: set[asyncio.Task[None]] = set()

    async def tutor_side() -> None:
        while True:
            rid, tid = await sink.offers.get()
            task = asyncio.create_task(respond(rid, tid))
            responding.add(task)
            task.add_done_callback(responding.discard)

    errors = 0

    async def respond(rid: int, tid: int) -> None:
        nonlocal errors
        await asyncio.sleep(rng.uniform(0.05, 0.3))  # the tutor reads the question
        try:
            if rng.random() < 0.1:
                await matcher.decline(rid, tid)
                return
            if (await matcher.accept(rid, tid)).ok:
                sink.matches += 1
                await asyncio.sleep(rng.expovariate(1 / 4.0))  # a compressed session
                await matcher.session_ended(tid)
        except Exception:  # noqa: BLE001 - a saturated instance times out on its Redis pool: count it
            errors += 1

    responder = asyncio.create_task(tutor_side())
    reaper = asyncio.create_task(matcher.run_reaper(0.5))
    rid = id_base

    async def arrivals(duration: float) -> tuple[int, float]:
        nonlocal rid
        start = next_at = time.perf_counter()
        first, tasks = rid + 1, []
        while (now := time.perf_counter()) - start < duration:
            if now < next_at:
                await asyncio.sleep(next_at - now)
            rid += 1
            spec = RequestSpec(id=rid, student_id=100_000 + rid, subject=rng.choices(SUBJECTS, WEIGHTS)[0],
                               band=rng.choice(["junior", "junior", "senior"]), knowledge_points=rng.sample(FAKE_KPS, 2))
            sink.submitted[rid] = time.perf_counter()
            tasks.append(asyncio.create_task(matcher.submit(spec)))
            next_at += rng.expovariate(rate)
        elapsed = time.perf_counter() - start
        nonlocal errors
        errors += sum(isinstance(r, Exception) for r in await asyncio.gather(*tasks, return_exceptions=True))
        return first, elapsed

    # Warm-up (not measured): an instance that has served for a while has its caches filled.
    await arrivals(2.0)
    sink.first_offer.clear()
    sink.matches = errors = 0
    GC_PAUSES.pauses.clear()
    cpu, trips = time.process_time(), ROUND_TRIPS[0]
    first, elapsed = await arrivals(seconds)
    cpu, trips = time.process_time() - cpu, ROUND_TRIPS[0] - trips
    pauses = list(GC_PAUSES.pauses)
    sink.first_offer = {k: v for k, v in sink.first_offer.items() if k >= first}
    total = rid - first + 1
    await asyncio.sleep(0.5)
    responder.cancel()
    reaper.cancel()
    # Sessions still running would end after the run and write keys its cleanup has swept.
    for task in list(responding):
        task.cancel()
    await asyncio.gather(responder, reaper, *responding, return_exceptions=True)
    return {"lat": [v * 1000 for v in sink.first_offer.values()], "requests": total, "elapsed": elapsed,
            "matches": sink.matches, "cpu": cpu, "errors": errors, "round_trips": trips, "gc_pauses": pauses}


async def floor(redis, rate: float, seconds: float, rng: random.Random) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The floor, same process, client and Redis, same Poisson arrivals: each "request" is the
    two round trips a request's path to its first offer needs (two trivial scripts), no work in
    between. Its p99 is what this machine and this Redis give any two round trips right now."""
    script = redis.register_script("return ARGV[1]")
    lat: list[float] = []

    async def one(i: int) -> None:
        start = time.perf_counter()
        await script(args=[i])
        await script(args=[i])
        lat.append((time.perf_counter() - start) * 1000)

    async def arrivals(duration: float) -> None:
        start = next_at = time.perf_counter()
        tasks, i = [], 0
        while time.perf_counter() - start < duration:
            if (now := time.perf_counter()) < next_at:
                await asyncio.sleep(next_at - now)
            i += 1
            tasks.append(asyncio.create_task(one(i)))
            next_at += rng.expovariate(rate)
        await asyncio.gather(*tasks)

    await arrivals(1.0)
    lat.clear()
    await arrivals(seconds)
    figures = {"floor_p50_ms": round(percentile(lat, 50), 3), "floor_p99_ms": round(percentile(lat, 99), 3)}
    for k, v in figures.items():
        print(f"  {k:32s} {v}")
    return figures


async def slowlog_id(redis) -> int:  # type: ignore[no-untyped-def]
    entries = await redis.slowlog_get(1)
    return int(entries[0]["id"]) if entries else -1


async def slow_in_redis(redis, prefix: str, after_id: int) -> int:  # type: ignore[no-untyped-def]
    """Commands of this run that Redis itself logged as slow (over its slowlog threshold, 10 ms
    by default): time spent inside Redis — a script, or Redis starved of CPU by the machine."""
    entries = await redis.slowlog_get(128)
    return sum(1 for e in entries if int(e["id"]) > after_id and prefix in _text(e["command"]))


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode(errors="replace")


def summarise(label: str, runs: list[dict[str, Any]]) -> dict[str, float]:
    lat = [v for r in runs for v in r["lat"]]
    elapsed = max(r["elapsed"] for r in runs)
    total = sum(r["requests"] for r in runs)
    figures = {
        f"{label}_requests": total, f"{label}_requests_per_s": round(total / elapsed, 1),
        f"{label}_offered": len(lat), f"{label}_matches_per_s": round(sum(r["matches"] for r in runs) / elapsed, 1),
        f"{label}_p50_ms": round(percentile(lat, 50), 3), f"{label}_p99_ms": round(percentile(lat, 99), 3),
        # of one core, per instance process
        f"{label}_cpu_share": round(max(r["cpu"] / r["elapsed"] for r in runs), 2),
        # the same without the machine's other load: CPU per request × the target rate
        f"{label}_cpu_ms_per_request": round(sum(r["cpu"] for r in runs) / total * 1000, 3),
        f"{label}_errors": sum(r["errors"] for r in runs),
        # what the machine's load cannot blur: Redis round trips per request (0 in-process)
        f"{label}_round_trips_per_request": round(sum(r["round_trips"] for r in runs) / total, 2),
        # the collector's longest pause in any instance process while measuring (a request in
        # flight waits it out), and how many collections ran
        f"{label}_gc_max_pause_ms": round(max((p for r in runs for p in r["gc_pauses"]), default=0.0), 2),
        f"{label}_gc_collections": sum(len(r["gc_pauses"]) for r in runs),
    }
    for k, v in figures.items():
        print(f"  {k:32s} {v}")
    return figures


def _instance(redis_url: str, prefix: str, rate: float, seconds: float, seed: int, id_base: int) -> dict[str, Any]:
    """A separate instance process sharing the Redis pool (the production deployment model)."""
    import uvloop

    tune_gc()
    count_round_trips()

    async def run() -> dict[str, Any]:
        redis = make_redis(redis_url)
        try:
            return await drive(RedisPool(redis, prefix), rate, seconds, random.Random(seed), id_base)
        finally:
            await redis.aclose()

    return uvloop.run(run())


async def run_instances(redis, redis_url: str, prefix: str, cards: list[TutorCard], on_duty: int, rate: float,  # type: ignore[no-untyped-def]
                        seconds: float, n: int, rng: random.Random) -> dict[str, float]:
    pool = RedisPool(redis, prefix)
    for card in rng.sample(cards, on_duty):
        await pool.put_tutor(card, time.time())
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as ex:
        runs = await asyncio.gather(*(loop.run_in_executor(ex, _instance, redis_url, prefix, rate / n, seconds,
                                                           100 + i, (i + 1) * 10_000_000) for i in range(n)))
    return summarise("redis", list(runs))


async def decision_cost(make_pool, cards: list[TutorCard], rng: random.Random) -> dict[str, float]:
    """Mean time of one ranking decision (fetch candidates + score) by tutors on duty."""
    out = {}
    for n in (500, 2000, 8000):
        pool = await make_pool()
        matcher = Matcher(pool, SystemClock(), TimingSink(), MatchConfig())
        for card in cards[:n]:
            await pool.put_tutor(card, time.time())
        spec = RequestSpec(id=1, student_id=1, subject="math", band="junior", knowledge_points=FAKE_KPS[:2])
        start = time.perf_counter()
        for _ in range(200):
            await matcher.recommend(spec, 5)
        out[n] = round((time.perf_counter() - start) / 200 * 1000, 3)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--on-duty", type=int, default=2000)
    parser.add_argument("--registered", type=int, default=15000)
    parser.add_argument("--instances", type=int, default=2, help="instance processes sharing the Redis pool")
    parser.add_argument("--only", default="inproc,single,instances,cost",
                        help="comma-separated parts to run (e.g. `--only single` while profiling)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    count_round_trips()
    seconds = 8.0 if args.quick else 30.0
    rng = random.Random(7)
    cards = registered_tutors(args.registered, rng)
    tune_gc()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench:{os.getpid()}:"
    redis = make_redis(redis_url)
    figures: dict[str, float] = {"tutors_registered": args.registered, "tutors_on_duty": args.on_duty,
                                 "target_requests_per_s": args.rate, "seconds_per_backend": seconds}
    try:
        if "inproc" in parts:
            print(f"in-process pool, {args.on_duty} of {args.registered} tutors on duty, {args.rate}/s for {seconds}s")
            figures |= await run_backend(InProcessPool(), "inproc", cards, args.on_duty, args.rate, seconds, rng)
        if parts & {"single", "instances"}:
            print(f"floor: two round trips to Redis at {redis_url} per arrival, {args.rate}/s, same process")
            figures |= await floor(redis, args.rate, seconds, rng)
        if "single" in parts:
            print(f"Redis pool at {redis_url}, one instance process")
            since = await slowlog_id(redis)
            figures |= await run_backend(RedisPool(redis, prefix + "run1:"), "redis_single", cards, args.on_duty,
                                         args.rate, seconds, rng)
            figures["redis_single_slow_in_redis"] = await slow_in_redis(redis, prefix + "run1:", since)
        if "instances" in parts:
            print(f"Redis pool, {args.instances} instance processes sharing it (arrivals split between them)")
            since = await slowlog_id(redis)
            figures |= await run_instances(redis, redis_url, prefix + "run2:", cards, args.on_duty, args.rate,
                                           seconds, args.instances, rng)
            figures["redis_instances"] = args.instances
            figures["redis_slow_in_redis"] = await slow_in_redis(redis, prefix + "run2:", since)
        if "inproc" in parts and "instances" in parts:
            figures["requests_per_s"] = min(figures["inproc_requests_per_s"], figures["redis_requests_per_s"])

        counter = iter(range(1000))

        async def fresh_redis() -> RedisPool:
            return RedisPool(redis, f"{prefix}cost{next(counter)}:")

        async def fresh_inproc() -> InProcessPool:
            return InProcessPool()

        for label, make in (("inproc", fresh_inproc), ("redis", fresh_redis)) if "cost" in parts else ():
            cost = await decision_cost(make, cards, rng)
            print(f"  {label} decision cost by tutors on duty (ms): {cost}")
            for n, ms in cost.items():
                figures[f"{label}_decision_ms_{n}_on_duty"] = ms
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=5000)]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])
        await redis.aclose()
    figures["load_average"] = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
    report("matching", figures)


if __name__ == "__main__":
    import uvloop  # the event loop uvicorn runs the service on (uvicorn[standard])

    uvloop.run(main())
