"""The live relay under an evening's load: N live pairs chatting and drawing, against the floor.

For each setup it starts real uvicorn processes on free ports of 127.0.0.1:
- embedded: one service process on SQLite, in-process events;
- production: two service processes sharing PostgreSQL and Redis, each pair's student on one
  instance and its tutor on the other.
N pairs are set up through the real API and protocol (accounts imported as rosters and approved
at three levels, see loadtest/accounts.py; sign in, 择师 request, the tutor accepts the offer,
both sides report `media connected`, the session goes live). Then each side sends `--rate`
messages per second (chat, every fourth a whiteboard stroke); latency is send → receipt of the
event on the other side. In the same run, at the same N and rate, the same clients drive a bare
FastAPI websocket relay (the floor, loadtest/relayfloor.py; across two processes through Redis
for production) and a bare echo. Both are set up first and measured in alternating windows
(`--rounds`), so that drift in the machine's conditions falls on both alike.

After the run: `lost` = messages sent but never received by the other side; `transcript_missing`
= messages sent to the service with no transcript row (read from the database once the writer
has drained, up to 30 s), `transcript_out_of_order` = rows of one sender out of send order.

    python -m loadtest.signaling --quick                  # CI size, both setups, < 2 minutes
    python -m loadtest.signaling --pairs 1000 --setup embedded
    python -m loadtest.signaling --pairs 3000 --setup production
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import text

from app.kit.runtime import tune_gc  # as the service does at start-up

from .accounts import ensure
from .common import percentile, report
from .profile import Sampler

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data" / "signaling"
PG_ADMIN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TICK = os.sysconf("SC_CLK_TCK")
STROKE_EVERY = 4


# ---------------------------------------------------------------- server processes

def _serve(kind: str) -> None:
    """Child process: bind a free port, tell the parent, serve the app (service or floor)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    target = "app.main:app" if kind == "service" else "loadtest.relayfloor:create_app"
    # The service's own uvicorn settings (app/cli.py, Dockerfile) for both the service and the
    # floor: no per-message deflate (see README, "The live relay").
    config = uvicorn.Config(target, factory=kind != "service", log_level="warning", backlog=4096,
                            ws_ping_interval=None, ws_per_message_deflate=False, lifespan="on")
    server = uvicorn.Server(config)
    import uvloop

    uvloop.run(server.serve(sockets=[sock]))


class Proc:
    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "loadtest.signaling", "--serve", kind], cwd=ROOT.parent,
                                  env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout is not None
        self.port = int(self.p.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.base) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.base} did not come up")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss(self) -> int:
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


# ---------------------------------------------------------------- clients

@dataclass
class Meter:
    sent: dict[tuple[int, str], float] = field(default_factory=dict)  # (sender, tag) → send time
    lat: list[float] = field(default_factory=list)
    measuring: bool = False
    received: int = 0

    def got(self, sender: int, tag: str) -> None:
        t = self.sent.pop((sender, tag), None)
        if t is not None:
            self.received += 1
            if self.measuring:
                self.lat.append((time.perf_counter() - t) * 1000)


class Side:
    """One websocket of a pair: a student or a tutor (service), or a bare socket (floor, echo)."""

    def __init__(self, uid: int, meter: Meter) -> None:
        self.uid, self.meter = uid, meter
        self.ws: Any = None
        self.frames: list[dict[str, Any]] = []
        self.new = asyncio.Event()
        self.setup = True
        self.reader: asyncio.Task[None] | None = None
        self.order: list[str] = []  # tags in send order (service transcript check)
        self.k = 0  # messages this side has sent, in every window so far

    async def open(self, url: str) -> "Side":
        self.ws = await websockets.connect(url, max_size=2**22, ping_interval=None, open_timeout=60)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                f = json.loads(raw)
                if f.get("type") == "event":
                    d = f["data"]
                    if f["kind"] in ("chat", "stroke"):
                        if d["from"] != self.uid:
                            self.meter.got(d["from"], d.get("text") or d.get("id"))
                        continue
                elif f.get("type") in ("chat", "stroke"):  # the floor forwards the client's frame verbatim
                    self.meter.got(f["from"], f.get("text") or f.get("id"))
                    continue
                elif f.get("type") == "ping":
                    await self.ws.send('{"type":"pong"}')
                if self.setup:
                    self.frames.append(f)
                    self.new.set()

    async def wait(self, pred, timeout: float = 60) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        async def scan() -> dict[str, Any]:
            seen = 0
            while True:
                for f in self.frames[seen:]:
                    if pred(f):
                        return f
                    if f.get("type") == "error":
                        raise RuntimeError(f"user {self.uid} got an error frame: {f}")
                seen = len(self.frames)
                self.new.clear()
                await self.new.wait()
        return await asyncio.wait_for(scan(), timeout)

    async def event(self, kind: str, timeout: float = 60, **match: Any) -> dict[str, Any]:
        return (await self.wait(lambda f: f.get("type") == "event" and f["kind"] == kind
                                and all(f["data"].get(k) == v for k, v in match.items()), timeout))["data"]

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


