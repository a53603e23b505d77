"""Weekly class feedback and knowledge-point hot spots against counts made by hand."""
import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, literal, select

from app.models import (ClassAttendance, HelpRequest, HelpRequestKnowledgePoint, KnowledgePoint, LiveClass, Question,
                        QuestionKnowledgePoint, SchoolClass, TutoringSession, User)
from app.stats.hot_spots import hot_spots

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


async def _brute_hot_spots(db, keep) -> Counter:  # type: ignore[no-untyped-def]
    """Asks per knowledge point straight from the raw tags: every help request's, and every
    question's that was not converted from a request (that ask is the request's, counted once)."""
    counted: Counter = Counter()
    for kp, student, at, source in [
            *(await db.execute(select(HelpRequestKnowledgePoint.knowledge_point_id, User, HelpRequest.created_at, literal(None))
                               .join(HelpRequest, HelpRequest.id == HelpRequestKnowledgePoint.request_id)
                               .join(User, User.id == HelpRequest.student_id))).all(),
            *(await db.execute(select(QuestionKnowledgePoint.knowledge_point_id, User, Question.created_at, Question.source_request_id)
                               .join(Question, Question.id == QuestionKnowledgePoint.question_id)
                               .join(User, User.id == Question.student_id))).all()]:
        if source is None and keep(student, at):
            counted[kp] += 1
    return counted


async def test_hot_spots_count_questions_and_requests_once_each(client, factory, clock):
    """Questions asked in the Q&A centre count in the hot spots beside help requests; a request
    turned into a question counts once. Checked against the raw tags for the city, a school, a
    class and a subject — from the rollup (UTC+8 days) and from the raw tags (another time zone)."""
    rng = random.Random(11)
    org = await factory.org()
    async with factory.session() as db:
        second = SchoolClass(school_id=org.schools[0].id, grade=8, name="2班")
        db.add(second)
        await db.commit()
    students = [await factory.user("student", org), await factory.user("student", org, class_id=second.id),
                await factory.user("student", org, school=2), await factory.user("student", org, school=3)]
    async with factory.session() as db:
        kps = (await db.execute(select(KnowledgePoint.id, KnowledgePoint.subject_code)
                                .where(KnowledgePoint.subject_code.in_(["math", "physics"])))).all()
    picks = rng.sample(kps, 5)
    when = lambda: MONDAY + timedelta(days=rng.uniform(-1, 8))  # noqa: E731  (some outside the week)
    # Through the API: questions with knowledge points, and a request nobody took turned into a question.
    clock.t = datetime(2026, 11, 28, 10, 0, tzinfo=SH).timestamp()  # a Saturday: live tutoring is closed
    for i, student in enumerate(students[:2]):
        auth = await factory.sign_in(student)
        kp, subject = picks[i]
        r = await client.post("/api/qa/questions", headers=auth, json={"subject": subject, "text": "这个知识点不懂", "knowledge_point_ids": [kp]})
        assert r.status_code == 201, r.text
        r = await client.post("/api/help-requests", headers=auth, json={"subject": subject, "text": "没人接的请求", "knowledge_point_ids": [kp]})
        assert r.status_code == 409
        assert (await client.post(f"/api/help-requests/{r.json()['request_id']}/to-question", headers=auth)).status_code == 200
    # Straight into the records: many asks of both kinds over nine days, then a question's tag removed.
    async with factory.session() as db:
        for _ in range(60):
            student = rng.choice(students)
            chosen = rng.sample(picks, rng.randint(1, 2))
            subject = chosen[0][1]
            if rng.random() < 0.5:
                ask = HelpRequest(student_id=student.id, subject_code=subject, text="?", status="cancelled", created_at=when())
                db.add(ask)
                await db.flush()
                db.add_all([HelpRequestKnowledgePoint(request_id=ask.id, knowledge_point_id=k) for k, _ in chosen])
            else:
                question = Question(student_id=student.id, subject_code=subject, text="?", created_at=when())
                db.add(question)
                await db.flush()
                db.add_all([QuestionKnowledgePoint(question_id=question.id, knowledge_point_id=k) for k, _ in chosen])
        await db.commit()
        await db.execute(delete(QuestionKnowledgePoint).where(QuestionKnowledgePoint.question_id == question.id))
        await db.commit()

    admin = await factory.sign_in(await factory.user("city_admin", org))
    s0 = org.schools[0].id
    subject_of = dict(kps)
    for tz, start, end in ((SH, "2026-11-02", "2026-11-09"), (SH, "2026-11-23", "2026-11-30"), (ZoneInfo("Europe/Berlin"), "2026-11-02", "2026-11-09")):
        f = datetime.fromisoformat(start).replace(tzinfo=tz)
        t = datetime.fromisoformat(end).replace(tzinfo=tz)
        for params, keep in (({}, lambda u: True), ({"school_id": s0}, lambda u: u.school_id == s0),
                             ({"class_id": second.id}, lambda u: u.class_id == second.id),
                             ({"subject": "physics"}, lambda u: True)):
            async with factory.session() as db:
                expected = await _brute_hot_spots(db, lambda u, at: f <= at < t and u.city_id == org.city.id and keep(u))
                if tz is SH:
                    rows = (await client.get("/api/stats/hot-spots", headers=admin, params={"from": start, "to": end, **params})).json()["rows"]
                else:  # a time zone whose days are not UTC+8's: read from the raw tags
                    rows = await hot_spots(db, org.city.id, f.date(), t.date(), "Europe/Berlin", subject=params.get("subject"),
                                           school_id=params.get("school_id"), class_id=params.get("class_id"))
            if "subject" in params:
                expected = Counter({k: n for k, n in expected.items() if subject_of[k] == params["subject"]})
            assert {r["knowledge_point_id"]: r["asked"] for r in rows} == dict(expected), (tz, start, params)
    week = (await client.get("/api/stats/hot-spots", headers=admin, params={"from": "2026-11-23", "to": "2026-11-30"})).json()["rows"]
    assert sum(r["asked"] for r in week) == 4  # two questions and two converted requests, each once
