"""How fast the city-wide statistics are at the scale of a whole city's semester.

Builds (once; reused while its scale matches) a PostgreSQL database with a whole city's
semester (`loadtest/citygen.py`: 646 schools, 330,000 students, 14,600 tutors, 2,000,000
sessions, 100,000 questions, 300,000 class attendances), then times the real HTTP endpoints
in-process (httpx → ASGI app → PostgreSQL), warm: one warm-up call, then the median of 5.

A school's table and the online rate are kept until what they count changes (app/stats/changes.py):
their first request is timed apart (`*_first_s`), and the school's table again right after the
go-lives below changed its inputs (`school_table_after_change_s`: one shard of the city's schools
re-read), and the online rate after a student signed in (`online_rate_after_sign_in_s`: one shard
of the users re-counted; the sign-in is kept, as sign-ins are never taken back).

The dashboard on a month is timed as the page asks for it, one request (`GET /api/stats/dashboard`),
with nothing kept (the kept figures dropped before each call), and each of its tables from its own
endpoint one by one. Then 50 admins (each their own school or district) open their dashboards at
once: `dashboard_concurrent_p99_s` is the 99th percentile of the time until an admin has the answer
(three rounds after a warm-up, nothing kept between rounds), `dashboard_concurrent_kept_p99_s` a
fourth round within the 15 s the answers are kept.

Then it checks the rollups stay exact while sessions keep ending: new sessions of one school go
live (each an UPDATE that fires the rollup triggers, on a connection with the service's session
settings), timed against a floor measured in the same run (the same UPDATE and commit with the
triggers off), then once more without waiting for the disk at commit (what the triggers add in
execution), with each trigger function's own time; the school's row, its day of the trend and the
tutor's month are fetched from the API and compared with the same figures counted straight from
the raw records, then a student signs in and the online rate's students are compared with a count
over the raw sign-ins, and the new sessions are deleted again (triggers again) so the database stays
reusable. The load average at the start and end is printed and written with the figures.

A database built by an earlier version is brought to the current schema first (`alembic upgrade
head`: new rollups are built from the records by their migration), then analysed.

    python -m loadtest.stats            # the full city (the first build takes a few minutes)
    python -m loadtest.stats --quick    # a tenth of the data
    python -m loadtest.stats --rebuild  # regenerate the data first
    python -m loadtest.stats --database NAME  # a bench database of one's own (built if missing)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from app.config import Settings
from app.kit.db import PG_CONNECT_ARGS
from app.main import create_app

from . import citygen
from .common import percentile, report

PERIOD = {"from": citygen.SEMESTER[0], "to": citygen.SEMESTER[1]}
SH = ZoneInfo("Asia/Shanghai")
GO_LIVE_AT = datetime(2026, 12, 1, 19, 30, tzinfo=SH)  # inside the semester, whatever day the benchmark runs
MONTH = {"from": "2026-12-01", "to": "2027-01-01"}
# The one request the admin dashboard sends when it opens on a month (app/web/static/js/views/dashboard.js) …
DASHBOARD = ("/api/stats/dashboard", MONTH)
# … and the six tables it holds, each from its own endpoint (what the page sent before; timed one by one).
FIGURES = [("/api/stats/trend", MONTH), ("/api/stats/participation", MONTH),
             ("/api/stats/hot-spots", {**MONTH, "limit": 10}), ("/api/stats/leaderboards/students", {**MONTH, "limit": 10}),
             ("/api/stats/leaderboards/classes", {**MONTH, "limit": 10}), ("/api/stats/stars", {"month": "2026-12"})]
TARGETS = {"dashboard_month_s": 0.5, "city_table_s": 0.2, "school_table_s": 0.1, "online_rate_s": 0.2, "payroll_s": 0.2,
           "go_live_update_ms": 2.0, "dashboard_concurrent_p99_s": 2.0}
ADMINS = 50
# The session settings of the service's connections (app/kit/db.py): the go-live is timed under them.
APP_SETTINGS = dict(PG_CONNECT_ARGS["server_settings"])


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, Any], headers: dict[str, str], runs: int = 5,
                before: Any = None) -> tuple[float, Any]:
    """Median of `runs` calls after a warm-up; `before()` runs before each (e.g. to drop kept figures)."""
    r = await client.get(path, params=params, headers=headers)  # warm-up
    r.raise_for_status()
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t = time.perf_counter()
        r = await client.get(path, params=params, headers=headers)
        times.append(time.perf_counter() - t)
        r.raise_for_status()
    return statistics.median(times), r.json()


RAW_ROW = """
WITH acts AS (
  SELECT x.student_id, 'o' AS k FROM tutoring_sessions x JOIN users u ON u.id = x.student_id
   WHERE u.school_id = $1 AND x.live_at >= $2 AND x.live_at < $3
  UNION ALL SELECT x.student_id, 'q' FROM questions x JOIN users u ON u.id = x.student_id
   WHERE u.school_id = $1 AND x.created_at >= $2 AND x.created_at < $3
  UNION ALL SELECT x.student_id, 'a' FROM class_attendances x JOIN users u ON u.id = x.student_id
   WHERE u.school_id = $1 AND x.joined_at >= $2 AND x.joined_at < $3)
