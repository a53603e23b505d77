"""Micro-lesson streaming: N concurrent viewers stream one lesson with HTTP range requests from
the service (signed link → FileResponse, after sign-in, upload, processing and approval through
the real API), next to a bare Starlette FileResponse of the very same file, in the same run.

Each viewer keeps one HTTP/1.1 connection and behaves like a player: it reads the start of the
file in 512 KiB ranges, seeks to a random point and reads on. Both servers are uvicorn in their
own process (one worker each) on sockets bound to 127.0.0.1 port 0; the viewers are a minimal
asyncio HTTP client in this process, so client cost is the same for both. The two are measured
alternately, twice each, and the better run of each is reported (the machine is shared: compare
the two figures of one run, not runs with each other).

    python -m loadtest.lessons [--quick] [--viewers N]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .common import percentile, report

RANGE = 512 * 1024


def floor_app():  # type: ignore[no-untyped-def]
    """The floor: Starlette serving one file, nothing else (uvicorn --factory)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = os.environ["LESSON_BENCH_FILE"]

    async def serve(_request):  # type: ignore[no-untyped-def]
        return FileResponse(path, media_type="video/mp4")

    return Starlette(routes=[Route("/file", serve)])


def _listen() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    s.set_inheritable(True)
    return s


def _serve(target: str, env: dict[str, str], factory: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    sock = _listen()
    cmd = [sys.executable, "-m", "uvicorn", target, "--fd", str(sock.fileno()), "--log-level", "warning",
           "--no-access-log", "--backlog", "1024"] + (["--factory"] if factory else [])
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, pass_fds=[sock.fileno()])
    port = sock.getsockname()[1]
    sock.close()
    return proc, f"http://127.0.0.1:{port}"


