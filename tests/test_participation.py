"""The participation table against an independent brute-force count over random data."""
import csv
import io
import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from app.models import ClassAttendance, HelpRequest, LiveClass, Question, School, TutoringSession, User

from .factories import _HASH

SH = ZoneInfo("Asia/Shanghai")
START, END = datetime(2026, 11, 2, tzinfo=SH), datetime(2026, 11, 9, tzinfo=SH)  # one week


def two(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), ROUND_HALF_UP)


async def add_session(db, student_id: int, tutor_id: int, live):  # type: ignore[no-untyped-def]  # a test helper
    """A matched request and its ended session that went live at `live` (None: never went live)."""
    req = HelpRequest(student_id=student_id, subject_code="math", text="?", status="matched")
    db.add(req)
    await db.flush()
    db.add(TutoringSession(request_id=req.id, student_id=student_id, tutor_id=tutor_id, subject_code="math",
                           state="ended", live_at=live, matched_at=START - timedelta(days=1)))


async def build(factory, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    org = await factory.org()
    tutor = await factory.tutor(org)
    students: dict[int, list[int]] = {}
    sessions, questions, attendances = [], [], []
    async with factory.session() as db:
        extra = School(district_id=org.districts[1].id, code=f"EMPTY{seed}", name="无学生学校", stage="junior")
        db.add(extra)
        await db.flush()
        schools = org.schools + [extra]
        for i, school in enumerate(schools[:-1]):
            klass = org.classes[i]
            students[school.id] = []
            for _ in range(rng.randint(3, 12)):
                u = User(username=f"s{seed}_{school.id}_{len(students[school.id])}", password_hash=_HASH, role="student",
                         real_name="学生", city_id=org.city.id, district_id=school.district_id, school_id=school.id,
                         class_id=klass.id, grade=8, created_at=START - timedelta(days=30))
                db.add(u)
                await db.flush()
                students[school.id].append(u.id)
        students[extra.id] = []
        everyone = [(sid, u) for sid, us in students.items() for u in us]
        for _ in range(rng.randint(10, 40)):
            sid, u = rng.choice(everyone)
            # Around the boundaries on purpose: a session belongs to the period it went live in.
            live = rng.choice([START - timedelta(minutes=1), START, START + timedelta(days=rng.uniform(0, 7)),
                               END - timedelta(seconds=1), END, None])
            await add_session(db, u, tutor.id, live)
            sessions.append((sid, u, live))
        for _ in range(rng.randint(0, 15)):
            sid, u = rng.choice(everyone)
            at = rng.choice([START + timedelta(days=rng.uniform(-2, 9)), END, START])
            db.add(Question(student_id=u, subject_code="physics", text="?", created_at=at))
            questions.append((sid, u, at))
        # One-to-many classes: each student attends a class at most once; joins around the edges too.
        for c in range(rng.randint(0, 4)):
            starts = rng.choice([START - timedelta(minutes=5), START + timedelta(days=rng.uniform(0, 7)), END - timedelta(minutes=1)])
            klass = LiveClass(tutor_id=tutor.id, subject_code="math", title=f"课{c}", starts_at=starts)
            db.add(klass)
            await db.flush()
            for sid, u in rng.sample(everyone, rng.randint(0, min(8, len(everyone)))):
                joined = starts + timedelta(minutes=rng.choice([0, 3, 6]))
                db.add(ClassAttendance(live_class_id=klass.id, student_id=u, joined_at=joined, seconds=600))
                attendances.append((sid, u, joined))
        await db.commit()
    return org, schools, students, sessions, questions + [(sid, u, t, "class") for sid, u, t in attendances]


def brute(schools, students, sessions, questions):  # type: ignore[no-untyped-def]
    inside = lambda t: t is not None and START <= t < END  # noqa: E731
    table = {}
    for school in schools:
        s_ok = [(u, t) for sid, u, t in sessions if sid == school.id and inside(t)]
        q_ok = [(u, t) for sid, u, t, *kind in questions if sid == school.id and inside(t) and not kind]
        a_ok = [(u, t) for sid, u, t, *kind in questions if sid == school.id and inside(t) and kind]
        participants = {u for u, _ in s_ok} | {u for u, _ in q_ok} | {u for u, _ in a_ok}
        participations = len(s_ok) + len(q_ok) + len(a_ok)
        enrolled = len(students[school.id])
        rate = two(Decimal(len(participants) * 100) / enrolled) if enrolled else Decimal("0.00")
        table[school.id] = {
            "one_to_one_students": len({u for u, _ in s_ok}), "question_students": len({u for u, _ in q_ok}),
            "one_to_many_students": len({u for u, _ in a_ok}), "participants": len(participants),
            "one_to_one_sessions": len(s_ok), "questions": len(q_ok), "one_to_many_attendances": len(a_ok),
            "participations": participations,
            "enrolled": enrolled, "participation_rate": rate,
            "per_participant": two(Decimal(participations) / len(participants)) if participants else Decimal("0.00"),
            "per_enrolled": two(Decimal(participations) / enrolled) if enrolled else Decimal("0.00"),
        }
    rates = [v["participation_rate"] for v in table.values()]
    for v in table.values():
        v["city_rank"] = 1 + sum(1 for r in rates if r > v["participation_rate"])
    return table


async def test_every_column_matches_a_brute_force_count(client, factory):
    seen_classes = 0
    for seed in (1, 2, 3):
        org, schools, students, sessions, questions = await build(factory, seed)
        admin = await factory.sign_in(await factory.user("city_admin", org))
        r = await client.get("/api/stats/participation", headers=admin, params={"from": "2026-11-02", "to": "2026-11-09"})
        assert r.status_code == 200, r.text
        got = {row["school_id"]: row for row in r.json()["rows"]}
        expected = brute(schools, students, sessions, questions)
        seen_classes += sum(v["one_to_many_attendances"] for v in expected.values())
        assert set(got) == set(expected)
        for sid, cols in expected.items():
            for key, value in cols.items():
                assert Decimal(str(got[sid][key])) == value, (seed, sid, key)
        ranks = [row["city_rank"] for row in r.json()["rows"]]
        assert ranks == sorted(ranks)  # the city table comes in rank order
    assert seen_classes > 0  # the one-to-many columns were really exercised


async def test_scopes_and_csv_export(client, factory):
    org, schools, students, sessions, questions = await build(factory, 7)
    school_admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    district_admin = await factory.sign_in(await factory.user("district_admin", org, school=0))
    params = {"from": "2026-11-02", "to": "2026-11-09"}
    mine = (await client.get("/api/stats/participation", headers=school_admin, params=params)).json()["rows"]
    assert [r["school_id"] for r in mine] == [org.schools[0].id]
    r = await client.get("/api/stats/participation", headers=school_admin, params={**params, "school_id": org.schools[1].id})
    assert r.status_code == 403
    district = (await client.get("/api/stats/participation", headers=district_admin, params=params)).json()["rows"]
    assert {r["school_id"] for r in district} == {s.id for s in schools if s.district_id == org.districts[0].id}
    r = await client.get("/api/stats/participation", headers=district_admin, params={**params, "format": "csv"})
    assert r.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][3] == "参与一对一辅导人数" and table[0][-1] == "全市参与率排名"
    assert len(table) == 1 + len(district)
    r = await client.get("/api/stats/participation", headers=district_admin, params={"from": "2026-11-09", "to": "2026-11-02"})
    assert r.status_code == 422


