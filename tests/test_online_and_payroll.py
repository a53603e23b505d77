"""Online rate and payroll against brute-force counts over random data."""
import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.models import PointsEntry, SignIn, TutorProfile, User

from .factories import _HASH

SH = ZoneInfo("Asia/Shanghai")
START, END = datetime(2026, 11, 2, tzinfo=SH), datetime(2026, 11, 9, tzinfo=SH)
PERIOD = {"from": "2026-11-02", "to": "2026-11-09"}


async def test_online_rate_by_role_and_stage(client, factory):
    rng = random.Random(11)
    org = await factory.org()
    expected = {g: [0, 0] for g in ("初中教师", "高中教师", "初中学生", "高中学生")}
    people = []  # (created, groups, sign-in times) for the long periods below
    async with factory.session() as db:
        for n in range(40):
            role = rng.choice(["student", "tutor"])
            grade = rng.randint(7, 12) if role == "student" else None
            created = rng.choice([START - timedelta(days=10), END + timedelta(days=1)])  # registered after: not counted
            u = User(username=f"u{n}", password_hash=_HASH, role=role, real_name="用户", city_id=org.city.id,
                     district_id=org.schools[0].district_id, school_id=org.schools[0].id, grade=grade, created_at=created)
            db.add(u)
            await db.flush()
            bands = set()
            if role == "tutor":
                junior, senior = rng.random() < 0.7, rng.random() < 0.5
                db.add(TutorProfile(user_id=u.id, title="senior", teaches_junior=junior, teaches_senior=senior, status="approved"))
                bands = {"初中教师"} if junior else set()
                bands |= {"高中教师"} if senior else set()
            else:
                bands = {"初中学生" if grade <= 9 else "高中学生"}
            signed = [rng.choice([START - timedelta(hours=1), START + timedelta(days=rng.uniform(0, 7)), END,
                                  START + timedelta(days=rng.uniform(-90, 90))])
                      for _ in range(rng.randint(0, 4))]
            people.append((created, bands, signed))
            for at in signed:
                db.add(SignIn(user_id=u.id, method="password", at=at))
            if created < END:
                for g in bands:
                    expected[g][1] += 1
                    expected[g][0] += any(START <= at < END for at in signed)
        await db.commit()
    admin = await factory.sign_in(await factory.user("city_admin", org))
    rows = (await client.get("/api/stats/online-rate", headers=admin, params=PERIOD)).json()["rows"]
    got = {r["group"]: [r["online"], r["registered"]] for r in rows}
    assert got == expected
    for r in rows:
        rate = Decimal(str(r["rate"]))
        assert rate == (Decimal(r["online"] * 100) / r["registered"]).quantize(Decimal("0.01")) if r["registered"] else rate == 0

    # Long and odd periods: whole Shanghai days come from the day-bitmask rollup (63-day blocks,
    # crossed here), UTC days from the hourly one; both must match the brute force.
    from datetime import date

    from app.stats.online import online_rate
    periods = [(date(2026, 8, 1), date(2027, 2, 1)), (date(2026, 10, 1), date(2026, 10, 2))]
    periods += [(a, a + timedelta(days=rng.choice([3, 40, 100]))) for a in
                (date(2026, 8, 5) + timedelta(days=rng.randint(0, 150)) for _ in range(5))]
    async with factory.session() as db:
        for tz in ("Asia/Shanghai", "UTC"):
            for start, end in periods:
                f, t = (datetime.combine(d, datetime.min.time(), ZoneInfo(tz)) for d in (start, end))
                want = {g: [0, 0] for g in expected}
                for created, bands, signed in people:
                    for g in bands if created < t else ():
                        want[g][1] += 1
                        want[g][0] += any(f <= at < t for at in signed)
                got_rows = await online_rate(db, org.city.id, None, None, start, end, tz)
                assert {r["group"]: [r["online"], r["registered"]] for r in got_rows} == want, (tz, start, end)


