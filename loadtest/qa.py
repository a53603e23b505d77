"""How fast the Q&A centre's tutor feed and Chinese search are on PostgreSQL, warm.

Builds its own database `tutoring_bench_qa` (reused while its size matches; `--rebuild` makes it
again): 200 schools, 20,000 students of grades 7–12, 2,000 approved tutors (one or two subjects,
junior and/or senior), and 100,000 questions (`--quick`: 10,000) written from a vocabulary of
school words and the knowledge-point names, each tagged with a knowledge point, nine in ten
answered and half of those accepted — with their search documents built by the application's
own tokenizer (app/qa/search.py). The load goes in with COPY and the rollup triggers of the
questions and of their knowledge points off (this benchmark reads no statistics).

Then, through the real HTTP API in-process (httpx → ASGI app → PostgreSQL), after a warm-up:
- feed: `GET /api/qa/feed` for random tutors (one in four filtered by a knowledge point);
- search: `GET /api/qa/search` with three of a sampled question's own words; a hit is the
  question among the results (`search_hit_rate`);
- floor: `GET /api/auth/me` (sign-in check, one indexed query), timed the same way in the same
  run — the machine is shared, so read the figures against it;
- beside each p50/p99, the CPU time this process spent per request (`*_cpu_ms`: client, app and
  driver, not the database server), which the other tenants of the machine move far less.

    python -m loadtest.qa [--quick] [--rebuild] [--requests 400] [--database tutoring_bench_qa]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx

from app.config import Settings
from app.kit.security import hash_password
from app.main import create_app
from app.prestart import migrate, seed
from app.qa.search import terms

from .common import percentile, report

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "tutoring_bench_qa"
PASSWORD = "bench1234"
WORDS = ("电流 电压 电阻 功率 热量 速度 加速度 压强 浮力 密度 质量 重力 摩擦力 杠杆 滑轮 透镜 焦距 光线 反射 折射 "
         "温度 比热容 熔化 汽化 磁场 电磁铁 发电机 电动机 串联 并联 函数 方程 不等式 二次 顶点 坐标 抛物线 三角形 全等 "
         "相似 勾股 圆心 半径 切线 概率 统计 平均数 方差 因式 分解 根号 绝对值 数轴 斜率 截距 化学式 元素 分子 原子 "
         "离子 化合价 溶液 溶质 浓度 酸碱 中和 氧化 还原 催化剂 沉淀 气体 实验 步骤 现象 结论 细胞 遗传 基因 生态 光合 "
         "呼吸 消化 血液 神经 朝代 变法 战争 条约 革命 经纬 气候 河流 地形 人口 城市 语法 时态 从句 单词 阅读 作文 "
         "古诗 文言 修辞 段落 中心 论点 论据 图像 表格 单位 公式 推导 证明 计算 估算 误差 变化 关系 规律 条件 答案").split()
TEMPLATES = ["{kp}里{a}和{b}的关系怎么判断？{c}这一步看不懂", "做{kp}的题时{a}为什么会{b}？老师讲的{c}没听明白",
             "请问{a}与{b}在{kp}中怎么用？{c}总是算错", "{kp}：已知{a}和{b}，求{c}，卡住了"]


def sizes(quick: bool) -> dict[str, int]:
    return {"schools": 200, "students": 20_000, "tutors": 2_000, "questions": 10_000 if quick else 100_000}


async def _marker(n: dict[str, int]) -> bool:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            return False
    finally:
        await admin.close()
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")
    try:
        return bool(await conn.fetchval("SELECT to_regclass('bench_marker') IS NOT NULL")) and \
            await conn.fetchval("SELECT questions FROM bench_marker") == n["questions"]
    finally:
        await conn.close()


async def build(n: dict[str, int]) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"
    await asyncio.to_thread(migrate, url)
    await seed(Settings(database_url=url, redis_url=None), demo=False)  # subjects and knowledge points
    rng = random.Random(17)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")
    try:
        await conn.execute("SET synchronous_commit = off")
        for table in ("questions", "question_knowledge_points"):
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        t0 = time.perf_counter()
        city = await conn.fetchval("INSERT INTO cities (name) VALUES ('问答基准市') RETURNING id")
        district = await conn.fetchval("INSERT INTO districts (city_id, code, name) VALUES ($1, 'QD', '问答区') RETURNING id", city)
        await conn.execute("INSERT INTO schools (district_id, code, name, stage) SELECT $1, 'QS' || g, '第' || g || '中学', 'complete' "
                           "FROM generate_series(1, $2) g", district, n["schools"])
        schools = [r[0] for r in await conn.fetch("SELECT id FROM schools ORDER BY id")]
        pw = hash_password(PASSWORD)
        at = datetime(2026, 8, 1, tzinfo=timezone.utc)
        users = [(f"qs{i}", pw, "student", f"学生{i}", city, district, schools[i % len(schools)], 7 + i % 6, "active", at)
                 for i in range(n["students"])]
        users += [(f"qt{i}", pw, "tutor", f"教师{i}", city, district, schools[i % len(schools)], None, "active", at)
                  for i in range(n["tutors"])]
        await conn.copy_records_to_table("users", records=users, columns=[
            "username", "password_hash", "role", "real_name", "city_id", "district_id", "school_id", "grade", "status", "created_at"])
        students = [(r[0], r[1]) for r in await conn.fetch("SELECT id, grade FROM users WHERE role = 'student' ORDER BY id")]
        tutors = [r[0] for r in await conn.fetch("SELECT id FROM users WHERE role = 'tutor' ORDER BY id")]
        subjects = [r[0] for r in await conn.fetch("SELECT code FROM subjects ORDER BY position")]
        names = {r[0]: (r[1], r[2]) for r in await conn.fetch("SELECT code, name_zh, name_en FROM subjects")}
        kps: dict[str, list[tuple[int, str]]] = {}
        for kp_id, code, name in await conn.fetch("SELECT id, subject_code, name FROM knowledge_points k WHERE NOT EXISTS "
                                                  "(SELECT 1 FROM knowledge_points c WHERE c.parent_id = k.id)"):  # the leaves
            kps.setdefault(code, []).append((kp_id, name))
        profiles, teach = [], []
        by_subject: dict[str, list[int]] = {}
        for i, tid in enumerate(tutors):
            junior, senior = (True, False) if i % 3 == 0 else (False, True) if i % 3 == 1 else (True, True)
            profiles.append((tid, "intermediate", junior, senior, "", "", "approved", at, at))
            for code in dict.fromkeys([subjects[i % len(subjects)], subjects[(i * 7 + 3) % len(subjects)]][: 1 + i % 2]):
                teach.append((tid, code))
                by_subject.setdefault(code, []).append(tid)
        await conn.copy_records_to_table("tutor_profiles", records=profiles, columns=[
            "user_id", "title", "teaches_junior", "teaches_senior", "fields", "bio", "status", "submitted_at", "approved_at"])
        await conn.copy_records_to_table("tutor_subjects", records=teach, columns=["user_id", "subject_code"])
        print(f"  users and tutors    {time.perf_counter() - t0:6.1f} s", flush=True)

        t0 = time.perf_counter()
        start = datetime(2026, 9, 1, 10, tzinfo=timezone.utc)
        questions, answers, tags, docs = [], [], [], []
        for qid in range(1, n["questions"] + 1):
            sid, grade = students[rng.randrange(len(students))]
            code = rng.choice(subjects)
            kp_id, kp_name = rng.choice(kps[code])
            a, b, c = rng.sample(WORDS, 3)
            text = rng.choice(TEMPLATES).format(kp=kp_name, a=a, b=b, c=c)
            created = start + timedelta(days=rng.randrange(130), seconds=rng.randrange(3 * 3600))
            answered, accepted = qid % 10 != 0, qid % 2 == 0 and qid % 10 != 0
            status = "accepted" if accepted else "open"
            questions.append((qid, sid, code, text, status, created, "senior" if grade >= 10 else "junior", int(answered),
                              False, qid if accepted else None, created + timedelta(hours=2) if accepted else None))
            tags.append((qid, kp_id))
            parts = [text, kp_name, *names[code]]
            if answered:
                x, y = rng.sample(WORDS, 2)
                answer = f"先写出{x}的公式，再代入{y}，注意单位。"
                parts.insert(1, answer)
                answers.append((qid, qid, rng.choice(by_subject.get(code, tutors)), answer, created + timedelta(hours=1),
                                False, created + timedelta(hours=2) if accepted else None))
            docs.append((qid, " ".join(dict.fromkeys(t for p in parts for t in terms(p)))))
        await conn.copy_records_to_table("questions", records=questions, columns=[
            "id", "student_id", "subject_code", "text", "status", "created_at", "band", "answer_count", "flagged",
            "accepted_answer_id", "closed_at"])
        await conn.copy_records_to_table("answers", records=answers, columns=[
            "id", "question_id", "tutor_id", "text", "created_at", "flagged", "accepted_at"])
        await conn.copy_records_to_table("question_knowledge_points", records=tags, columns=["question_id", "knowledge_point_id"])
        await conn.copy_records_to_table("qa_search_docs", records=docs, columns=["question_id", "terms"])
        for table in ("questions", "answers"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        print(f"  questions           {time.perf_counter() - t0:6.1f} s", flush=True)
        for table in ("questions", "question_knowledge_points"):
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze      {time.perf_counter() - t0:6.1f} s", flush=True)
        await conn.execute("CREATE TABLE bench_marker (questions int)")
        await conn.execute("INSERT INTO bench_marker VALUES ($1)", n["questions"])
    finally:
        await conn.close()


CPU: dict[str, float] = {}  # this process's CPU time per request of the last timed() call, in ms


async def timed(client: httpx.AsyncClient, calls: list[tuple[str, dict[str, Any], dict[str, str]]]) -> tuple[list[float], list[Any]]:
    times, bodies = [], []
    cpu = time.process_time()
    for path, params, headers in calls:
        t = time.perf_counter()
        r = await client.get(path, params=params, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        bodies.append(r.json())
    CPU["last"] = (time.process_time() - cpu) * 1000 / max(1, len(calls))
    return times, bodies


def figures(name: str, times: list[float]) -> dict[str, float]:
    """p50/p99 of the wall time, and the CPU time this process (client, app, driver; not the
    database server) spent per request — steadier than wall time on a shared machine."""
    out = {f"{name}_p50_ms": round(percentile(times, 50), 2), f"{name}_p99_ms": round(percentile(times, 99), 2),
           f"{name}_cpu_ms": round(CPU.pop(name, 0.0), 2)}
    print(f"  {name:<8} p50 {out[f'{name}_p50_ms']:7.2f} ms   p99 {out[f'{name}_p99_ms']:7.2f} ms   "
          f"cpu {out[f'{name}_cpu_ms']:5.2f} ms/request   ({len(times)} requests)")
    return out


async def run(quick: bool, rebuild: bool, requests: int) -> dict[str, Any]:
    n = sizes(quick)
    if rebuild or not await _marker(n):
        print(f"building {DATABASE} ({n['questions']:,} questions)…", flush=True)
        await build(n)
    settings = Settings(DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{DATABASE}", REDIS_URL=None,
                        jwt_secret="bench-qa-secret-" + "x" * 32, seed_demo=False, match_reaper=False, tune_gc=True)
    app = create_app(settings)
    rng = random.Random(5)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")
    try:
        count = await conn.fetchval("SELECT count(*) FROM questions")
        tutor_names = [r[0] for r in await conn.fetch("SELECT username FROM users WHERE role = 'tutor' ORDER BY random() LIMIT 20")]
        sample = await conn.fetch("SELECT q.id, q.text, k.knowledge_point_id FROM questions q JOIN question_knowledge_points k "
                                  "ON k.question_id = q.id ORDER BY random() LIMIT $1", requests)
    finally:
        await conn.close()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            auths = []
            for name in tutor_names:
                r = await client.post("/api/auth/sign-in", json={"username": name, "password": PASSWORD})
                r.raise_for_status()
                auths.append({"Authorization": f"Bearer {r.json()['access_token']}"})
            feed_calls = [("/api/qa/feed", {"knowledge_point_id": row["knowledge_point_id"]} if i % 4 == 0 else {}, rng.choice(auths))
                          for i, row in enumerate(sample)]
            wanted: list[int] = []
            search_calls = []
            for row in sample:
                words = [w for w in WORDS if w in row["text"]]
                picked = rng.sample(words, 3) if len(words) >= 3 else words
                wanted.append(row["id"])
                search_calls.append(("/api/qa/search", {"q": " ".join(picked), "limit": 20}, rng.choice(auths)))
            floor_calls = [("/api/auth/me", {}, rng.choice(auths)) for _ in sample]
            for calls in (feed_calls, search_calls, floor_calls):  # warm-up: every plan and page touched once
                await timed(client, calls[: max(20, len(calls) // 10)])
            floor, _ = await timed(client, floor_calls)
            CPU["floor"] = CPU["last"]
            feed, _ = await timed(client, feed_calls)
            CPU["feed"] = CPU["last"]
            search, bodies = await timed(client, search_calls)
            CPU["search"] = CPU["last"]
    hits = sum(1 for qid, body in zip(wanted, bodies) if qid in {x["id"] for x in body["results"]})
    print(f"PostgreSQL, {count:,} questions, warm; in-process HTTP (httpx → ASGI → asyncpg)")
    out: dict[str, Any] = {"questions": count}
    out |= figures("floor", floor)
    out |= figures("feed", feed)
    out |= figures("search", search)
    out["search_hit_rate"] = round(hits / len(wanted), 4)
    print(f"  search hit rate {out['search_hit_rate']:.2%} (the sampled question among the results for three of its own words)")
    out["targets_met"] = out["feed_p99_ms"] <= 20 and out["search_p99_ms"] <= 50
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 questions instead of 100,000")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--database", default=DATABASE, help="the benchmark's own database (one per engineer on a shared server)")
    args = ap.parse_args()
    globals()["DATABASE"] = args.database
    report("qa", asyncio.run(run(args.quick, args.rebuild, args.requests)))


if __name__ == "__main__":
    main()
