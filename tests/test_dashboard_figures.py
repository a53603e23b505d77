"""Every figure the dashboard and the exports read from the day/month rollups, against a
brute-force count over the raw records, on both databases: records over three calendar months
(some on month and day boundaries in Shanghai), asked for one whole month (the month rollups),
months with days at the edges (month + day rollups) and a week (day rollups)."""
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from app.models import ClassAttendance, HelpRequest, HelpRequestKnowledgePoint, LiveClass, PointsEntry, Question, SchoolClass, TutoringSession, User

from .factories import _HASH
from .test_boards_and_exports import ranked

SH = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2026, 11, 20, tzinfo=SH)
PERIODS = [(date(2026, 12, 1), date(2027, 1, 1)), (date(2026, 11, 25), date(2027, 1, 5)), (date(2026, 12, 3), date(2026, 12, 10))]


def two(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), ROUND_HALF_UP)


def at(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), SH)


async def build(factory):  # type: ignore[no-untyped-def]
    rng = random.Random(22)
    org = await factory.org()
    tutors = [await factory.tutor(org, school=i % 4) for i in range(4)]
    people = []  # (school, class, district, student)
    points = [await factory.knowledge_point("math"), await factory.knowledge_point("physics")]
    tags = []  # (school, class, district, when, knowledge point)
    async with factory.session() as db:
        extra = SchoolClass(school_id=org.schools[0].id, grade=9, name="2班")
        db.add(extra)
        await db.flush()
        for i, school in enumerate(org.schools):
            for k in range(12 if i == 0 else rng.randint(3, 7)):
                klass = extra.id if i == 0 and k % 5 == 4 else org.classes[i].id
                u = User(username=f"fig_{school.id}_{k}", password_hash=_HASH, role="student", real_name="学生", city_id=org.city.id,
                         district_id=school.district_id, school_id=school.id, class_id=klass, grade=8, created_at=FIRST - timedelta(days=30))
                db.add(u)
                await db.flush()
                people.append((school.id, klass, school.district_id, u.id))
        # A student registered in the middle of December counts as enrolled only from then on.
        late = User(username=f"fig_late_{org.schools[1].id}", password_hash=_HASH, role="student", real_name="新生", city_id=org.city.id,
                    district_id=org.schools[1].district_id, school_id=org.schools[1].id, class_id=org.classes[1].id, grade=8,
                    created_at=at(date(2026, 12, 15)))
        db.add(late)
        await db.flush()
        people.append((org.schools[1].id, org.classes[1].id, org.schools[1].district_id, late.id))
        edges = [at(date(2026, 12, 1)), at(date(2027, 1, 1)) - timedelta(seconds=1), at(date(2026, 12, 1)) - timedelta(seconds=1),
                 at(date(2027, 1, 1)), at(date(2026, 12, 3)), at(date(2026, 12, 10))]
        when = lambda: rng.choice(edges) if rng.random() < 0.2 else FIRST + timedelta(minutes=rng.randint(0, 60 * 24 * 50))  # noqa: E731
        events = []  # (school, class, district, student, when, kind)
        sessions = []  # (tutor, when, seconds, rating)
        for _ in range(160):
            p = rng.choice(people[:-1])
            tutor = rng.choice(tutors[:3]) if rng.random() < 0.6 else tutors[3]
            asked = when()
            req = HelpRequest(student_id=p[3], subject_code="math", text="?", status="matched", created_at=asked)
            db.add(req)
            await db.flush()
            for k in points:
                if rng.random() < 0.5:
                    db.add(HelpRequestKnowledgePoint(request_id=req.id, knowledge_point_id=k))
                    tags.append((*p[:3], asked, k))
            live = rng.choice([None, when(), when(), when()])
            rating = (5 if tutor is tutors[3] else rng.choice([None, 3, 4, 5])) if live else None
            seconds = rng.randint(60, 1500) if live else None
            s = TutoringSession(request_id=req.id, student_id=p[3], tutor_id=tutor.id, subject_code="math", state="ended",
                                matched_at=FIRST, live_at=live, duration_s=seconds, rating=rating)
            db.add(s)
            await db.flush()
            if live:
                events.append((*p, live, "o"))
                sessions.append((tutor.id, live, seconds, rating))
                db.add(PointsEntry(tutor_id=tutor.id, district_id=org.districts[rng.randint(0, 1)].id, source_kind="one_to_one",
                                   source_id=s.id, points=(Decimal(seconds) / 600).quantize(Decimal("0.01")), created_at=live))
        for _ in range(50):
            p = rng.choice(people)
            t = when()
            db.add(Question(student_id=p[3], subject_code="math", text="?", created_at=t))
            events.append((*p, t, "q"))
        for c in range(4):
            klass = LiveClass(tutor_id=tutors[0].id, subject_code="math", title=f"课{c}", starts_at=when())
            db.add(klass)
            await db.flush()
            for p in rng.sample(people[:-1], 8):
                t = klass.starts_at + timedelta(minutes=rng.choice([0, 5]))
                db.add(ClassAttendance(live_class_id=klass.id, student_id=p[3], joined_at=t, seconds=600))
                events.append((*p, t, "a"))
        await db.commit()
    return org, tutors, people, events, sessions, tags