async def test_payroll_reconciles_with_the_ledger(client, factory):
    rng = random.Random(5)
    org = await factory.org()
    tutors = [await factory.tutor(org, school=i % 2) for i in range(4)]  # schools 0 and 1: district 0
    outsider = await factory.tutor(org, school=2)  # another district
    booked: dict[int, Decimal] = {}
    async with factory.session() as db:
        for n in range(60):
            t = rng.choice(tutors + [outsider])
            at = rng.choice([START - timedelta(seconds=1), START, START + timedelta(days=rng.uniform(0, 7)), END])
            points = Decimal(rng.randint(1, 400)) / 100
            db.add(PointsEntry(tutor_id=t.id, district_id=t.district_id, source_kind="one_to_one", source_id=n,
                               points=points, created_at=at))
            if t.district_id == org.districts[0].id and START <= at < END:
                booked[t.id] = booked.get(t.id, Decimal("0")) + points
        await db.commit()
    admin = await factory.sign_in(await factory.user("district_admin", org, school=0))
    body = (await client.get("/api/stats/payroll", headers=admin, params=PERIOD)).json()
    got = {r["tutor_id"]: Decimal(str(r["points"])) for r in body["tutors"]}
    assert got == {k: v for k, v in booked.items() if v}
    assert Decimal(str(body["total_points"])) == sum(booked.values())
    assert Decimal(str(body["total_cny"])) == sum(booked.values()) * 10
    other = await client.get("/api/stats/payroll", headers=admin, params={**PERIOD, "district_id": org.districts[1].id})
    assert other.status_code == 403
    school_admin = await factory.sign_in(await factory.user("school_admin", org))
    assert (await client.get("/api/stats/payroll", headers=school_admin, params=PERIOD)).status_code == 403


async def test_tutor_workload_matches_the_records(client, factory):
    from app.models import Answer, HelpRequest, Question, TutoringSession

    rng = random.Random(3)
    org = await factory.org()
    student = await factory.user("student", org)
    tutors = [await factory.tutor(org) for _ in range(3)]
    expected = {t.id: {"sessions": 0, "seconds": 0, "ratings": [], "answers": 0, "points": Decimal("0")} for t in tutors}
    async with factory.session() as db:
        q = Question(student_id=student.id, subject_code="math", text="?", created_at=START)
        db.add(q)
        await db.flush()
        for n in range(30):
            t = rng.choice(tutors)
            live = rng.choice([START - timedelta(hours=2), START + timedelta(days=rng.uniform(0, 7)), END, None])
            duration, rating = rng.randint(60, 1800), rng.choice([None, 1, 3, 4, 5])
            req = HelpRequest(student_id=student.id, subject_code="math", text="?", status="matched")
            db.add(req)
            await db.flush()
            db.add(TutoringSession(request_id=req.id, student_id=student.id, tutor_id=t.id, subject_code="math",
                                   state="ended", live_at=live, duration_s=duration if live else 0, rating=rating))
            if live is not None and START <= live < END:
                e = expected[t.id]
                e["sessions"] += 1
                e["seconds"] += duration
                e["ratings"] += [rating] if rating else []
            at = rng.choice([START + timedelta(days=1), END])
            db.add(PointsEntry(tutor_id=t.id, district_id=t.district_id, source_kind="one_to_one", source_id=n,
                               points=Decimal("1.50"), created_at=at))
            if at < END:
                expected[t.id]["points"] += Decimal("1.50")
        db.add(Answer(question_id=q.id, tutor_id=tutors[0].id, text="答", created_at=START + timedelta(days=2)))
        expected[tutors[0].id]["answers"] = 1
        await db.commit()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    rows = {r["tutor_id"]: r for r in (await client.get("/api/stats/tutors", headers=admin, params=PERIOD)).json()["rows"]}
    for tid, e in expected.items():
        r = rows[tid]
        assert (r["sessions"], r["answers"], r["ratings"]) == (e["sessions"], e["answers"], len(e["ratings"]))
        assert Decimal(str(r["live_minutes"])) == (Decimal(e["seconds"]) / 60).quantize(Decimal("0.01"))
        assert Decimal(str(r["points"])) == e["points"]
        if e["ratings"]:
            assert Decimal(str(r["average_rating"])) == (Decimal(sum(e["ratings"])) / len(e["ratings"])).quantize(Decimal("0.01"))
    mine = (await client.get("/api/stats/tutors/me", headers=await factory.sign_in(tutors[1]), params=PERIOD)).json()
    assert mine["tutor_id"] == tutors[1].id and mine["sessions"] == expected[tutors[1].id]["sessions"]