SELECT count(DISTINCT student_id) FILTER (WHERE k = 'o') AS one_to_one_students,
       count(DISTINCT student_id) FILTER (WHERE k = 'q') AS question_students,
       count(DISTINCT student_id) FILTER (WHERE k = 'a') AS one_to_many_students,
       count(DISTINCT student_id) AS participants,
       count(*) FILTER (WHERE k = 'o') AS one_to_one_sessions, count(*) FILTER (WHERE k = 'q') AS questions,
       count(*) FILTER (WHERE k = 'a') AS one_to_many_attendances FROM acts"""


async def new_sessions(conn: asyncpg.Connection, school_id: int, n: int, ids: list[int]) -> list[int]:
    """n new matched sessions of the school's students (not live yet); their ids are appended to `ids`."""
    students = [r[0] for r in await conn.fetch(
        "SELECT id FROM users WHERE school_id = $1 AND role = 'student' ORDER BY random() LIMIT $2", school_id, n)]
    tutor = await conn.fetchval("SELECT min(id) FROM users WHERE role = 'tutor'")
    made = []
    for k in range(n):
        u = students[k % len(students)]
        req = await conn.fetchval("INSERT INTO help_requests (student_id, subject_code, text, mode, status, wants_question, created_at) "
                                  "VALUES ($1, 'math', 'bench', 'auto', 'matched', false, now()) RETURNING id", u)
        made.append(await conn.fetchval(
            "INSERT INTO tutoring_sessions (request_id, student_id, tutor_id, subject_code, state, matched_at, warnings_sent, flagged, points_booked) "
            "VALUES ($1, $2, $3, 'math', 'connecting', now(), 0, false, false) RETURNING id", req, u, tutor))
    ids.extend(made)
    return made


GO_LIVE = "UPDATE tutoring_sessions SET state = 'live', live_at = $2 WHERE id = $1"


async def sessions_go_live(conn: asyncpg.Connection, school_id: int, n: int, ids: list[int]) -> float:
    """n new sessions of the school's students (their ids appended to `ids`) go live one by one,
    each its own transaction as in the service, inside the semester; returns the mean time of the
    go-live UPDATE with its triggers and commit, in ms."""
    made = await new_sessions(conn, school_id, n, ids)
    t = time.perf_counter()
    for sid in made:
        await conn.execute(GO_LIVE, sid, GO_LIVE_AT)
    return (time.perf_counter() - t) / n * 1000


async def go_live_floor(conn: asyncpg.Connection, school_id: int, n: int) -> float:
    """The same go-live UPDATE and commit with every trigger off (session_replication_role =
    replica): the floor the triggers add to. The sessions are deleted again with the triggers
    still off, so the rollups never saw them (they were never live with the triggers on)."""
    made = await new_sessions(conn, school_id, n, [])
    await conn.execute("SET session_replication_role = replica")
    try:
        t = time.perf_counter()
        for sid in made:
            await conn.execute(GO_LIVE, sid, GO_LIVE_AT)
        took = (time.perf_counter() - t) / n * 1000
        for sid in made:
            req = await conn.fetchval("DELETE FROM tutoring_sessions WHERE id = $1 RETURNING request_id", sid)
            await conn.execute("DELETE FROM help_requests WHERE id = $1", req)
    finally:
        await conn.execute("SET session_replication_role = origin")
    return took


async def trigger_costs(conn: asyncpg.Connection, school_id: int, n: int, ids: list[int]) -> dict[str, float]:
    """Per trigger function, its own time per go-live in ms (PostgreSQL's function statistics,
    `track_functions = pl`, read inside the transaction of n go-lives)."""
    made = await new_sessions(conn, school_id, n, ids)
    await conn.execute("SET track_functions = 'pl'")
    async with conn.transaction():
        for sid in made:
            await conn.execute(GO_LIVE, sid, GO_LIVE_AT)
        rows = await conn.fetch("SELECT funcname, calls, self_time FROM pg_stat_xact_user_functions ORDER BY self_time DESC")
    return {r["funcname"]: round(r["self_time"] / n, 3) for r in rows}