async def _ready(base: str, path: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            try:
                if (await c.get(base + path)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


async def _viewer(host: str, port: int, path: str, size: int, budget: int, rng: random.Random,
                  ttfb: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    got = 0
    offsets = list(range(0, min(size, budget // 2), RANGE))
    seek = rng.randrange(0, max(1, size - budget // 2)) // RANGE * RANGE
    offsets += list(range(seek, min(size, seek + budget // 2), RANGE))
    try:
        for start in offsets:
            end = min(size, start + RANGE) - 1
            t0 = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nRange: bytes={start}-{end}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 206"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            first = await reader.read(min(length, 65536))
            ttfb.append(time.perf_counter() - t0)
            remaining = length - len(first)
            while remaining:
                chunk = await reader.read(min(remaining, 1 << 20))
                if not chunk:
                    raise RuntimeError("connection closed mid-body")
                remaining -= len(chunk)
            got += length
    finally:
        writer.close()
    return got


async def _measure(base: str, path: str, size: int, viewers: int, budget: int) -> dict[str, float]:
    host, port = base.removeprefix("http://").split(":")
    ttfb: list[float] = []
    rng = random.Random(7)
    t0 = time.perf_counter()
    sizes = await asyncio.gather(*[_viewer(host, int(port), path, size, budget, random.Random(rng.random()), ttfb)
                                   for _ in range(viewers)])
    wall = time.perf_counter() - t0
    return {"mb_s": sum(sizes) / wall / 1e6, "ttfb_p99_ms": percentile(ttfb, 99) * 1000, "requests": len(ttfb),
            "bytes": sum(sizes), "wall_s": wall}


async def _publish(base: str, video: Path) -> str:
    """Sign in as the bench tutor, upload, wait for processing, approve as the admin, and return
    the student's signed link."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        async def sign_in(user: str) -> dict[str, str]:
            r = await c.post("/api/auth/sign-in", json={"username": user, "password": "bench-password"})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}
        th, ah, sh = [await sign_in(u) for u in ("bench_tutor", "bench_admin", "bench_student")]
        kp = (await c.get("/api/subjects/physics/knowledge-points", headers=th)).json()[0]["id"]
        lesson = (await c.post("/api/lessons", headers=th, json={"title": "bench", "subject": "physics", "band": "junior",
                                                                  "knowledge_point_ids": [kp]})).json()
        (await c.put(f"/api/lessons/{lesson['id']}/video", headers=th, content=video.read_bytes())).raise_for_status()
        for _ in range(600):
            got = (await c.get(f"/api/lessons/{lesson['id']}", headers=th)).json()
            if got["media_status"] != "processing":
                break
            await asyncio.sleep(0.1)
        assert got["media_status"] == "ready", got
        (await c.post(f"/api/lessons/{lesson['id']}/approve", headers=ah)).raise_for_status()
        play = (await c.post(f"/api/lessons/{lesson['id']}/plays", headers=sh)).json()
        return str(play["video_url"])


def _prepare(data: Path) -> dict[str, str]:
    """An embedded database with reference data and the four bench accounts."""
    from app.kit.db import make_engine, make_sessionmaker
    from app.kit.security import hash_password
    from app.models import City, District, School, SchoolClass, TutorProfile, TutorSubject, User
    from app.prestart import migrate
    from app.seed.reference import seed_reference

    url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
    migrate(url)

    async def seed() -> None:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as db:
            await seed_reference(db)
            city = City(name="bench")
            db.add(city)
            await db.flush()
            district = District(city_id=city.id, code="BD", name="bench")
            db.add(district)
            await db.flush()
            school = School(district_id=district.id, code="BS", name="bench", stage="junior")
            db.add(school)
            await db.flush()
            klass = SchoolClass(school_id=school.id, grade=8, name="1")
            db.add(klass)
            await db.flush()
            pw = hash_password("bench-password")
            scope = dict(city_id=city.id, district_id=district.id, school_id=school.id)
            tutor = User(username="bench_tutor", password_hash=pw, role="tutor", real_name="t", **scope)
            db.add_all([tutor, User(username="bench_admin", password_hash=pw, role="school_admin", real_name="a", **scope),
                        User(username="bench_student", password_hash=pw, role="student", real_name="s", class_id=klass.id,
                             grade=8, **scope)])
            await db.flush()
            db.add(TutorProfile(user_id=tutor.id, title="intermediate", teaches_junior=True, status="approved"))
            await db.flush()
            db.add(TutorSubject(user_id=tutor.id, subject_code="physics"))
            await db.commit()
        await engine.dispose()

    asyncio.run(seed())
    return {"DATABASE_URL": f"sqlite://{'/' + str(data / 'bench.db')}", "TUTORING_DATA_DIR": str(data),
            "TUTORING_JWT_SECRET": "bench-secret-" + os.urandom(24).hex(), "TUTORING_SEED_DEMO": "false",
            "TUTORING_LESSON_STREAM_TTL_S": "86400"}


async def run(viewers: int, budget: int, rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.lessons.videos import make_video  # the suite's PyAV test-pattern maker

    with tempfile.TemporaryDirectory(prefix="lesson-bench-") as tmp:
        data = Path(tmp)
        video = make_video(data / "noise.mp4", 8.0, size=(320, 240), fps=10, noise=True)
        env = await asyncio.to_thread(_prepare, data)
        service, base = _serve("app.main:app", env)
        try:
            await _ready(base, "/healthz")
            link = await _publish(base, video)
            key = link.split("/")[-1].split("?")[0]
            stored = data / "lessons" / key
            size = stored.stat().st_size
            floor, floor_base = _serve("loadtest.lessons:floor_app", {"LESSON_BENCH_FILE": str(stored)}, factory=True)
            try:
                await _ready(floor_base, "/file")
                print(f"lesson file {size / 1e6:.1f} MB; {viewers} viewers × {budget / 1e6:.1f} MB in {RANGE // 1024} KiB ranges")
                for b, path in ((floor_base, "/file"), (base, link)):  # warm both (first-request costs)
                    await _measure(b, path, size, 4, 2 * RANGE)
                best: dict[str, dict[str, float]] = {}
                for r in range(rounds):
                    for name, b, path in (("floor", floor_base, "/file"), ("service", base, link)):
                        got = await _measure(b, path, size, viewers, budget)
                        print(f"  round {r + 1} {name:8s} {got['mb_s']:8.1f} MB/s  ttfb p99 {got['ttfb_p99_ms']:7.1f} ms  "
                              f"({got['requests']} ranges, {got['wall_s']:.2f} s)")
                        if name not in best or got["mb_s"] > best[name]["mb_s"]:
                            best[name] = got
            finally:
                floor.terminate()
                floor.wait(10)
        finally:
            service.terminate()
            service.wait(10)
    s, f = best["service"], best["floor"]
    print(f"service {s['mb_s']:.1f} MB/s = {s['mb_s'] / f['mb_s']:.2f} × the bare FileResponse ({f['mb_s']:.1f} MB/s)")
    return {"viewers": viewers, "service_mb_s": round(s["mb_s"], 1), "floor_mb_s": round(f["mb_s"], 1),
            "ttfb_p99_ms": round(s["ttfb_p99_ms"], 1), "floor_ttfb_p99_ms": round(f["ttfb_p99_ms"], 1),
            "ratio": round(s["mb_s"] / f["mb_s"], 3), "bytes_per_viewer": budget, "range_bytes": RANGE}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 viewers instead of 200")
    ap.add_argument("--viewers", type=int, default=None)
    args = ap.parse_args()
    viewers = args.viewers or (20 if args.quick else 200)
    budget = 2 * 1024 * 1024
    report("lessons", asyncio.run(run(viewers, budget, 2)))


if __name__ == "__main__":
    main()