async def test_workload_per_subject_and_district_adds_up_the_records(client, factory):
    """Per subject and per district totals (and the per-tutor classes column) against sums made
    here from the records; points follow their source's subject and the ledger's district."""
    from collections import defaultdict

    from app.models import Answer, HelpRequest, LiveClass, Question, TutoringSession

    rng = random.Random(17)
    org = await factory.org()
    student = await factory.user("student", org)
    tutors = [await factory.tutor(org, school=s) for s in (0, 0, 2, 3)]  # districts 0, 0, 1, 1
    blank = {"tutors": set(), "sessions": 0, "seconds": 0, "classes": 0, "answers": 0, "ratings": [], "points": Decimal("0")}
    by = {"subject": defaultdict(lambda: {k: (set() if k == "tutors" else [] if k == "ratings" else v) for k, v in blank.items()}),
          "district": defaultdict(lambda: {k: (set() if k == "tutors" else [] if k == "ratings" else v) for k, v in blank.items()})}
    classes_of: dict[int, int] = defaultdict(int)
    inside = lambda at: START <= at < END  # noqa: E731
    async with factory.session() as db:
        for n in range(40):
            t, subject = rng.choice(tutors), rng.choice(["math", "physics"])
            at = rng.choice([START - timedelta(hours=3), START + timedelta(days=rng.uniform(0, 7)), END])
            kind = rng.choice(["session", "class", "answer"])
            if kind == "session":
                req = HelpRequest(student_id=student.id, subject_code=subject, text="?", status="matched")
                db.add(req)
                await db.flush()
                secs, rating = rng.randint(60, 1500), rng.choice([None, 2, 4, 5])
                row = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=t.id, subject_code=subject,
                                      state="ended", live_at=at, duration_s=secs, rating=rating)
            elif kind == "class":
                row = LiveClass(tutor_id=t.id, subject_code=subject, title="课", starts_at=at)
            else:
                q = Question(student_id=student.id, subject_code=subject, text="?", created_at=at)
                db.add(q)
                await db.flush()
                row = Answer(question_id=q.id, tutor_id=t.id, text="答", created_at=at)
            db.add(row)
            await db.flush()
            points = Decimal(rng.choice(["0.50", "1.25", "2.00"]))
            db.add(PointsEntry(tutor_id=t.id, district_id=t.district_id, source_kind={"session": "one_to_one"}.get(kind, kind),
                               source_id=row.id, points=points, created_at=at))
            if inside(at):
                for group in (by["subject"][subject], by["district"][t.district_id]):
                    group["tutors"].add(t.id)
                    group["points"] += points
                    if kind == "session":
                        group["sessions"] += 1
                        group["seconds"] += secs
                        group["ratings"] += [rating] if rating else []
                    else:
                        group["classes" if kind == "class" else "answers"] += 1
                classes_of[t.id] += kind == "class"
        # An adjustment has no subject: it is counted under "其他" by subject, in its district by district.
        db.add(PointsEntry(tutor_id=tutors[2].id, district_id=tutors[2].district_id, source_kind="adjustment", source_id=0,
                           points=Decimal("3.00"), created_at=START + timedelta(days=1)))
        by["subject"][None]["points"] += Decimal("3.00")
        by["district"][tutors[2].district_id]["points"] += Decimal("3.00")
        await db.commit()

    admin = await factory.sign_in(await factory.user("city_admin", org))
    for kind, groups in by.items():
        r = await client.get("/api/stats/tutors/totals", headers=admin, params={**PERIOD, "by": kind})
        assert r.status_code == 200, r.text
        got = {row[kind]: row for row in r.json()["rows"]}
        assert set(got) == set(groups), kind
        for key, e in groups.items():
            row = got[key]
            assert (row["tutors"], row["sessions"], row["classes"], row["answers"], row["ratings"]) == (
                len(e["tutors"]), e["sessions"], e["classes"], e["answers"], len(e["ratings"])), (kind, key)
            assert Decimal(str(row["live_minutes"])) == (Decimal(e["seconds"]) / 60).quantize(Decimal("0.01"))
            assert Decimal(str(row["points"])) == e["points"]
            if e["ratings"]:
                assert Decimal(str(row["average_rating"])) == (Decimal(sum(e["ratings"])) / len(e["ratings"])).quantize(Decimal("0.01"))
        assert sum(Decimal(str(row["points"])) for row in got.values()) == sum(e["points"] for e in groups.values())
    assert got[org.districts[0].id]["name"] == org.districts[0].name

    district_admin = await factory.sign_in(await factory.user("district_admin", org, school=2))
    mine = (await client.get("/api/stats/tutors/totals", headers=district_admin, params={**PERIOD, "by": "district"})).json()["rows"]
    assert [row["district"] for row in mine] == [org.districts[1].id]
    r = await client.get("/api/stats/tutors/totals", headers=district_admin, params={**PERIOD, "by": "school"})
    assert r.status_code == 422
    per_tutor = {row["tutor_id"]: row["classes"] for row in
                 (await client.get("/api/stats/tutors", headers=admin, params=PERIOD)).json()["rows"]}
    assert all(per_tutor[t.id] == classes_of[t.id] for t in tutors) and sum(classes_of.values()) > 0
    csv_text = (await client.get("/api/stats/tutors/totals", headers=admin, params={**PERIOD, "by": "subject", "format": "csv"})).text
    assert csv_text.lstrip("\ufeff").startswith("学科,名称,辅导教师数")


