"""Benchmark accounts made the way a district makes them: the district admin imports a student
roster and a tutor roster (CSV, `POST /api/rosters/…`), and every imported tutor goes through
the three-level review (school → district → city, `POST /api/tutors/applications/{id}/approve`).

It starts from the demo city (its admins do the importing and the approving) and adds only the
accounts a run needs beyond those a previous run already made, so a database is reused.
Passwords are hashed with argon2 on import and on sign-in (tens of ms each), so the tokens of a
run are cached beside the database; the benchmark's instances issue long-lived access tokens.
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import httpx

DEMO_PASSWORD = "demo1234"
PASSWORD = "bench-pass-2026"
SCHOOL = "HD01"  # 海淀实验中学; its admin is school_admin1, its district's is district_admin1
STUDENT, TUTOR = "bench_s{}", "bench_t{}"
IMPORT_BATCH = 250


def address(username: str) -> str:
    """Where an account signs in from: every student and tutor at their own home. The instances
    trust X-Forwarded-For from 127.0.0.1 (uvicorn's default, as behind the load balancer), so
    the per-address sign-in throttle sees a city, not one benchmark client."""
    h = int(hashlib.sha1(username.encode()).hexdigest()[:6], 16)
    return f"10.{h >> 16}.{(h >> 8) & 255}.{h & 255}"


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await http.post("/api/auth/sign-in", json={"username": username, "password": password},
                        headers={"X-Forwarded-For": address(username)})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


async def ensure(http: httpx.AsyncClient, pairs: int, cache: Path, database: str) -> dict[str, Any]:
    """Make sure `pairs` students and approved tutors exist; returns {"students": [...], "tutors": [...]}
    of {"username", "id", "headers"}."""
    district = await sign_in(http, "district_admin1", DEMO_PASSWORD)
    schools = {s["code"]: s for s in (await http.get("/api/schools", headers=district)).json()}
    school = schools[SCHOOL]
    classes = (await http.get(f"/api/schools/{school['id']}/classes", headers=district)).json()
    klass = next(c for c in classes if c["grade"] == 8)
    done = json.loads(cache.read_text()) if cache.exists() else {}
    if done.get("database") != database:  # the cache describes another database
        done = {"database": database, "made": 0, "tokens": {}}
    made = done["made"]
    if made < pairs:
        await _import(http, district, made, pairs, klass)
        await _review(http)
        done["made"] = pairs
        cache.write_text(json.dumps(done))
    tokens: dict[str, str] = done["tokens"]
    names = [STUDENT.format(i) for i in range(pairs)] + [TUTOR.format(i) for i in range(pairs)]
    missing = [n for n in names if n not in tokens]
    gate = asyncio.Semaphore(8)

    async def one(name: str) -> None:
        async with gate:
            tokens[name] = (await sign_in(http, name))["Authorization"]

    if missing:
        print(f"  signing in {len(missing)} accounts (argon2, once; tokens cached) …", flush=True)
        await asyncio.gather(*(one(n) for n in missing))
        cache.write_text(json.dumps(done))
    out: dict[str, Any] = {"students": [], "tutors": []}
    gate = asyncio.Semaphore(16)

    async def me(kind: str, name: str) -> dict[str, Any]:
        async with gate:
            headers = {"Authorization": tokens[name]}
            r = await http.get("/api/auth/me", headers=headers)
            if r.status_code == 401:  # expired or signed out: sign in again
                headers = await sign_in(http, name)
                tokens[name] = headers["Authorization"]
                r = await http.get("/api/auth/me", headers=headers)
            r.raise_for_status()
            return {"username": name, "id": r.json()["id"], "headers": headers}

    out["students"] = await asyncio.gather(*(me("s", STUDENT.format(i)) for i in range(pairs)))
    out["tutors"] = await asyncio.gather(*(me("t", TUTOR.format(i)) for i in range(pairs)))
    cache.write_text(json.dumps(done))
    return out


async def _import(http: httpx.AsyncClient, district: dict[str, str], start: int, stop: int, klass: dict[str, Any]) -> None:
    print(f"  roster import of students and tutors {start}..{stop - 1} as district_admin1 …", flush=True)
    for lo in range(start, stop, IMPORT_BATCH):
        hi = min(stop, lo + IMPORT_BATCH)
        header = {"students": ["username", "real_name", "school_code", "grade", "class_name", "password"],
                  "tutors": ["username", "real_name", "school_code", "title", "subjects", "grade_bands", "password"]}
        students = [[STUDENT.format(i), f"压测学生{i}", SCHOOL, "8", klass["name"], PASSWORD] for i in range(lo, hi)]
        tutors = [[TUTOR.format(i), f"压测教师{i}", SCHOOL, "中级", "math", "初中", PASSWORD] for i in range(lo, hi)]
        for kind, rows in (("students", students), ("tutors", tutors)):
            body = _csv(header[kind], rows)
            # A run that died after importing leaves accounts the cache does not know: a dry run
            # names the usernames taken, and only the others are imported.
            check = await http.post(f"/api/rosters/{kind}?dry_run=true", headers=district, timeout=600,
                                    files={"file": (f"{kind}.csv", body, "text/csv")})
            taken = {e["error"].split("'")[1] for e in check.json().get("errors", []) if "is taken" in e["error"]}
            rows = [r for r in rows if r[0] not in taken]
            if not rows:
                continue
            r = await http.post(f"/api/rosters/{kind}", headers=district, timeout=600,
                                files={"file": (f"{kind}.csv", _csv(header[kind], rows), "text/csv")})
            if r.status_code != 201:
                raise RuntimeError(f"roster import of {kind} failed: {r.status_code} {r.text[:500]}")


async def _review(http: httpx.AsyncClient) -> None:
    """Each level approves what waits for it (the queue shows up to 500 at a time)."""
    for admin in ("school_admin1", "district_admin1", "city_admin"):
        headers = await sign_in(http, admin, DEMO_PASSWORD)
        while True:
            queue = (await http.get("/api/tutors/applications", headers=headers)).json()
            if not queue:
                break
            for app in queue:
                r = await http.post(f"/api/tutors/applications/{app['tutor_id']}/approve", headers=headers,
                                    json={"reason": "benchmark roster"})
                r.raise_for_status()
            print(f"  {admin} approved {len(queue)} tutor applications", flush=True)