async def test_dashboard_figures_match_brute_force_counts(client, factory):  # type: ignore[no-untyped-def]
    org, tutors, people, events, sessions, tags = await build(factory)
    physics = await factory.knowledge_point("physics")
    admin = await factory.sign_in(await factory.user("city_admin", org))
    district_admin = await factory.sign_in(await factory.user("district_admin", org, school=0))
    district0 = org.districts[0].id

    async def get(path, headers=admin, **params):  # type: ignore[no-untyped-def]
        r = await client.get(f"/api/stats/{path}", headers=headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()["rows"]

    for start, end in PERIODS:
        f, t = at(start), at(end)
        mine = [e for e in events if f <= e[4] < t]
        period = {"from": str(start), "to": str(end)}
        tag = (start, end)

        # Daily trend: participations and distinct students per Shanghai day.
        got = {r["day"]: (r["participations"], r["participants"]) for r in await get("trend", **period)}
        for i in range((end - start).days):
            day = [e for e in mine if e[4].astimezone(SH).date() == start + timedelta(days=i)]
            assert got[str(start + timedelta(days=i))] == (len(day), len({e[3] for e in day})), (tag, i)

        # Student leaderboard, city and district.
        for headers, keep in ((admin, lambda e: True), (district_admin, lambda e: e[2] == district0)):
            rows = await get("leaderboards/students", headers, **period, limit=200)
            expected = ranked(Counter(e[3] for e in mine if keep(e)), 200)
            assert [(r["id"], r["participations"], r["rank"]) for r in rows] == expected, tag

        # Class leaderboard: distinct students, participations, enrolled before the end, rate.
        enrolled = Counter(p[1] for p in people if p[3] != people[-1][3] or end > date(2026, 12, 15))
        by_class = defaultdict(list)
        for e in mine:
            by_class[e[1]].append(e[3])
        rows = await get("leaderboards/classes", **period, limit=200)
        expected_rows = sorted(((cid, len(set(by_class[cid])), len(by_class[cid]), n, two(Decimal(len(set(by_class[cid])) * 100) / n))
                                for cid, n in enrolled.items()), key=lambda x: (-x[4], -x[2], x[0]))
        assert [(r["id"], r["participants"], r["participations"], r["enrolled"], Decimal(str(r["rate"]))) for r in rows] == expected_rows, tag

        # Tutor leaderboard: sessions gone live, live minutes, ratings and their average.
        per_tutor: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
        for tid, live, seconds, rating in sessions:
            if f <= live < t:
                per_tutor[tid].append((seconds, rating))
        rows = await get("leaderboards/tutors", **period, limit=200)
        expected_t = sorted(per_tutor.items(), key=lambda kv: (-len(kv[1]), -sum(s for s, _ in kv[1]), kv[0]))
        assert [(r["id"], r["sessions"], Decimal(str(r["live_minutes"])), r["ratings"]) for r in rows] == [
            (tid, len(v), two(Decimal(sum(s for s, _ in v)) / 60), sum(1 for _, x in v if x)) for tid, v in expected_t], tag
        # … and narrowed to a district or a school: the tutors employed there, in the same order.
        employed = {tu.id: tu for tu in tutors}
        for narrow, keep in (({"district_id": district0}, lambda tid: employed[tid].district_id == district0),
                             ({"school_id": org.schools[3].id}, lambda tid: employed[tid].school_id == org.schools[3].id)):
            scoped = await get("leaderboards/tutors", **period, **narrow, limit=200)
            assert [(r["id"], r["sessions"]) for r in scoped] == [(tid, len(v)) for tid, v in expected_t if keep(tid)], (tag, narrow)
        for r in rows:
            rated = [x for _, x in per_tutor[r["id"]] if x]
            assert r["average_rating"] == (str((Decimal(sum(rated)) / len(rated)).quantize(Decimal("0.01"))) if rated else None)

        # Participation table: the distinct-student columns and the counts, per school.
        rows = {r["school_id"]: r for r in await get("participation", **period)}
        for school in org.schools:
            ev = [e for e in mine if e[0] == school.id]
            kinds = {k: [e[3] for e in ev if e[5] == k] for k in "oqa"}
            assert (rows[school.id]["one_to_one_students"], rows[school.id]["question_students"], rows[school.id]["one_to_many_students"],
                    rows[school.id]["participants"], rows[school.id]["one_to_one_sessions"], rows[school.id]["questions"],
                    rows[school.id]["one_to_many_attendances"]) == (
                len(set(kinds["o"])), len(set(kinds["q"])), len(set(kinds["a"])), len({e[3] for e in ev}),
                len(kinds["o"]), len(kinds["q"]), len(kinds["a"])), (tag, school.id)
            assert rows[school.id]["enrolled"] == sum(1 for p in people if p[0] == school.id and (p[3] != people[-1][3] or end > date(2026, 12, 15)))

        # Payroll of a district: entries and points per tutor from the ledger.
        pay = (await client.get("/api/stats/payroll", headers=admin, params={**period, "district_id": district0})).json()
        # (the ledger entries were booked at the session's live time)
        assert pay["total_points"] is not None

        # Hot spots: tagged help requests per knowledge point, city, district, class and subject.
        for params, keep in (({}, lambda x: True), ({"district_id": district0}, lambda x: x[2] == district0),
                             ({"class_id": org.classes[1].id}, lambda x: x[1] == org.classes[1].id),
                             ({"subject": "physics"}, lambda x: x[4] == physics)):
            counted = Counter(x[4] for x in tags if f <= x[3] < t and keep(x))
            rows = await get("hot-spots", **period, **params)
            assert [(r["knowledge_point_id"], r["asked"]) for r in rows] == sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])), (tag, params)

        # Weekly class feedback of the first school.
        weeks = await get("classes/weekly", **period, school_id=org.schools[0].id)
        monday = start - timedelta(days=start.weekday())
        for w in weeks:
            lo, hi = at(date.fromisoformat(w["week_of"])), at(date.fromisoformat(w["week_of"]) + timedelta(days=7))
            ev = [e for e in mine if e[1] == w["class_id"] and lo <= e[4] < hi]
            assert (w["participants"], w["sessions"], w["questions"], w["attendances"]) == (
                len({e[3] for e in ev}), sum(e[5] == "o" for e in ev), sum(e[5] == "q" for e in ev), sum(e[5] == "a" for e in ev)), (tag, w)
        assert len(weeks) == 2 * len(range(0, (end - monday).days, 7))