async def test_a_tutors_archive_lists_every_session_class_and_answer_with_its_points(client, factory):
    from app.models import Answer, ClassAttendance, HelpRequest, LiveClass, Question, TutoringSession

    org = await factory.org()
    student = await factory.user("student", org, grade=8)
    tutor, other = await factory.tutor(org), await factory.tutor(org, school=2)
    at = START + timedelta(days=1, hours=19)  # Tuesday 19:00 in Shanghai
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="math", text="?", status="matched")
        db.add(req)
        await db.flush()
        s = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="math", state="ended",
                            live_at=at, duration_s=900, rating=5)
        before = TutoringSession(request_id=None, student_id=student.id, tutor_id=tutor.id, subject_code="math", state="ended",
                                 live_at=START - timedelta(minutes=1), duration_s=60)
        klass = LiveClass(tutor_id=tutor.id, subject_code="physics", title="浮力", starts_at=at + timedelta(hours=1),
                          ended_at=at + timedelta(hours=1, minutes=40))
        q = Question(student_id=student.id, subject_code="chemistry", text="?", created_at=at)
        db.add_all([s, klass, q])
        req2 = HelpRequest(student_id=student.id, subject_code="math", text="?", status="matched")
        db.add(req2)
        await db.flush()
        before.request_id = req2.id
        db.add(before)
        db.add(ClassAttendance(live_class_id=klass.id, student_id=student.id, joined_at=klass.starts_at, seconds=2400))
        answer = Answer(question_id=q.id, tutor_id=tutor.id, text="先写出化学方程式", created_at=at + timedelta(days=2))
        db.add(answer)
        await db.flush()
        db.add_all([PointsEntry(tutor_id=tutor.id, district_id=tutor.district_id, source_kind="one_to_one", source_id=s.id,
                                points=Decimal("2.25"), created_at=at + timedelta(hours=1)),
                    PointsEntry(tutor_id=tutor.id, district_id=tutor.district_id, source_kind="class", source_id=klass.id,
                                points=Decimal("4.00"), created_at=at + timedelta(hours=2))])
        await db.commit()

    mine = (await client.get("/api/stats/archive", headers=await factory.sign_in(tutor), params=PERIOD)).json()
    rows = mine["rows"]
    assert [(r["kind"], r["at"], r["subject"]) for r in rows] == [
        ("一对一辅导", "2026-11-03 19:00", "数学"), ("一对多课堂", "2026-11-03 20:00", "物理"), ("答疑", "2026-11-05 19:00", "化学")]
    assert (Decimal(str(rows[0]["minutes"])), rows[0]["rating"], Decimal(str(rows[0]["points"]))) == (Decimal("15.00"), 5, Decimal("2.25"))
    assert student.real_name not in rows[0]["detail"] and "初二学生" in rows[0]["detail"]  # minors by grade and school only
    assert (Decimal(str(rows[1]["minutes"])), Decimal(str(rows[1]["points"]))) == (Decimal("40.00"), Decimal("4.00"))
    assert "1 人参加" in rows[1]["detail"] and rows[2]["detail"] == "先写出化学方程式"

    tutor_headers = await factory.sign_in(tutor)
    assert (await client.get("/api/stats/archive", headers=tutor_headers, params={**PERIOD, "tutor_id": other.id})).status_code == 403
    school_admin = await factory.sign_in(await factory.user("school_admin", org))
    r = await client.get("/api/stats/archive", headers=school_admin, params={**PERIOD, "tutor_id": tutor.id, "format": "csv"})
    assert r.status_code == 200 and r.text.lstrip("\ufeff").splitlines()[0] == "时间,类别,编号,学科,内容,分钟,评分,积分"
    assert len(r.text.strip().splitlines()) == 4
    assert (await client.get("/api/stats/archive", headers=school_admin, params={**PERIOD, "tutor_id": other.id})).status_code == 403
    assert (await client.get("/api/stats/archive", headers=school_admin, params={**PERIOD, "tutor_id": student.id})).status_code == 404
    assert (await client.get("/api/stats/archive", headers=school_admin, params=PERIOD)).status_code == 422
    assert (await client.get("/api/stats/archive", headers=await factory.sign_in(student), params=PERIOD)).status_code == 403