async def admins(conn: asyncpg.Connection, n: int) -> list[str]:
    """n admins with the benchmark password, each of their own school or district (made once)."""
    pw = await conn.fetchval("SELECT password_hash FROM users WHERE username = 'bench_city_admin'")
    districts = n // 4
    await conn.execute(
        "INSERT INTO users (username, password_hash, role, real_name, city_id, district_id, school_id, status, created_at) "
        "SELECT 'bench_admin_s' || s.id, $1, 'school_admin', '校管理员', d.city_id, s.district_id, s.id, 'active', now() "
        "FROM schools s JOIN districts d ON d.id = s.district_id ORDER BY s.id LIMIT $2 ON CONFLICT (username) DO NOTHING", pw, n - districts)
    await conn.execute(
        "INSERT INTO users (username, password_hash, role, real_name, city_id, district_id, status, created_at) "
        "SELECT 'bench_admin_d' || d.id, $1, 'district_admin', '区管理员', d.city_id, d.id, 'active', now() "
        "FROM districts d ORDER BY d.id LIMIT $2 ON CONFLICT (username) DO NOTHING", pw, districts)
    return [r[0] for r in await conn.fetch(
        "(SELECT username FROM users WHERE username LIKE 'bench_admin_s%' ORDER BY id LIMIT $1) "
        "UNION ALL (SELECT username FROM users WHERE username LIKE 'bench_admin_d%' ORDER BY id LIMIT $2)", n - districts, districts)]


async def dashboards_at_once(c: httpx.AsyncClient, tokens: list[dict[str, str]]) -> list[float]:
    """Every admin opens the dashboard at the same moment; each one's time until its answer
    (infinite if one failed, e.g. no database connection free within the pool's 30 s)."""
    async def one(headers: dict[str, str]) -> float:
        t = time.perf_counter()
        try:
            r = await c.get(DASHBOARD[0], params=DASHBOARD[1], headers=headers)
            r.raise_for_status()
        except Exception as e:  # noqa: BLE001 - counted as a failed dashboard, reported below
            print(f"  a dashboard failed: {type(e).__name__}: {str(e)[:120]}", flush=True)
            return float("inf")
        return time.perf_counter() - t
    return list(await asyncio.gather(*[one(h) for h in tokens]))