def message(k: int, session_id: int | None, uid: int, floor: bool) -> tuple[str, str]:
    """The k-th message of a side: (tag, frame). Chat mostly, every fourth a stroke of 24 points."""
    if k % STROKE_EVERY == STROKE_EVERY - 1:
        tag = f"s{uid}-{k}"
        msg: dict[str, Any] = {"type": "stroke", "id": tag, "color": "#1f6feb", "width": 4,
                               "points": [[1000 + 40 * i, 2000 + (k * 7 + i * 13) % 500] for i in range(24)]}
    else:
        tag = f"第{k}步 u{uid}: 先把方程两边同时乘以二, 再移项"
        msg = {"type": "chat", "text": tag}
    if floor:
        msg["from"] = uid
    else:
        msg["session_id"] = session_id
    return tag, json.dumps(msg, ensure_ascii=False)


async def drive(sides: list[tuple[Side, int | None]], meter: Meter, rate: float, warm: float, seconds: float,
                procs: list[Proc], floor: bool, profile: Path | None = None) -> Window:
    """Every side sends at `rate`/s (random phase); returns what the measured window saw.
    `profile`: py-spy the processes during the measured window, into `profile`-<n>.txt."""
    stop_at = time.perf_counter() + warm + seconds
    counts = {"sent": 0}

    async def sender(side: Side, session_id: int | None) -> None:
        await asyncio.sleep(random.uniform(0, 1 / rate))
        next_at = time.perf_counter()
        with contextlib.suppress(websockets.ConnectionClosed):
            while (now := time.perf_counter()) < stop_at:
                if now < next_at:
                    await asyncio.sleep(next_at - now)
                tag, frame = message(side.k, session_id, side.uid, floor)  # k goes on across windows: tags stay unique
                meter.sent[(side.uid, tag)] = time.perf_counter()
                side.order.append(tag)
                await side.ws.send(frame)
                counts["sent"] += 1
                side.k += 1
                next_at += 1 / rate

    for side, _ in sides:
        side.setup = False
    # The client's own collector must not stall its receipt of frames: with 2,000 sockets, the
    # accounts and the set-up behind it, a full collection walked it all for 120-250 ms a dozen
    # times a window (timed with gc.callbacks), and every frame in flight looked that late. On
    # the service's clock (young passes every 10 ms, app/kit/runtime.py) its gen-1 passes still
    # took 2.0 ms on average in the floor's windows and 3.1 ms in the service's (whose events
    # are more frames and bigger), ten a second, every frame arriving meanwhile late by up to
    # that: the instrument's own pauses, in both targets' tails. So the client collects
    # nothing while it measures: what start-up and set-up built is frozen, the collector is off
    # for the window (cycles made meanwhile wait for it), and back on after it.
    tune_gc()
    gc.disable()
    tasks = [asyncio.create_task(sender(s, sid)) for s, sid in sides]
    await asyncio.sleep(warm)
    meter.measuring, meter.lat = True, []
    # GIL-holding samples only: py-spy counts a thread blocked in C (the SQLite thread waiting
    # for work, the loop in epoll) as busy, which hid where the CPU went.
    samplers = [Sampler(p.p.pid, profile.with_name(f"{profile.name}-{n}.txt"), seconds, gil=True)
                for n, p in enumerate(procs)] if profile else []
    cpu0, sent0, t0 = sum(p.cpu_s() for p in procs), counts["sent"], time.perf_counter()
    own0 = time.process_time()
    try:
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    elapsed = time.perf_counter() - t0
    cpu = sum(p.cpu_s() for p in procs) - cpu0
    own = time.process_time() - own0
    sent = counts["sent"] - sent0
    for n, sampler in enumerate(samplers):
        summary = await asyncio.to_thread(sampler.finish, 25)
        print(f"  profile of instance {n} ({sampler.out}):", *summary.splitlines()[:60], sep="\n    ", flush=True)
    for _ in range(100):  # drain: wait up to 10 s for what is still in flight
        if not meter.sent:
            break
        await asyncio.sleep(0.1)
    meter.measuring = False
    return Window(meter.lat, sent, elapsed, cpu, own)


