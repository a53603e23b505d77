"""Weekly class feedback and knowledge-point hot spots against counts made by hand."""
import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import (ClassAttendance, HelpRequest, HelpRequestKnowledgePoint, KnowledgePoint, LiveClass, Question, SchoolClass,
                        TutoringSession)

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 2, tzinfo=SH)


async def test_weekly_class_feedback(client, factory):
    rng = random.Random(9)
    org = await factory.org()
    async with factory.session() as db:
        second = SchoolClass(school_id=org.schools[0].id, grade=8, name="2班")
        db.add(second)
        await db.commit()
    students = [await factory.user("student", org), await factory.user("student", org, class_id=second.id),
                await factory.user("student", org)]
    tutor = await factory.tutor(org)
    expected = Counter()
    who: dict[tuple[int, int], set[int]] = {}
    async with factory.session() as db:
        klasses = []
        for _ in range(25):
            s = rng.choice(students)
            at = MONDAY + timedelta(days=rng.uniform(-1, 15))
            week = (at.astimezone(SH).date() - MONDAY.date()).days // 7
            if rng.random() < 0.2:  # a one-to-many class the student attends
                klass = LiveClass(tutor_id=tutor.id, subject_code="math", title="课", starts_at=at)
                db.add(klass)
                await db.flush()
                db.add(ClassAttendance(live_class_id=klass.id, student_id=s.id, joined_at=at, seconds=600))
                klasses.append(klass)
                kind = "attendances"
            elif rng.random() < 0.6:
                req = HelpRequest(student_id=s.id, subject_code="math", text="?", status="matched")
                db.add(req)
                await db.flush()
                db.add(TutoringSession(request_id=req.id, student_id=s.id, tutor_id=tutor.id, subject_code="math",
                                       state="ended", live_at=at))
                kind = "sessions"
            else:
                db.add(Question(student_id=s.id, subject_code="math", text="?", created_at=at))
                kind = "questions"
            if 0 <= week < 2:
                expected[(week, s.class_id, kind)] += 1
                who.setdefault((week, s.class_id), set()).add(s.id)
        await db.commit()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    r = await client.get("/api/stats/classes/weekly", headers=admin, params={"from": "2026-11-02", "to": "2026-11-16"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert len(rows) == 2 * 2  # two weeks × two classes
    for row in rows:
        week = (datetime.fromisoformat(row["week_of"]).date() - MONDAY.date()).days // 7
        key = (week, row["class_id"])
        assert row["sessions"] == expected[(*key, "sessions")]
        assert row["questions"] == expected[(*key, "questions")]
        assert row["attendances"] == expected[(*key, "attendances")]
        assert row["participants"] == len(who.get(key, set()))
    assert sum(v for k, v in expected.items() if k[2] == "attendances") > 0  # classes were really counted
    other = await client.get("/api/stats/classes/weekly", headers=admin,
                             params={"from": "2026-11-02", "to": "2026-11-16", "school_id": org.schools[1].id})
    assert other.status_code == 403


async def test_hot_spots_rank_the_most_asked_knowledge_points(client, factory):
    rng = random.Random(4)
    org = await factory.org()
    here, elsewhere = await factory.user("student", org, school=0), await factory.user("student", org, school=3)
    async with factory.session() as db:
        kps = (await db.execute(select(KnowledgePoint.id, KnowledgePoint.subject_code)
                                .where(KnowledgePoint.subject_code.in_(["math", "physics"])))).all()
        picks = rng.sample(kps, 6)
        counts: Counter = Counter()
        for _ in range(40):
            kp, subject = rng.choice(picks)
            student = rng.choice([here, elsewhere])
            req = HelpRequest(student_id=student.id, subject_code=subject, text="?", status="cancelled",
                              created_at=MONDAY + timedelta(days=rng.uniform(0, 6)))
            db.add(req)
            await db.flush()
            db.add(HelpRequestKnowledgePoint(request_id=req.id, knowledge_point_id=kp))
            if student is here:
                counts[(kp, subject)] += 1
        await db.commit()
    admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    rows = (await client.get("/api/stats/hot-spots", headers=admin,
                             params={"from": "2026-11-02", "to": "2026-11-09"})).json()["rows"]
    assert {(r["knowledge_point_id"], r["subject"]): r["asked"] for r in rows} == dict(counts)
    assert [r["asked"] for r in rows] == sorted((r["asked"] for r in rows), reverse=True)
    physics = (await client.get("/api/stats/hot-spots", headers=admin,
                                params={"from": "2026-11-02", "to": "2026-11-09", "subject": "physics"})).json()["rows"]
    assert {r["knowledge_point_id"] for r in physics} == {kp for kp, s in counts if s == "physics"}