async def test_the_kept_online_rate_follows_every_change(client, factory):  # type: ignore[no-untyped-def]
    """The online rate is kept between requests until what it counts changes (app/stats/changes.py).
    After each of many random changes — sign-ins inside and outside the period, new users, a
    tutor approved or changing stages, a student changing grade or school — the city's, a
    district's and a school's rates equal the brute-force count over the users and sign-ins."""
    from sqlalchemy import update

    rng = random.Random(31)
    org = await factory.org()
    people: dict[int, dict] = {}  # type: ignore[type-arg]  # user id → role, grade, school, created, junior, senior, approved, sign-ins

    async def add_user(db, n: int) -> None:  # type: ignore[no-untyped-def]
        role = rng.choice(["student", "tutor"])
        school = rng.choice(org.schools)
        grade = rng.randint(7, 12) if role == "student" else None
        created = rng.choice([START - timedelta(days=10), END + timedelta(days=1)])
        u = User(username=f"k{n}", password_hash=_HASH, role=role, real_name="用户", city_id=org.city.id,
                 district_id=school.district_id, school_id=school.id, grade=grade, created_at=created)
        db.add(u)
        await db.flush()
        p = {"role": role, "grade": grade, "school": school, "created": created, "junior": False, "senior": False, "approved": False, "at": []}
        if role == "tutor":
            p["junior"], p["senior"], p["approved"] = rng.random() < 0.7, rng.random() < 0.5, rng.random() < 0.8
            db.add(TutorProfile(user_id=u.id, title="senior", teaches_junior=p["junior"], teaches_senior=p["senior"],
                                status="approved" if p["approved"] else "pending_school"))
        people[u.id] = p

    def brute(district_id: int | None, school_id: int | None) -> dict[str, list[int]]:
        want = {g: [0, 0] for g in ("初中教师", "高中教师", "初中学生", "高中学生")}
        for p in people.values():
            if p["created"] >= END or (district_id and p["school"].district_id != district_id) or (school_id and p["school"].id != school_id):
                continue
            groups = ({"初中教师"} if p["junior"] else set()) | ({"高中教师"} if p["senior"] else set()) if p["role"] == "tutor" and p["approved"] else set()
            if p["role"] == "student":
                groups = {"初中学生" if p["grade"] <= 9 else "高中学生"}
            for g in groups:
                want[g][1] += 1
                want[g][0] += any(START <= at < END for at in p["at"])
        return want

    async with factory.session() as db:
        for n in range(30):
            await add_user(db, n)
        await db.commit()
    admin = await factory.sign_in(await factory.user("city_admin", org))
    scopes = [(None, None), (org.districts[0].id, None), (None, org.schools[1].id)]

    async def check(step: str) -> None:
        for district_id, school_id in scopes:
            params = {**PERIOD, **({"district_id": district_id} if district_id else {}), **({"school_id": school_id} if school_id else {})}
            rows = (await client.get("/api/stats/online-rate", headers=admin, params=params)).json()["rows"]
            assert {r["group"]: [r["online"], r["registered"]] for r in rows} == brute(district_id, school_id), (step, district_id, school_id)

    await check("start")
    await check("kept")
    for step in range(16):
        kind = rng.choice(["sign_in", "sign_in", "outside", "user", "approve", "grade", "move"])
        uid = rng.choice(list(people))
        p = people[uid]
        async with factory.session() as db:
            if kind in ("sign_in", "outside"):
                at = START + timedelta(days=rng.uniform(0, 7)) if kind == "sign_in" else END + timedelta(hours=rng.uniform(0, 48))
                db.add(SignIn(user_id=uid, method="password", at=at))
                p["at"].append(at)
            elif kind == "user":
                await add_user(db, 100 + step)
            elif kind == "approve" and p["role"] == "tutor":
                p["approved"], p["senior"] = not p["approved"], not p["senior"]
                await db.execute(update(TutorProfile).where(TutorProfile.user_id == uid).values(
                    status="approved" if p["approved"] else "pending_school", teaches_senior=p["senior"]))
            elif kind == "grade" and p["role"] == "student":
                p["grade"] = 19 - p["grade"]
                await db.execute(update(User).where(User.id == uid).values(grade=p["grade"]))
            elif kind == "move":
                p["school"] = rng.choice(org.schools)
                await db.execute(update(User).where(User.id == uid).values(school_id=p["school"].id, district_id=p["school"].district_id))
            await db.commit()
        await check(f"{step} {kind}")