@dataclass
class Window:
    """What one measured window saw: latencies (ms), messages sent, seconds, the server processes'
    CPU seconds and the benchmark client's own."""

    lat: list[float]
    sent: int
    elapsed: float
    cpu: float
    own: float


def summary(windows: list[Window], meter: Meter) -> dict[str, Any]:
    """The windows of one target pooled: percentiles over every latency, rates over the sum."""
    lat = [x for w in windows for x in w.lat]
    sent, elapsed = sum(w.sent for w in windows), sum(w.elapsed for w in windows)
    return {"p50": round(percentile(lat, 50), 2), "p99": round(percentile(lat, 99), 2),
            "p90": round(percentile(lat, 90), 2), "p999": round(percentile(lat, 99.9), 2),
            "msgs_per_s": round(sent / max(elapsed, 1e-9), 1),
            "cpu_ms_per_message": round(sum(w.cpu for w in windows) * 1000 / max(sent, 1), 3),
            "lost": len(meter.sent), "sent": sent,
            # the benchmark client's own share of a core: near 1.0, the client is what limits
            "client_cpu_share": round(sum(w.own for w in windows) / max(elapsed, 1e-9), 2)}


# ---------------------------------------------------------------- floor and echo

class Rig:
    """One target's processes and sockets, held for the whole run so that its windows can
    alternate with the other target's, and the windows measured so far."""

    name = ""

    def __init__(self, pairs: int) -> None:
        self.pairs = pairs
        self.procs: list[Proc] = []
        self.sides: list[tuple[Side, int | None]] = []
        self.meter = Meter()
        self.windows: list[Window] = []

    async def window(self, rate: float, warm: float, seconds: float, profile: Path | None = None) -> Window:
        w = await drive(self.sides, self.meter, rate, warm, seconds, self.procs, floor=self.name == "floor", profile=profile)
        self.windows.append(w)
        return w

    async def stop(self) -> None:
        await asyncio.gather(*(s.close() for s, _ in self.sides))
        for p in self.procs:
            p.stop()


class FloorRig(Rig):
    """The floor's processes (one, or two through Redis for production) and its relay sockets."""

    name = "floor"

    def __init__(self, pairs: int, redis_url: str | None, procs_n: int) -> None:
        super().__init__(pairs)
        env = {"FLOOR_PREFIX": f"bench:floor:{os.getpid()}:{secrets.token_hex(3)}:"}
        if redis_url:
            env["FLOOR_REDIS_URL"] = redis_url
        self.env, self.procs_n = env, procs_n
        self.gate = asyncio.Semaphore(50)

    async def start(self) -> None:
        self.procs = [Proc("floor", self.env) for _ in range(self.procs_n)]
        await asyncio.gather(*(p.ready() for p in self.procs))

        async def pair(i: int) -> None:
            async with self.gate:
                for j, side in enumerate("ab"):
                    base = self.procs[(i + j) % len(self.procs)].base.replace("http", "ws", 1)
                    self.sides.append((await Side(2 * i + j + 1, self.meter).open(f"{base}/relay?pair={i}&side={side}"), None))

        await asyncio.gather(*(pair(i) for i in range(self.pairs)))

    async def finish(self, rate: float, warm: float, seconds: float) -> dict[str, Any]:
        """The floor's figures over its windows, then one window of the bare echo."""
        r = summary(self.windows, self.meter)
        out = {"floor_relay_p50_ms": r["p50"], "floor_relay_p90_ms": r["p90"], "floor_relay_p99_ms": r["p99"],
               "floor_relay_p999_ms": r["p999"], "floor_lost": r["lost"], "floor_cpu_ms_per_message": r["cpu_ms_per_message"],
               "floor_msgs_per_s": r["msgs_per_s"], "floor_client_cpu_share": r["client_cpu_share"]}
        await asyncio.gather(*(s.close() for s, _ in self.sides))
        meter, self.sides = Meter(), []

        async def echo(i: int) -> None:
            async with self.gate:
                base = self.procs[i % len(self.procs)].base.replace("http", "ws", 1)
                self.sides.append((await Side(i + 1, meter).open(f"{base}/echo"), None))

        await asyncio.gather(*(echo(i) for i in range(2 * self.pairs)))
        r = summary([await drive(self.sides, meter, rate, warm, seconds, self.procs, floor=True)], meter)
        return out | {"echo_p50_ms": r["p50"], "echo_p99_ms": r["p99"], "echo_lost": r["lost"]}


