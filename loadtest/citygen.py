"""A realistic semester for a whole city, generated inside PostgreSQL.

646 schools in 16 districts, 330,000 junior students in 11,628 classes, 14,600 approved tutors,
2,000,000 one-to-one sessions (each with its help request, a sign-in and a points entry),
100,000 questions and 300,000 class attendances (10,000 classes of 30), all between
2026-09-01 and 2027-01-16 on weekday evenings 18:00–21:00 Asia/Shanghai. Schools differ in how
active their students are (so rates and ranks spread), and some students never take part.

Rows are made by INSERT … SELECT over generate_series (the server makes them; nothing crosses
the wire), with the rollup triggers disabled during the load and the rollups rebuilt once at the
end — the usual way to bulk-load a table with row triggers. `--scale 0.1` makes a tenth.

    python -m loadtest.citygen [--scale 1.0] [--database tutoring_bench_city]
"""
from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from app.config import Settings
from app.kit.security import hash_password
from app.prestart import migrate, seed
from app.stats.rollups import rebuild_sql

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEMESTER = ("2026-09-01", "2027-01-16")
# Every table with rollup triggers: disabled during the load, the rollups rebuilt once at the end.
SOURCES = ["tutoring_sessions", "questions", "class_attendances", "sign_ins", "activity_hours", "sign_in_hours",
           "student_days", "student_months", "points_ledger", "users"]


def counts(scale: float) -> dict[str, int]:
    return {"schools": 646, "districts": 16, "students": int(330_000 * scale), "tutors": int(14_600 * scale),
            "sessions": int(2_000_000 * scale), "questions": int(100_000 * scale),
            "attendances": int(300_000 * scale)}