async def test_payroll_and_stars_match_brute_force_counts(client, factory):  # type: ignore[no-untyped-def]
    org, tutors, people, events, sessions, tags = await build(factory)
    admin = await factory.sign_in(await factory.user("city_admin", org))
    async with factory.session() as db:
        from sqlalchemy import select
        ledger = (await db.execute(select(PointsEntry.district_id, PointsEntry.tutor_id, PointsEntry.points, PointsEntry.created_at)
                                   .join(User, User.id == PointsEntry.tutor_id).where(User.city_id == org.city.id))).all()
    for start, end in PERIODS:
        f, t = at(start), at(end)
        for district in org.districts:
            r = await client.get("/api/stats/payroll", headers=admin, params={"from": str(start), "to": str(end), "district_id": district.id})
            assert r.status_code == 200, r.text
            mine: dict[int, list[Decimal]] = defaultdict(list)
            for d, tid, points, created in ledger:
                if d == district.id and f <= created < t:
                    mine[tid].append(Decimal(str(points)))
            assert [(x["tutor_id"], x["entries"], Decimal(str(x["points"]))) for x in r.json()["tutors"]] == [
                (tid, len(v), sum(v, Decimal(0)).quantize(Decimal("0.01"))) for tid, v in sorted(mine.items())], (start, end, district.id)

    # The month's stars: 学习之星 ≥ 3 participations, 辅导之星 ≥ 5 rated at ≥ 4.5 by minutes, 活跃班级 ≥ 10 students.
    f, t = at(date(2026, 12, 1)), at(date(2027, 1, 1))
    rows = (await client.get("/api/stats/stars", headers=admin, params={"month": "2026-12"})).json()["rows"]
    learners = ranked(Counter(e[3] for e in events if f <= e[4] < t), 10, minimum=3)
    assert [(r["id"], r["rank"]) for r in rows if r["award"] == "学习之星"] == [(u, rank) for u, _, rank in learners]
    per_tutor: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    for tid, live, seconds, rating in sessions:
        if f <= live < t:
            per_tutor[tid].append((seconds, rating))
    good = [(tid, sum(s for s, _ in v)) for tid, v in per_tutor.items()
            if len([x for _, x in v if x]) >= 5 and sum(x for _, x in v if x) >= Decimal("4.5") * len([x for _, x in v if x])]
    assert [r["id"] for r in rows if r["award"] == "辅导之星"] == [tid for tid, _ in sorted(good, key=lambda x: (-x[1], x[0]))][:10]
    assert any(r["award"] == "辅导之星" for r in rows)
    big = Counter(p[1] for p in people)
    active = {cid: {e[3] for e in events if e[1] == cid and f <= e[4] < t} for cid in big}
    classes = sorted(((cid, two(Decimal(len(active[cid]) * 100) / n), sum(1 for e in events if e[1] == cid and f <= e[4] < t))
                      for cid, n in big.items() if n >= 10), key=lambda x: (-x[1], -x[2], x[0]))
    assert [r["id"] for r in rows if r["award"] == "活跃班级"] == [cid for cid, _, _ in classes][:10]
    assert classes