# ---------------------------------------------------------------- the service

async def _create_pg(db: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()


async def prepare(setup: str, data: Path, pg_db: str, prefix: str) -> tuple[dict[str, str], str]:
    """The instances' environment and the database URL; migrates and seeds the demo city once."""
    from app.config import Settings
    from app.prestart import prestart

    data.mkdir(parents=True, exist_ok=True)
    secret_file = data / "jwt-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48))
    env = {"TUTORING_JWT_SECRET": secret_file.read_text().strip(), "TUTORING_SERVICE_WINDOW": "always",
           "TUTORING_ACCESS_TOKEN_MINUTES": "720", "TUTORING_REST_AFTER_S": "86400", "TUTORING_SEED_DEMO": "false",
           "TUTORING_REDIS_PREFIX": prefix, "TUTORING_DATA_DIR": str(data / setup)}
    if setup == "embedded":
        (data / setup).mkdir(exist_ok=True)
        url = f"sqlite:///{(data / setup / 'tutoring.db').resolve()}"
        env |= {"DATABASE_URL": url, "REDIS_URL": ""}
        settings = Settings(DATABASE_URL=url, REDIS_URL=None, data_dir=data / setup, seed_demo=True,
                            jwt_secret=env["TUTORING_JWT_SECRET"])
    else:
        await _create_pg(pg_db)
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_db}"
        env |= {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}
        settings = Settings(DATABASE_URL=url, REDIS_URL=REDIS_URL, data_dir=data / setup, seed_demo=True,
                            jwt_secret=env["TUTORING_JWT_SECRET"], redis_prefix=prefix)
    await asyncio.to_thread(prestart, settings)
    return env, settings.sqlalchemy_url


async def live_pairs(procs: list[Proc], accounts: dict[str, Any], meter: Meter) -> list[tuple[Side, int | None]]:
    """Every pair through the real flow: on duty, both sockets, 择师 request, offer, accept, both
    sides' `media connected`, the session live. The student on one instance, the tutor on the other."""
    http = [httpx.AsyncClient(base_url=p.base, timeout=120, limits=httpx.Limits(max_connections=40)) for p in procs]
    sides: list[tuple[Side, int | None]] = []
    # SQLite: a request whose transaction read before another's commit cannot write any more
    # ("database is locked" at once, whatever the busy timeout), so the embedded setup is set
    # up a few pairs at a time.
    gate = asyncio.Semaphore(24 if len(procs) > 1 else 4)

    async def connect(side: Side, i: int, headers: dict[str, str]) -> Side:
        r = await http[i].post("/api/live/ticket", headers=headers)
        r.raise_for_status()
        await side.open(f"{procs[i].base.replace('http', 'ws', 1)}/ws?ticket={r.json()['ticket']}")
        await side.wait(lambda f: f.get("type") == "hello")
        return side

    async def pair(k: int) -> None:
        s, t = accounts["students"][k], accounts["tutors"][k]
        si, ti = k % len(procs), (k + 1) % len(procs)
        async with gate:
            (await http[ti].post("/api/duty", headers=t["headers"])).raise_for_status()
            tutor = await connect(Side(t["id"], meter), ti, t["headers"])
            student = await connect(Side(s["id"], meter), si, s["headers"])
            ask = {"subject": "math", "text": "压测：一元二次方程怎么配方", "mode": "chosen", "tutor_id": t["id"]}
            r = await http[si].post("/api/help-requests", headers=s["headers"], json=ask)
            if r.status_code == 409 and r.json().get("request_id"):  # left open by an interrupted run
                await http[si].post(f"/api/help-requests/{r.json()['request_id']}/cancel", headers=s["headers"])
                r = await http[si].post("/api/help-requests", headers=s["headers"], json=ask)
            if r.status_code != 201:
                raise RuntimeError(f"help request of {s['username']}: {r.status_code} {r.text}")
            rid = r.json()["id"]
            await tutor.event("offer", request_id=rid)
            r = await http[ti].post(f"/api/offers/{rid}/accept", headers=t["headers"])
            r.raise_for_status()
            sid = r.json()["session_id"]
            for side in (student, tutor):
                await side.ws.send(json.dumps({"type": "media", "session_id": sid, "state": "connected"}))
            for side in (student, tutor):
                await side.event("session_live", session_id=sid)
            sides.extend([(student, sid), (tutor, sid)])

    try:
        await asyncio.gather(*(pair(k) for k in range(len(accounts["students"]))))
    finally:
        for h in http:
            await h.aclose()
    return sides