def url_of(database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"


async def exists(database: str, scale: float) -> bool:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            return False
    finally:
        await admin.close()
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        return await conn.fetchval("SELECT to_regclass('bench_marker') IS NOT NULL") and \
            await conn.fetchval("SELECT scale FROM bench_marker") == scale
    finally:
        await conn.close()


def steps(n: dict[str, int], pw: str) -> list[tuple[str, str]]:
    s0, s1 = SEMESTER
    # An evening instant: a random day of the semester, 18:00–21:00 Shanghai (10:00–13:00 UTC).
    evening = (f"(timestamptz '{s0} 10:00+00' + (floor(random() * (date '{s1}' - date '{s0}')) || ' days')::interval"
               " + random() * interval '3 hours')")
    stu0 = "(SELECT min(id) FROM users WHERE role = 'student')"
    tut0 = "(SELECT min(id) FROM users WHERE role = 'tutor')"
    # Students are picked with a skew: some schools are far busier than others, and within a school
    # only an "active pool" ever takes part — between 15 % and 85 % of its students, depending on
    # the school — the first of whom take part most (student g is at school g % 646, so a school's
    # k-th student is stu0 + school + 646·k). `x.s`/`x.u` are one random school and draw per row.
    per_school = n['students'] // n['schools']
    pool = f"({per_school} * (0.15 + 0.7 * ((x.s * 7919) % {n['schools']}) / {n['schools']}.0))"
    school_draw = f"floor(power(random(), 1.5) * {n['schools']})::bigint AS s, random() AS u"
    pick_student = f"({stu0} + x.s + {n['schools']} * floor(power(x.u, 2.5) * {pool})::bigint)"
    pick_tutor = f"({tut0} + floor(random() * {n['tutors']})::bigint)"
    return [
        ("city", "INSERT INTO cities (name) VALUES ('基准市')"),
        ("districts", f"INSERT INTO districts (city_id, code, name) SELECT (SELECT id FROM cities), 'BD' || g, '第' || g || '区' "
                      f"FROM generate_series(1, {n['districts']}) g"),
        ("schools", f"INSERT INTO schools (district_id, code, name, stage) SELECT (SELECT min(id) FROM districts) + g % {n['districts']}, "
                    f"'BS' || g, '第' || g || '中学', 'junior' FROM generate_series(0, {n['schools']} - 1) g"),
        ("classes", "INSERT INTO classes (school_id, grade, name) SELECT s.id, gr, c || '班' FROM schools s, "
                    "generate_series(7, 9) gr, generate_series(1, 6) c"),
        ("students", f"""INSERT INTO users (username, password_hash, role, real_name, city_id, district_id, school_id, class_id, grade, status, created_at)
            SELECT 'bs' || g, '{pw}', 'student', '学生' || g, (SELECT id FROM cities), s.district_id, s.id, c.id, c.grade, 'active', timestamptz '2026-08-01'
            FROM generate_series(0, {n['students']} - 1) g
            JOIN schools s ON s.id = (SELECT min(id) FROM schools) + g % {n['schools']}
            JOIN classes c ON c.school_id = s.id AND c.grade = 7 + (g / {n['schools']}) % 3 AND c.name = (1 + (g / {n['schools'] * 3}) % 6) || '班'"""),
        ("tutors", f"""INSERT INTO users (username, password_hash, role, real_name, city_id, district_id, school_id, status, created_at)
            SELECT 'bt' || g, '{pw}', 'tutor', '教师' || g, (SELECT id FROM cities), s.district_id, s.id, 'active', timestamptz '2026-08-01'
            FROM generate_series(0, {n['tutors']} - 1) g JOIN schools s ON s.id = (SELECT min(id) FROM schools) + g % {n['schools']}"""),
        ("tutor profiles", """INSERT INTO tutor_profiles (user_id, title, teaches_junior, teaches_senior, fields, bio, status, submitted_at, approved_at)
            SELECT id, 'intermediate', true, false, '', '', 'approved', created_at, created_at FROM users WHERE role = 'tutor'"""),
        ("admins", f"""INSERT INTO users (username, password_hash, role, real_name, city_id, district_id, status, created_at)
            SELECT 'bench_city_admin', '{pw}', 'city_admin', '市管理员', (SELECT id FROM cities), NULL, 'active', now()
            UNION ALL SELECT 'bench_district_admin', '{pw}', 'district_admin', '区管理员', (SELECT id FROM cities), (SELECT min(id) FROM districts), 'active', now()"""),
        ("help requests", f"""INSERT INTO help_requests (student_id, subject_code, text, mode, status, wants_question, created_at, closed_at)
            SELECT {pick_student}, (ARRAY['math','physics','chemistry','english','chinese'])[1 + floor(random() * 5)::int], '题目', 'auto', 'matched', false, t, t
            FROM (SELECT {evening} AS t, {school_draw} FROM generate_series(1, {n['sessions']})) x"""),
        ("sessions", f"""INSERT INTO tutoring_sessions (request_id, student_id, tutor_id, subject_code, state, matched_at, live_at, ended_at,
                duration_s, end_reason, rating, rated_at, warnings_sent, flagged, points_booked)
            SELECT r.id, r.student_id, {pick_tutor}, r.subject_code, 'ended', r.created_at, r.created_at + interval '20 seconds',
                   r.created_at + interval '20 seconds' + d * interval '1 second', d, 'hangup_student',
                   CASE WHEN random() < 0.8 THEN 3 + floor(random() * 3)::int END, r.created_at + interval '40 minutes', 0, false, true
            FROM (SELECT h.*, 300 + floor(random() * 1500)::int AS d FROM help_requests h) r"""),
        ("points ledger", """INSERT INTO points_ledger (tutor_id, district_id, source_kind, source_id, points, created_at)
            SELECT s.tutor_id, u.district_id, 'one_to_one', s.id, round((s.duration_s / 600.0)::numeric, 2), s.ended_at
            FROM tutoring_sessions s JOIN users u ON u.id = s.tutor_id"""),
        ("questions", f"""INSERT INTO questions (student_id, subject_code, text, status, created_at)
            SELECT {pick_student}, 'math', '问题', 'open', {evening} FROM (SELECT {school_draw} FROM generate_series(1, {n['questions']})) x"""),
        # The Q&A centre: nine in ten questions answered (an hour later), half of those accepted.
        ("answers", f"""INSERT INTO answers (question_id, tutor_id, text, created_at, flagged, accepted_at)
            SELECT q.id, {pick_tutor}, '解答', q.created_at + interval '1 hour', false,
                   CASE WHEN q.id % 2 = 0 THEN q.created_at + interval '2 hours' END
            FROM questions q WHERE q.id % 10 <> 0"""),
        ("answered questions", """UPDATE questions q SET answer_count = 1,
            status = CASE WHEN a.accepted_at IS NULL THEN 'open' ELSE 'accepted' END,
            accepted_answer_id = CASE WHEN a.accepted_at IS NULL THEN NULL ELSE a.id END, closed_at = a.accepted_at
            FROM answers a WHERE a.question_id = q.id"""),
        ("live classes", f"""INSERT INTO live_classes (tutor_id, subject_code, title, starts_at, ended_at)
            SELECT {pick_tutor}, 'physics', '互动课堂', t, t + interval '30 minutes'
            FROM (SELECT {evening} AS t FROM generate_series(1, {n['attendances']} / 30)) x"""),
        # A class draws 30 consecutive students of one school's active pool (distinct by construction).
        ("class attendances", f"""INSERT INTO class_attendances (live_class_id, student_id, joined_at, seconds)
            SELECT x.id, {stu0} + x.s + {n['schools']} * (floor(x.u * greatest({pool} - 30, 0))::bigint + k), x.starts_at + k * interval '10 seconds', 1500
            FROM (SELECT c.id, c.starts_at, {school_draw} FROM live_classes c) x, generate_series(0, 29) k"""),
        ("sign-ins", """INSERT INTO sign_ins (user_id, at, method)
            SELECT student_id, live_at - interval '2 minutes', 'password' FROM tutoring_sessions
            UNION ALL SELECT tutor_id, min(live_at) - interval '5 minutes', 'password' FROM tutoring_sessions GROUP BY tutor_id, live_at::date"""),
    ]


async def build(database: str, scale: float) -> dict[str, int]:
    """Create `database` afresh and fill it; returns the row counts."""
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = url_of(database)
    await asyncio.to_thread(migrate, url)
    await seed(Settings(database_url=url, redis_url=None), demo=False)  # subjects and knowledge points
    n = counts(scale)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        await conn.execute("SET synchronous_commit = off")
        for table in SOURCES:
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        pw = hash_password("bench1234")
        for label, sql in steps(n, pw):
            t = time.perf_counter()
            await conn.execute(sql)
            print(f"  {label:<18} {time.perf_counter() - t:6.1f} s", flush=True)
        t = time.perf_counter()
        async with conn.transaction():
            for sql in rebuild_sql("postgresql"):
                await conn.execute(sql)
        for table in SOURCES:
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        print(f"  {'rollups':<18} {time.perf_counter() - t:6.1f} s", flush=True)
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  {'vacuum analyze':<18} {time.perf_counter() - t:6.1f} s", flush=True)
        await conn.execute("CREATE TABLE bench_marker (scale float)")
        await conn.execute("INSERT INTO bench_marker VALUES ($1)", scale)
        return await row_counts(conn)
    finally:
        await conn.close()


async def upgrade(database: str) -> None:
    """Bring a database built by an earlier version to the current schema: a migration that adds a
    rollup builds it from the records (and analyses). Then vacuum and analyse, as autovacuum would
    in time: fresh statistics, and visibility maps so the rollups' covering indexes are read alone."""
    await asyncio.to_thread(migrate, url_of(database))
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    out = {}
    for key, sql in [("schools", "SELECT count(*) FROM schools"),
                     ("students", "SELECT count(*) FROM users WHERE role = 'student'"),
                     ("tutors", "SELECT count(*) FROM users WHERE role = 'tutor'"),
                     ("sessions", "SELECT count(*) FROM tutoring_sessions"),
                     ("questions", "SELECT count(*) FROM questions"),
                     ("answers", "SELECT count(*) FROM answers"),
                     ("class_attendances", "SELECT count(*) FROM class_attendances"),
                     ("sign_ins", "SELECT count(*) FROM sign_ins"),
                     ("points_entries", "SELECT count(*) FROM points_ledger"),
                     ("activity_hours_rows", "SELECT count(*) FROM activity_hours")]:
        out[key] = await conn.fetchval(sql)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--database", default="tutoring_bench_city")
    args = ap.parse_args()
    print(asyncio.run(build(args.database, args.scale)))


if __name__ == "__main__":
    main()