async def test_long_and_odd_periods_match_a_brute_force_count_on_both_rollup_paths(factory):  # type: ignore[no-untyped-def]
    """Records spread over 200 days and random periods [from, to): periods of whole Shanghai days
    are answered from the day rollups (63-day bitmask blocks, so some periods cross blocks),
    periods in UTC days from the hourly rollup; both must give the brute-force counts."""
    from datetime import date

    from app.stats.participation import city_table

    rng = random.Random(11)
    org = await factory.org()
    tutor = await factory.tutor(org)
    first = datetime(2026, 9, 1, tzinfo=SH)
    events: list[tuple[int, int, datetime, str]] = []  # (school, student, when, kind)
    async with factory.session() as db:
        people = []
        for i, school in enumerate(org.schools):
            for k in range(rng.randint(2, 6)):
                u = User(username=f"long_{school.id}_{k}", password_hash=_HASH, role="student", real_name="学生",
                         city_id=org.city.id, district_id=school.district_id, school_id=school.id,
                         class_id=org.classes[i].id, grade=8, created_at=first - timedelta(days=1))
                db.add(u)
                await db.flush()
                people.append((school.id, u.id))
        when = lambda: first + timedelta(minutes=rng.randint(0, 200 * 24 * 60))  # noqa: E731
        for _ in range(120):
            sid, u = rng.choice(people)
            req = HelpRequest(student_id=u, subject_code="math", text="?", status="matched")
            db.add(req)
            await db.flush()
            at = when()
            db.add(TutoringSession(request_id=req.id, student_id=u, tutor_id=tutor.id, subject_code="math",
                                   state="ended", live_at=at, matched_at=at))
            events.append((sid, u, at, "o"))
        for _ in range(40):
            sid, u = rng.choice(people)
            at = when()
            db.add(Question(student_id=u, subject_code="math", text="?", created_at=at))
            events.append((sid, u, at, "q"))
        klass = LiveClass(tutor_id=tutor.id, subject_code="math", title="课", starts_at=first)
        db.add(klass)
        await db.flush()
        for sid, u in rng.sample(people, min(10, len(people))):
            at = when()
            db.add(ClassAttendance(live_class_id=klass.id, student_id=u, joined_at=at, seconds=600))
            events.append((sid, u, at, "a"))
        await db.commit()

        periods = [(date(2026, 9, 1), date(2027, 3, 20)), (date(2026, 10, 30), date(2026, 11, 2))]
        for _ in range(6):
            a = date(2026, 9, 1) + timedelta(days=rng.randint(0, 190))
            periods.append((a, a + timedelta(days=rng.choice([1, 7, 30, 70, 130]))))
        for tz in ("Asia/Shanghai", "UTC"):
            zone = ZoneInfo(tz)
            for start, end in periods:
                f, t = datetime.combine(start, datetime.min.time(), zone), datetime.combine(end, datetime.min.time(), zone)
                got = {r.school_id: r for r in await city_table(db, org.city.id, start, end, tz)}
                for school in org.schools:
                    mine = [(u, kind) for sid, u, at, kind in events if sid == school.id and f <= at < t]
                    r = got[school.id]
                    assert (r.one_to_one_students, r.question_students, r.one_to_many_students, r.participants) == (
                        len({u for u, k in mine if k == "o"}), len({u for u, k in mine if k == "q"}),
                        len({u for u, k in mine if k == "a"}), len({u for u, _ in mine})), (tz, start, end, school.id)
                    assert (r.one_to_one_sessions, r.questions, r.one_to_many_attendances) == (
                        sum(k == "o" for _, k in mine), sum(k == "q" for _, k in mine), sum(k == "a" for _, k in mine))
        assert any(r.participants for r in got.values())


