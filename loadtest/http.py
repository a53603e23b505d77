"""The HTTP side of the 18:00 rush: authenticated reads against a floor, and a burst of sign-ins.

One service process (`uvicorn app.main:app`, production setup: PostgreSQL + Redis, a database
and a key prefix of its own, the demo city seeded into it) and, in the same run and under the
same uvicorn flags, a bare FastAPI app — the floor — whose one endpoint decodes the same JWT and
runs one asyncpg query. Load comes from Debian's `wrk` (`scripts/ensure-wrk.sh` installs it), a
separate C process, so the load generator does not eat the Python CPU it measures:

- `GET /api/auth/me` and `GET /api/sessions` with tokens of `--users` signed-in students,
  round-robin, `--connections` (50) connections, next to the floor and `GET /healthz`; requests
  per second, p50/p99 and the server's CPU per request (from /proc), over `--rounds` rounds
  taken in turn so that a noisy neighbour hurts every target alike;
- a burst of `--burst` (200) concurrent sign-ins (distinct students) while a separate probe
  process asks `GET /healthz` every 10 ms on the same instance: its p99 shows whether password
  hashing holds the event loop.

    python -m loadtest.http            # 3 rounds of 8 s per target, a burst of 200 sign-ins
    python -m loadtest.http --quick    # 1 round of 1 s, 20 sign-ins (the suite runs this)
    python -m loadtest.http --profile  # also py-spy (PyPI) samples of the service per target

Needs PostgreSQL at TEST_PG_DSN (default postgres@127.0.0.1:5432) and Redis at REDIS_URL.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .common import RESULTS, percentile, report

PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "demo1234"  # every demo account's
# wrk's Lua: tokens taken round-robin, figures written as one JSON line at the end.
WRK_SCRIPT = r"""
local tokens = {%(tokens)s}
local i = 0
request = function()
  i = i + 1
  if #tokens == 0 then return wrk.format("GET", "%(path)s") end
  return wrk.format("GET", "%(path)s", {["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\n', summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


# --- the floor: what one authenticated read costs with nothing but FastAPI, PyJWT and asyncpg --
def floor_app():  # type: ignore[no-untyped-def]
    """`uvicorn --factory loadtest.http:floor_app`: decode the bearer JWT, one asyncpg query."""
    import asyncpg
    import jwt
    from fastapi import FastAPI, Header, HTTPException

    secret, dsn = os.environ["TUTORING_JWT_SECRET"], os.environ["FLOOR_PG_DSN"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No reset query on release (asyncpg's default sends one, a round trip per request): the
        # service's hot reads skip it too (app/kit/reads.py), and a floor must not be padded.
        async def keep(_conn: Any) -> None:
            return None

        app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=30, reset=keep)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/floor")
    async def floor(authorization: str = Header()) -> dict[str, Any]:
        try:
            claims = jwt.decode(authorization.removeprefix("Bearer "), secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401) from None
        row = await app.state.pool.fetchrow(
            "SELECT id, username, role, real_name, school_id, status FROM users WHERE id = $1", int(claims["sub"]))
        return dict(row)

    return app


# --- processes -----------------------------------------------------------------------------
def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn takes an inherited socket (`--fd`) for a UNIX one and so never sets TCP_NODELAY on
    # what it accepts: each answer (headers, then body: two writes) then waited for the client's
    # delayed ACK, ~40 ms — the p50 of a lone /healthz probe, and a ceiling of ~1,100 req/s at 50
    # connections for every target. Linux hands the listener's TCP_NODELAY to accepted sockets,
    # as uvicorn's own `--port` sockets have it.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))  # a free port from the OS: other engineers run this too
    sock.listen(2048)
    return sock


def serve(target: str, env: dict[str, str], factory: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn on an inherited socket, flags as in the README's production command."""
    sock = _listen()
    args = [sys.executable, "-m", "uvicorn", target, "--fd", str(sock.fileno()), "--log-level", "warning"]
    if factory:
        args.append("--factory")
    proc = subprocess.Popen(args, env={**os.environ, **env}, pass_fds=[sock.fileno()],
                            stdout=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()
    return proc, base


async def wait_ready(base: str, path: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server for {base} exited with {proc.returncode}")
            try:
                if (await client.get(base + path)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base} did not answer in {timeout}s")
            await asyncio.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_wrk(stdout: str) -> dict[str, Any]:
    """The JSON line our wrk script's done() writes, as figures."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("WRK ")]
    if not lines:
        raise ValueError(f"no figures in wrk's output: {stdout[-500:]!r}")
    raw = json.loads(lines[-1][4:])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"requests": raw["requests"], "seconds": seconds, "rps": raw["requests"] / seconds if seconds else 0.0,
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000, "errors": errors,
            "non_2xx": raw["status"]}


def wrk(url: str, path: str, tokens: list[str], seconds: float, connections: int, script_dir: Path) -> dict[str, Any]:
    script = script_dir / f"wrk-{secrets.token_hex(3)}.lua"
    script.write_text(WRK_SCRIPT % {"tokens": ", ".join(json.dumps(t) for t in tokens), "path": path})
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
                          url + path], capture_output=True, text=True, check=True)
    return parse_wrk(out.stdout)


# --- the run -------------------------------------------------------------------------------
async def sign_in(client: Any, base: str, username: str) -> tuple[int, float, str | None]:
    t = time.perf_counter()
    r = await client.post(base + "/api/auth/sign-in", json={"username": username, "password": PASSWORD})
    token = r.json().get("access_token") if r.status_code == 200 else None
    return r.status_code, (time.perf_counter() - t) * 1000, token


async def burst(base: str, n: int) -> dict[str, Any]:
    """n concurrent sign-ins of distinct students while the probe watches /healthz."""
    import httpx

    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    # The probe runs for as long as the burst lasts: it is stopped by a sentinel file instead
    # of a guessed duration, so its p99 covers the whole burst and nothing after it.
    probe = ctx.Process(target=_probe_until, args=(base, 0.01, q, STOP_FILE))
    STOP_FILE.unlink(missing_ok=True)
    probe.start()
    await asyncio.sleep(1.0)  # the probe's baseline before the burst
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=n + 10), timeout=120) as client:
        t = time.perf_counter()
        results = await asyncio.gather(*(sign_in(client, base, f"student{i + 1}") for i in range(n)))
        elapsed = time.perf_counter() - t
    STOP_FILE.touch()
    lat = q.get(timeout=60)
    probe.join(timeout=10)
    STOP_FILE.unlink(missing_ok=True)
    ok = [ms for status, ms, _ in results if status == 200]
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"burst_signins": n, "burst_ok": len(ok), "burst_statuses": statuses, "burst_seconds": round(elapsed, 2),
            "signin_p50_ms": round(percentile(ok, 50), 1), "signin_p99_ms": round(percentile(ok, 99), 1),
            "burst_healthz_probes": len(lat), "burst_healthz_p50_ms": round(percentile(lat, 50), 2),
            "burst_healthz_p99_ms": round(percentile(lat, 99), 2),
            "burst_healthz_max_ms": round(max(lat), 2) if lat else None}


STOP_FILE = Path(tempfile.gettempdir()) / f"loadtest-http-{os.getpid()}.stop"


def _probe_until(url: str, interval: float, out: Any, stop: Path) -> None:
    import http.client

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    lat: list[float] = []
    next_at = time.perf_counter()
    while not stop.exists():
        now = time.perf_counter()
        if now < next_at:
            time.sleep(next_at - now)
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        lat.append((time.perf_counter() - t) * 1000)
        next_at = max(next_at + interval, time.perf_counter())
    out.put(lat)


async def create_database(name: str) -> str:
    import asyncpg

    from app.config import Settings
    from app.prestart import migrate, seed

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    host = PG_ADMIN_DSN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN_DSN.split("//", 1)[1].split("@", 1)[0]
    url = f"postgresql://{user}@{host}/{name}"
    settings = Settings(DATABASE_URL=url, jwt_secret="seed-only", seed_demo=True)
    await asyncio.to_thread(migrate, settings.sqlalchemy_url)
    await seed(settings, demo=True)
    return url


async def busiest_students(url: str, n: int) -> list[str]:
    """The students with the most sessions in the demo history: their lists are not empty."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT u.username FROM users u JOIN tutoring_sessions s ON s.student_id = u.id "
                                "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT $1", n)
    finally:
        await conn.close()
    return [r[0] for r in rows]


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def clear_redis(prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])
    finally:
        await redis.aclose()


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("  (py-spy not found: pip install py-spy)")
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--format", "raw",
                             "--nonblocking", "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run scripts/ensure-wrk.sh")
    run_id = f"{os.getpid()}_{secrets.token_hex(2)}"
    db_name, prefix = f"tutoring_bench_http_{run_id}", f"bench:http:{run_id}:"
    secret = secrets.token_urlsafe(32)
    procs: list[subprocess.Popen[bytes]] = []
    figures: dict[str, Any] = {"connections": args.connections, "seconds_per_target": args.seconds,
                               "rounds": args.rounds, "users": args.users}
    t0 = time.perf_counter()
    url = await create_database(db_name)
    print(f"database {db_name} migrated and seeded with the demo city in {time.perf_counter() - t0:.1f}s")
    try:
        env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "TUTORING_REDIS_PREFIX": prefix,
               "TUTORING_JWT_SECRET": secret, "TUTORING_SEED_DEMO": "false", "FLOOR_PG_DSN": url}
        service, base = serve("app.main:app", env)
        floor, floor_base = serve("loadtest.http:floor_app", env, factory=True)
        procs += [service, floor]
        await wait_ready(base, "/healthz", service)
        await wait_ready(floor_base, "/docs", floor)
        print(f"service pid {service.pid} at {base}; floor pid {floor.pid} at {floor_base}; {os.cpu_count()} cores,"
              f" load average {os.getloadavg()[0]:.2f}")

        async with httpx.AsyncClient(timeout=60) as client:
            tokens = []
            for username in await busiest_students(url, args.users):
                status, _, token = await sign_in(client, base, username)
                if token is None:
                    raise RuntimeError(f"sign-in of {username} answered {status}")
                tokens.append(token)
            me = await client.get(base + "/api/auth/me", headers={"Authorization": f"Bearer {tokens[0]}"})
            mine = await client.get(base + "/api/sessions", headers={"Authorization": f"Bearer {tokens[0]}"})
            fl = await client.get(floor_base + "/floor", headers={"Authorization": f"Bearer {tokens[0]}"})
            for r in (me, mine, fl):
                r.raise_for_status()
            figures["sessions_listed_first_user"] = len(mine.json())

        targets = {"floor": (floor, floor_base, "/floor"), "healthz": (service, base, "/healthz"),
                   "me": (service, base, "/api/auth/me"), "sessions": (service, base, "/api/sessions")}
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in targets}
        RESULTS.mkdir(exist_ok=True)  # py-spy writes its samples there (and fails silently without it)
        with tempfile.TemporaryDirectory() as tmp:
            for name, (proc, url_, path) in targets.items():  # warm-up, not measured
                await asyncio.to_thread(wrk, url_, path, tokens, min(1.0, args.seconds), args.connections, Path(tmp))
            for r in range(args.rounds):
                for name, (proc, url_, path) in targets.items():
                    spy = py_spy(proc.pid, args.seconds, RESULTS / f"http-profile-{name}-{r}.txt") \
                        if args.profile else None
                    cpu = cpu_seconds(proc.pid)
                    w = await asyncio.to_thread(wrk, url_, path, tokens, args.seconds, args.connections, Path(tmp))
                    w["cpu_us_per_request"] = (cpu_seconds(proc.pid) - cpu) / max(w["requests"], 1) * 1e6
                    samples[name].append(w)
                    if spy is not None:
                        spy.wait()
                    print(f"  round {r + 1} {name:9s} {w['rps']:8.0f} req/s  p50 {w['p50_ms']:6.1f} ms  "
                          f"p99 {w['p99_ms']:7.1f} ms  cpu {w['cpu_us_per_request']:6.0f} µs/req  errors {w['errors']}")
        for name, runs in samples.items():
            figures[f"{name}_rps"] = round(sum(s["rps"] for s in runs) / len(runs), 1)
            figures[f"{name}_p50_ms"] = round(sum(s["p50_ms"] for s in runs) / len(runs), 2)
            figures[f"{name}_p99_ms"] = round(sum(s["p99_ms"] for s in runs) / len(runs), 2)
            figures[f"{name}_cpu_us_per_request"] = round(sum(s["cpu_us_per_request"] for s in runs) / len(runs))
            figures[f"{name}_errors"] = sum(s["errors"] for s in runs)
        figures["me_vs_floor"] = round(figures["me_rps"] / figures["floor_rps"], 2)
        figures["sessions_vs_floor"] = round(figures["sessions_rps"] / figures["floor_rps"], 2)
        figures["errors"] = sum(figures[f"{k}_errors"] for k in targets)

        print(f"burst of {args.burst} concurrent sign-ins, /healthz probed every 10 ms meanwhile")
        figures |= await burst(base, args.burst)
        figures["load_average"] = round(os.getloadavg()[0], 2)
        figures["cores"] = os.cpu_count()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await drop_database(db_name)
        await clear_redis(prefix)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s per target, 20 sign-ins")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--users", type=int, default=None, help="signed-in students whose tokens the load uses")
    parser.add_argument("--burst", type=int, default=None, help="concurrent sign-ins (at most 200: distinct students)")
    parser.add_argument("--profile", action="store_true", help="py-spy raw samples into loadtest/results/")
    args = parser.parse_args()
    args.seconds = args.seconds or (1.0 if args.quick else 8.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.users = args.users or (4 if args.quick else 40)
    args.burst = min(args.burst or (20 if args.quick else 200), 200)
    figures = asyncio.run(run(args))
    for k, v in figures.items():
        print(f"  {k:28s} {v}")
    report("http", figures)


if __name__ == "__main__":
    main()