async def transcript_check(url: str, sides: list[tuple[Side, int | None]], wait_s: float = 30) -> tuple[int, int]:
    """(missing, out_of_order): every message a side sent must have its row, in the side's send order."""
    from sqlalchemy.ext.asyncio import create_async_engine

    expected = {(sid, s.uid, tag) for s, sid in sides for tag in s.order}
    ids = sorted({sid for _, sid in sides if sid is not None})
    engine = create_async_engine(url)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(
                    "SELECT session_id, seq, sender_id, body FROM session_events WHERE kind IN ('chat', 'stroke') "
                    f"AND session_id IN ({','.join(map(str, ids)) or '0'}) ORDER BY session_id, seq"))).all()
            if len(rows) >= len(expected) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    found, last = set(), {}
    position = {(s.uid, tag): n for s, _ in sides for n, tag in enumerate(s.order)}
    disorder = 0
    for session_id, _seq, sender, body in rows:
        b = json.loads(body)
        tag = b.get("text") if "text" in b else b.get("id")
        found.add((session_id, sender, tag))
        n = position.get((sender, tag), -1)
        if n < last.get(sender, -1):
            disorder += 1
        last[sender] = n
    return len(expected - found), disorder


class ServiceRig(Rig):
    """The service's instances and its live pairs."""

    name = "service"

    def __init__(self, setup: str, pairs: int, data: Path, pg_db: str) -> None:
        super().__init__(pairs)
        self.setup, self.data, self.pg_db = setup, data, pg_db
        self.prefix = f"bench:sig:{os.getpid()}:{secrets.token_hex(3)}:"
        self.url = ""
        self.per_conn = 0.0

    async def start(self) -> None:
        env, self.url = await prepare(self.setup, self.data, self.pg_db, self.prefix)
        self.procs = [Proc("service", env) for _ in range(1 if self.setup == "embedded" else 2)]
        await asyncio.gather(*(p.ready() for p in self.procs))
        async with httpx.AsyncClient(base_url=self.procs[0].base, timeout=120) as http:
            accounts = await ensure(http, self.pairs, self.data / f"{self.setup}-accounts.json", database=self.url)
        rss0 = sum(p.rss() for p in self.procs)
        t = time.perf_counter()
        self.sides = await live_pairs(self.procs, accounts, self.meter)
        print(f"  {self.pairs} pairs live in {time.perf_counter() - t:.1f} s", flush=True)
        self.per_conn = (sum(p.rss() for p in self.procs) - rss0) / max(len(self.sides), 1)

    async def finish(self) -> dict[str, Any]:
        """The service's figures over its windows, then the transcript check; the students hang up."""
        r = summary(self.windows, self.meter)
        held = sum(1 for s, _ in self.sides if s.ws.state == websockets.protocol.State.OPEN)
        missing, disorder = await transcript_check(self.url, self.sides)
        for s, sid in self.sides[::2]:
            with contextlib.suppress(Exception):
                await s.ws.send(json.dumps({"type": "hangup", "session_id": sid}))
        await asyncio.sleep(0.5)
        return {"relay_p50_ms": r["p50"], "relay_p90_ms": r["p90"], "relay_p99_ms": r["p99"], "relay_p999_ms": r["p999"],
                "msgs_per_s": r["msgs_per_s"], "lost": r["lost"], "cpu_ms_per_message": r["cpu_ms_per_message"],
                "connections": held, "client_cpu_share": r["client_cpu_share"], "bytes_per_connection": int(self.per_conn),
                "transcript_missing": missing, "transcript_out_of_order": disorder, "instances": len(self.procs)}

    async def stop(self) -> None:
        await super().stop()
        if self.setup == "production":
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL)
            keys = [k async for k in redis.scan_iter(match=f"{self.prefix}*", count=5000)]
            for i in range(0, len(keys), 1000):
                await redis.delete(*keys[i:i + 1000])
            await redis.aclose()


REQUIRED = ("pairs", "rate_per_side", "relay_p50_ms", "relay_p99_ms", "floor_relay_p99_ms", "echo_p99_ms", "lost",
            "transcript_missing", "bytes_per_connection", "cpu_ms_per_message", "setup")