async def test_the_daily_trend_matches_a_brute_force_count(client, factory):  # type: ignore[no-untyped-def]
    """Per Shanghai day: participations, and the distinct students who took part that day."""
    org, schools, students, sessions, questions = await build(factory, 4)
    admin = await factory.sign_in(await factory.user("city_admin", org))
    r = await client.get("/api/stats/trend", headers=admin, params={"from": "2026-11-02", "to": "2026-11-09"})
    assert r.status_code == 200, r.text
    events = [(u, t) for _, u, t in sessions if t is not None] + [(u, t) for _, u, t, *_ in questions]
    got = {row["day"]: (row["participations"], row["participants"]) for row in r.json()["rows"]}
    assert len(got) == 7
    for i in range(7):
        day = (START + timedelta(days=i)).date()
        mine = [u for u, t in events if START <= t < END and t.astimezone(SH).date() == day]
        assert got[str(day)] == (len(mine), len(set(mine))), day
    assert sum(n for n, _ in got.values()) > 0


async def test_every_table_follows_every_change_while_the_distinct_students_are_kept(client, factory):  # type: ignore[no-untyped-def]
    """The distinct students of a period (and through them every rate and rank) are kept between
    requests until what they count changes (app/stats/changes.py). After each of many random
    changes — sessions going live and deleted, questions (some on a day the student already had
    a session: the day gains a kind), new students, a new school — the city's table, every
    school's own table and every district's table equal the brute-force count, rank included."""
    from sqlalchemy import delete, select

    rng = random.Random(23)
    org, schools, students, sessions, questions = await build(factory, 23)
    tutor = await factory.tutor(org)
    city = await factory.sign_in(await factory.user("city_admin", org))
    params = {"from": "2026-11-02", "to": "2026-11-09"}

    async def check(step: str) -> None:
        expected = brute(schools, students, sessions, questions)
        rows = (await client.get("/api/stats/participation", headers=city, params=params)).json()["rows"]
        assert {r["school_id"] for r in rows} == set(expected)
        for row in rows:
            for key, value in expected[row["school_id"]].items():
                assert Decimal(str(row[key])) == value, (step, "city", row["school_id"], key)
        for school in schools:
            r = await client.get("/api/stats/participation", headers=city, params={**params, "school_id": school.id})
            assert r.status_code == 200, r.text
            [row] = r.json()["rows"]
            for key, value in expected[school.id].items():
                assert Decimal(str(row[key])) == value, (step, school.id, key)
        for district in org.districts:
            rows = (await client.get("/api/stats/participation", headers=city, params={**params, "district_id": district.id})).json()["rows"]
            assert [r["school_id"] for r in rows] == sorted(
                (s.id for s in schools if s.district_id == district.id), key=lambda sid: (-expected[sid]["participation_rate"], sid))
            for row in rows:
                assert row["city_rank"] == expected[row["school_id"]]["city_rank"], (step, row["school_id"])

    await check("start")
    await check("kept")  # the same again, from the kept ranking
    for step in range(16):
        kind = rng.choice(["session", "session", "delete", "question", "same_day", "student", "school"] if step else ["session"])
        everyone = [(sid, u) for sid, us in students.items() for u in us]
        async with factory.session() as db:
            if kind == "session":
                sid, u = rng.choice(everyone)
                live = START + timedelta(days=rng.uniform(0, 7))
                await add_session(db, u, tutor.id, live)
                sessions.append((sid, u, live))
            elif kind == "delete" and sessions:
                sid, u, live = sessions.pop(rng.randrange(len(sessions)))
                found = (await db.execute(select(TutoringSession.id).where(
                    TutoringSession.student_id == u, TutoringSession.live_at.is_(None) if live is None else TutoringSession.live_at == live))).scalars().first()
                await db.execute(delete(TutoringSession).where(TutoringSession.id == found))
            elif kind in ("question", "same_day"):
                in_period = [(sid, u, live) for sid, u, live in sessions if live is not None and START <= live < END]
                if kind == "same_day" and in_period:  # the student's day already has a session: it gains a question
                    sid, u, at = rng.choice(in_period)
                else:
                    sid, u = rng.choice(everyone)
                    at = START + timedelta(days=rng.uniform(0, 7))
                db.add(Question(student_id=u, subject_code="physics", text="?", created_at=at))
                questions.append((sid, u, at))
            elif kind == "student":
                school = rng.choice(schools)
                user = User(username=f"new{step}", password_hash=_HASH, role="student", real_name="学生", city_id=org.city.id,
                            district_id=school.district_id, school_id=school.id, grade=8, created_at=START - timedelta(days=3))
                db.add(user)
                await db.flush()
                students[school.id].append(user.id)
            else:
                extra = School(district_id=rng.choice(org.districts).id, code=f"NEW{step}", name="新学校", stage="junior")
                db.add(extra)
                await db.flush()
                schools.append(extra)
                students[extra.id] = []
            await db.commit()
        await check(f"{step} {kind}")
    # On purpose: a student whose only participation of the period is a session gets a question
    # the same day — no student_days row appears, the day gains a kind, question_students moves.
    school = schools[0]
    async with factory.session() as db:
        user = User(username="same_day", password_hash=_HASH, role="student", real_name="学生", city_id=org.city.id,
                    district_id=school.district_id, school_id=school.id, grade=8, created_at=START - timedelta(days=3))
        db.add(user)
        await db.flush()
        students[school.id].append(user.id)
        live = START + timedelta(days=2, hours=3)
        req = HelpRequest(student_id=user.id, subject_code="math", text="?", status="matched")
        db.add(req)
        await db.flush()
        db.add(TutoringSession(request_id=req.id, student_id=user.id, tutor_id=tutor.id, subject_code="math",
                               state="ended", live_at=live, matched_at=START - timedelta(days=1)))
        sessions.append((school.id, user.id, live))
        await db.commit()
    await check("a session")
    async with factory.session() as db:
        db.add(Question(student_id=user.id, subject_code="physics", text="?", created_at=live + timedelta(minutes=5)))
        questions.append((school.id, user.id, live + timedelta(minutes=5)))
        await db.commit()
    await check("a question the same day")