async def run(quick: bool, rebuild: bool, database: str | None = None) -> dict[str, Any]:
    scale = 0.1 if quick else 1.0
    database = database or ("tutoring_bench_city_q" if quick else "tutoring_bench_city")
    load_before = os.getloadavg()[0]
    if rebuild or not await citygen.exists(database, scale):
        print(f"building {database} at scale {scale} …", flush=True)
        await citygen.build(database, scale)
    else:
        await citygen.upgrade(database)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    usernames = await admins(conn, ADMINS)
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
            # The first request of a school's table and of the online rate computes what is then kept
            # until its inputs change (app/stats/changes.py): timed apart, then warm as the others.
            first_s = {}
            for name, params in (("school_table", {**PERIOD, "school_id": school_id}), ("online_rate", PERIOD)):
                t = time.perf_counter()
                path = "/api/stats/participation" if name == "school_table" else "/api/stats/online-rate"
                (await c.get(path, params=params, headers=city)).raise_for_status()
                first_s[name] = time.perf_counter() - t
            school_s, one = await timed(c, "/api/stats/participation", {**PERIOD, "school_id": school_id}, city)
            online_s, online = await timed(c, "/api/stats/online-rate", PERIOD, city)
            payroll_s, pay = await timed(c, "/api/stats/payroll", {**PERIOD, "district_id": district_id}, district)
            # A city admin's dashboard on a month: each of its tables from its own endpoint, then the
            # page's one request with nothing kept (the figures dropped before each call).
            dashboard_s = {path.rsplit("/", 1)[-1]: (await timed(c, path, params, city, runs=5))[0] for path, params in FIGURES}
            month_s, _ = await timed(c, *DASHBOARD, city, runs=5, before=lambda: app.state.figures.clear())
            tokens = [await token(u) for u in usernames]
            await dashboards_at_once(c, tokens)  # warm-up
            waits = []
            for _ in range(3):  # each round cold: nothing kept from the round before
                app.state.figures.clear()
                waits += await dashboards_at_once(c, tokens)
            kept = await dashboards_at_once(c, tokens)  # within the 15 s the answers are kept
            # Sessions keep ending while the figures are read: the rollups must follow exactly.
            # The go-live as the service runs it: a connection with the service's settings (app/kit/db.py).
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}", server_settings=APP_SETTINGS)
            new_ids: list[int] = []
            try:
                period = [datetime.fromisoformat(PERIOD[k]).replace(tzinfo=SH) for k in ("from", "to")]
                # The school's table as it stood (the dashboards above dropped what was kept); after
                # the go-lives only the changed shard of the city's schools is read again.
                (await c.get("/api/stats/participation", params={**PERIOD, "school_id": school_id}, headers=city)).raise_for_status()
                (await c.get("/api/stats/online-rate", params=PERIOD, headers=city)).raise_for_status()
                before = dict(await conn.fetchrow(RAW_ROW, school_id, *period))
                floor_ms = await go_live_floor(conn, school_id, 200)
                go_live_ms = await sessions_go_live(conn, school_id, 200, new_ids)
                costs = await trigger_costs(conn, school_id, 50, new_ids)
                # The same without waiting for the disk at each commit (synchronous_commit off): what
                # the triggers add in execution, apart from flushing the WAL they write (which swings
                # with everyone else's disk traffic on this machine).
                await conn.execute("SET synchronous_commit = off")
                floor_off_ms = await go_live_floor(conn, school_id, 200)
                live_off_ms = await sessions_go_live(conn, school_id, 200, new_ids)
                await conn.execute("SET synchronous_commit = on")
                t = time.perf_counter()  # the sessions changed the kept ranking's inputs: recomputed
                api_row = (await c.get("/api/stats/participation", params={**PERIOD, "school_id": school_id},
                                       headers=city)).json()["rows"][0]
                after_change_s = time.perf_counter() - t
                # A student signs in (a sign-in hour of the period, kept: sign-ins are never taken back):
                # the online rate re-counts that user's shard of the city's users.
                await conn.execute(
                    "INSERT INTO sign_ins (user_id, at, method) SELECT id, $1, 'password' FROM users "
                    "WHERE school_id = $2 AND role = 'student' ORDER BY random() LIMIT 1", GO_LIVE_AT - timedelta(hours=1), school_id)
                t = time.perf_counter()
                online_after = (await c.get("/api/stats/online-rate", params=PERIOD, headers=city)).json()["rows"]
                online_after_s = time.perf_counter() - t
                # The same counted from the raw sign-ins and users (the students' groups; ~1 s).
                raw_online = []
                for grades in ((7, 9), (10, 12)):
                    raw_online.append(tuple(await conn.fetchrow(
                        "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM sign_ins s WHERE s.user_id = u.id AND s.at >= $1 AND s.at < $2)), "
                        "count(*) FROM users u WHERE u.role = 'student' AND u.created_at < $2 AND u.grade BETWEEN $3 AND $4 "
                        "AND u.city_id = (SELECT city_id FROM users WHERE username = 'bench_city_admin')", *period, *grades)))
                raw = dict(await conn.fetchrow(RAW_ROW, school_id, *period))
                day = [GO_LIVE_AT.replace(hour=0, minute=0), GO_LIVE_AT.replace(hour=0, minute=0) + timedelta(days=1)]
                raw_day = dict(await conn.fetchrow(RAW_ROW, school_id, *day))
                api_day = (await c.get("/api/stats/trend", params={"from": "2026-12-01", "to": "2026-12-02", "school_id": school_id},
                                       headers=city)).json()["rows"][0]
                tutor = await conn.fetchval("SELECT min(id) FROM users WHERE role = 'tutor'")
                raw_tutor = tuple(await conn.fetchrow(
                    "SELECT count(*), coalesce(sum(duration_s), 0), count(rating) FROM tutoring_sessions "
                    "WHERE tutor_id = $1 AND live_at >= $2 AND live_at < $3", tutor,
                    *[datetime.fromisoformat(MONTH[k]).replace(tzinfo=SH) for k in ("from", "to")]))
                kept_tutor = tuple(await conn.fetchrow(
                    "SELECT sessions, seconds, rated FROM tutor_months WHERE tutor_id = $1 AND month = $2", tutor, (2026 - 1970) * 12 + 11))
            finally:
                for sid in new_ids:
                    req = await conn.fetchval("DELETE FROM tutoring_sessions WHERE id = $1 RETURNING request_id", sid)
                    await conn.execute("DELETE FROM help_requests WHERE id = $1", req)
                await conn.close()
    exact = (raw["one_to_one_sessions"] == before["one_to_one_sessions"] + 450 and all(api_row[k] == v for k, v in raw.items())
             and (api_day["participations"], api_day["participants"]) == (
                 raw_day["one_to_one_sessions"] + raw_day["questions"] + raw_day["one_to_many_attendances"], raw_day["participants"])
             and raw_tutor == kept_tutor
             and [(g["online"], g["registered"]) for g in online_after if g["group"].endswith("学生")] == raw_online)
    p99 = percentile(waits, 99)
    rows = table["rows"]
    print(f"city table ({len(rows)} schools): {city_s:.3f} s; top school rate {rows[0]['participation_rate']} %, "
          f"sessions counted {sum(r['one_to_one_sessions'] for r in rows):,}, attendances {sum(r['one_to_many_attendances'] for r in rows):,}")
    print(f"one school's table: {school_s:.3f} s (rank {one['rows'][0]['city_rank']}); its first request "
          f"{first_s['school_table']:.3f} s, after 450 sessions of the school went live {after_change_s:.3f} s")
    print(f"online rate: {online_s:.3f} s; its first request {first_s['online_rate']:.3f} s, after a student signed in {online_after_s:.3f} s  "
          f"{[(g['group'], g['online'], g['registered']) for g in online['rows']]}")
    print(f"district payroll ({len(pay['tutors'])} tutors, {pay['total_points']} points): {payroll_s:.3f} s")
    print("dashboard on a month, its tables one by one: " + ", ".join(f"{k} {v:.3f} s" for k, v in dashboard_s.items())
          + f"; all {sum(dashboard_s.values()):.3f} s; the page's one request, nothing kept: {month_s:.3f} s")
    print(f"200 sessions went live: {go_live_ms:.2f} ms per go-live UPDATE with its rollup triggers and commit "
          f"(floor, the same without triggers: {floor_ms:.2f} ms); the school's row equals a count over the raw records: {exact}")
    print("  trigger functions' own time per go-live (ms): " + ", ".join(f"{k} {v}" for k, v in costs.items()))
    print(f"  without waiting for the disk at commit: {live_off_ms:.2f} ms against a floor of {floor_off_ms:.2f} ms "
          f"(the triggers add {live_off_ms - floor_off_ms:.2f} ms)")
    failed = sum(w == float("inf") for w in waits)
    print(f"{ADMINS} admins opening their dashboards at once, nothing kept: p50 {percentile(waits, 50):.3f} s, p99 {p99:.3f} s"
          f"{f', {failed} of {len(waits)} failed' if failed else ''}; again within 15 s (kept): p99 {percentile(kept, 99):.3f} s")
    print(f"load average (1 min) at the start {load_before:.2f}, at the end {os.getloadavg()[0]:.2f}")
    if not exact:
        print(f"  API {api_row}\n  raw {raw}\n  trend {api_day} raw {raw_day}\n  tutor month {kept_tutor} raw {raw_tutor}"
              f"\n  online {online_after} raw (students) {raw_online}")
    figures = {"rollups_exact": exact, "go_live_update_ms": round(go_live_ms, 3), "go_live_floor_ms": round(floor_ms, 3),
            "go_live_triggers_added_ms": round(live_off_ms - floor_off_ms, 3),
            "go_live_trigger_ms": costs, "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "dashboard_month_s": round(month_s, 4), "dashboard_tables_one_by_one_s": round(sum(dashboard_s.values()), 4),
            "dashboard_concurrent_kept_p99_s": round(percentile(kept, 99), 4), "city_table_s": round(city_s, 4), "school_table_s": round(school_s, 4), "online_rate_s": round(online_s, 4),
            "school_table_first_s": round(first_s["school_table"], 4), "school_table_after_change_s": round(after_change_s, 4),
            "online_rate_first_s": round(first_s["online_rate"], 4),
        "online_rate_after_sign_in_s": round(online_after_s, 4),
            "payroll_s": round(payroll_s, 4), "dashboard_concurrent_p99_s": round(p99, 4) if p99 != float("inf") else None,
            "dashboard_concurrent_failed": failed,
            "dashboard_s": {k: round(v, 4) for k, v in dashboard_s.items()}, "scale": scale,
            **{f"rows_{k}": v for k, v in counts.items()}}
    met = {k: figures[k] is not None and figures[k] <= v for k, v in TARGETS.items()}
    figures["targets_met"] = figures["rollups_exact"] and all(met.values())
    print("targets: " + ", ".join(f"{k} {figures[k]} {'≤' if met[k] else '>'} {v}" for k, v in TARGETS.items()))
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the city")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data")
    ap.add_argument("--database", help="the bench database's name (default tutoring_bench_city[_q]); built if missing")
    args = ap.parse_args()
    report("stats", asyncio.run(run(args.quick, args.rebuild, args.database)))


if __name__ == "__main__":
    main()