async def run_setup(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    """Both rigs set up first, then `rounds` pairs of windows, the floor's and the service's in
    turn (floor first, then service first, …): on a shared machine the conditions drift over the
    minutes a run takes (another guest's load: steal time), and a floor measured only before the
    service's set-up compared the two across that drift. Each target's figures pool its windows."""
    pairs = args.pairs or (args.quick_pairs if args.quick else (1000 if setup == "embedded" else 3000))
    rounds = max(1, args.rounds)
    window_s = args.seconds / rounds
    print(f"{setup}: {pairs} pairs, {args.rate}/s per side, {rounds} x ({args.warm}+{window_s:g} s) each; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    figures: dict[str, Any] = {"setup": setup, "pairs": pairs, "rate_per_side": args.rate, "seconds": args.seconds,
                               "rounds": rounds, "load_average_at_start": round(os.getloadavg()[0], 2)}
    floor = None if args.no_floor else FloorRig(pairs, REDIS_URL if setup == "production" else None, 1 if setup == "embedded" else 2)
    service = ServiceRig(setup, pairs, args.data_dir, args.pg_db)
    per_round: list[dict[str, float]] = []
    try:
        if floor is not None:
            await floor.start()
        await service.start()
        rigs: list[Rig] = [service] if floor is None else [floor, service]
        for n in range(rounds):
            got: dict[str, Window] = {}
            for rig in rigs if n % 2 == 0 else rigs[::-1]:
                profile = args.profile / f"{setup}-{pairs}" if args.profile and n == 0 and rig is service else None
                got[rig.name] = await rig.window(args.rate, args.warm, window_s, profile)
            per_round.append({f"{t}_p99_ms": round(percentile(w.lat, 99), 2) for t, w in got.items()})
            print(f"  round {n + 1}: " + ", ".join(f"{k} {v}" for k, v in per_round[-1].items()), flush=True)
        figures |= await service.finish()
        if floor is not None:
            figures |= await floor.finish(args.rate, args.warm, window_s)
        else:  # profiling runs only: the floor figures are missing, the ratio meaningless
            figures |= {"floor_relay_p99_ms": float("nan"), "echo_p99_ms": float("nan")}
    finally:
        await service.stop()
        if floor is not None:
            await floor.stop()
    figures["per_round"] = per_round
    figures["relay_p99_over_floor"] = round(figures["relay_p99_ms"] / max(figures["floor_relay_p99_ms"], 0.001), 2)
    for k, v in figures.items():
        print(f"  {k:28s} {v}", flush=True)
    return figures


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m loadtest.signaling")
    parser.add_argument("--quick", action="store_true", help="CI size: 20 pairs, 6 s per target")
    parser.add_argument("--setup", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--pairs", type=int, default=0, help="default: 1,000 embedded, 3,000 production")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per side")
    parser.add_argument("--seconds", type=float, default=0.0, help="measured time per target, split into --rounds windows")
    parser.add_argument("--warm", type=float, default=2.0, help="unmeasured sending before each window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per target, the floor's and the service's in turn")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="databases and cached tokens (reused)")
    parser.add_argument("--pg-db", help="default: tutoring_bench_signaling_<hash of the data dir>")
    parser.add_argument("--name", default="signaling", help="results file loadtest/results/NAME.json")
    parser.add_argument("--profile", type=Path, help="py-spy each service instance during the window, into this dir")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor and echo (profiling runs only)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.quick_pairs = 20
    # One PostgreSQL database per data dir: other checkouts on this machine run their own.
    args.pg_db = args.pg_db or "tutoring_bench_signaling_" + hashlib.sha1(str(args.data_dir.resolve()).encode()).hexdigest()[:8]
    args.seconds = args.seconds or (6.0 if args.quick else 20.0)
    runs = [await run_setup(s, args) for s in (["embedded", "production"] if args.setup == "both" else [args.setup])]
    # Top level: every required field, the worst of the setups (sums for what was lost).
    figures: dict[str, Any] = {"setup": ",".join(r["setup"] for r in runs), "runs": runs}
    for k in REQUIRED:
        if k == "setup":
            continue
        values = [r[k] for r in runs]
        figures[k] = sum(values) if k in ("lost", "transcript_missing") else max(values)
    report(args.name, figures)
    return figures


if __name__ == "__main__":
    if "--serve" in sys.argv:
        _serve(sys.argv[sys.argv.index("--serve") + 1])
    else:
        import uvloop

        uvloop.run(main())
