"""How fast the city-wide statistics are at the scale of a whole city's semester.

Builds (once; reused while its scale matches) a PostgreSQL database with a whole city's
semester (`loadtest/citygen.py`: 646 schools, 330,000 students, 14,600 tutors, 2,000,000
sessions, 100,000 questions, 300,000 class attendances), then times the real HTTP endpoints
in-process (httpx → ASGI app → PostgreSQL), warm: one warm-up call, then the median of 5.

    python -m loadtest.stats            # the full city (the first build takes a few minutes)
    python -m loadtest.stats --quick    # a tenth of the data
    python -m loadtest.stats --rebuild  # regenerate the data first
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import asyncpg
import httpx

from app.config import Settings
from app.main import create_app

from . import citygen
from .common import report

PERIOD = {"from": citygen.SEMESTER[0], "to": citygen.SEMESTER[1]}


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, Any], headers: dict[str, str], runs: int = 5) -> tuple[float, Any]:
    r = await client.get(path, params=params, headers=headers)  # warm-up
    r.raise_for_status()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = await client.get(path, params=params, headers=headers)
        times.append(time.perf_counter() - t)
        r.raise_for_status()
    return statistics.median(times), r.json()


async def run(quick: bool, rebuild: bool) -> dict[str, Any]:
    scale = 0.1 if quick else 1.0
    database = "tutoring_bench_city_q" if quick else "tutoring_bench_city"
    if rebuild or not await citygen.exists(database, scale):
        print(f"building {database} at scale {scale} …", flush=True)
        await citygen.build(database, scale)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    counts = await citygen.row_counts(conn)
    school_id = await conn.fetchval("SELECT min(id) FROM schools")
    district_id = await conn.fetchval("SELECT min(id) FROM districts")
    await conn.close()

    settings = Settings(database_url=citygen.url_of(database), redis_url="redis://127.0.0.1:6379/0",
                        redis_prefix=f"bench:{time.time_ns()}:", seed_demo=False, match_reaper=False,
                        jwt_secret="benchmark-only-secret-0123456789abcdef")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120) as c:
            async def token(user: str) -> dict[str, str]:
                r = await c.post("/api/auth/sign-in", json={"username": user, "password": "bench1234"})
                r.raise_for_status()
                return {"Authorization": f"Bearer {r.json()['access_token']}"}
            city, district = await token("bench_city_admin"), await token("bench_district_admin")
            city_s, table = await timed(c, "/api/stats/participation", PERIOD, city)
            school_s, one = await timed(c, "/api/stats/participation", {**PERIOD, "school_id": school_id}, city)
            online_s, online = await timed(c, "/api/stats/online-rate", PERIOD, city)
            payroll_s, pay = await timed(c, "/api/stats/payroll", {**PERIOD, "district_id": district_id}, district)
    rows = table["rows"]
    print(f"city table ({len(rows)} schools): {city_s:.3f} s; top school rate {rows[0]['participation_rate']} %, "
          f"sessions counted {sum(r['one_to_one_sessions'] for r in rows):,}, attendances {sum(r['one_to_many_attendances'] for r in rows):,}")
    print(f"one school's table: {school_s:.3f} s (rank {one['rows'][0]['city_rank']})")
    print(f"online rate: {online_s:.3f} s  {[(g['group'], g['online'], g['registered']) for g in online['rows']]}")
    print(f"district payroll ({len(pay['tutors'])} tutors, {pay['total_points']} points): {payroll_s:.3f} s")
    return {"city_table_s": round(city_s, 4), "school_table_s": round(school_s, 4), "online_rate_s": round(online_s, 4),
            "payroll_s": round(payroll_s, 4), "scale": scale, **{f"rows_{k}": v for k, v in counts.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the city")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data")
    args = ap.parse_args()
    report("stats", asyncio.run(run(args.quick, args.rebuild)))


if __name__ == "__main__":
    main()
