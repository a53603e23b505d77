"""The demo city: 3 districts, 6 schools, 36 classes, 216 students, 45 approved tutors and the
admins, all with the password `demo1234`, and six weeks of history before the day it is seeded
(one-to-one sessions with ratings and points, questions and answers, one-to-many classes,
sign-ins) so the statistics, the dashboard and the archives have something to show. Seeded
once, on the embedded default only."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit.security import hash_password
from app.live.service import points_for
from app.models import (
    Answer,
    City,
    ClassAttendance,
    District,
    HelpRequest,
    HelpRequestKnowledgePoint,
    KnowledgePoint,
    LiveClass,
    PointsEntry,
    Question,
    QuestionKnowledgePoint,
    Role,
    School,
    SchoolClass,
    SignIn,
    TutorExpertise,
    TutoringSession,
    TutorProfile,
    TutorReview,
    TutorSubject,
    User,
    utcnow,
)
from app.qa.search import reindex

from .knowledge import SUBJECTS

DEMO_PASSWORD = "demo1234"
DISTRICTS = [("HD", "海淀区"), ("CY", "朝阳区"), ("XC", "西城区")]
SCHOOLS = [  # district, code, name, stage
    ("HD", "HD01", "海淀实验中学", "junior"),
    ("HD", "HD02", "海淀第二中学", "complete"),
    ("CY", "CY01", "朝阳外国语学校", "junior"),
    ("CY", "CY02", "朝阳第八十中学", "senior"),
    ("XC", "XC01", "西城育才学校", "junior"),
    ("XC", "XC02", "西城第四中学", "complete"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "子涵欣怡梓涵晨阳浩然宇轩思远雨桐一诺明哲佳琪俊杰诗涵嘉怡文博睿泽若曦紫萱皓轩"
GRADES = {"junior": (7, 8, 9), "senior": (10, 11, 12), "complete": (8, 9, 10, 11)}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


async def demo_seeded(db: AsyncSession) -> bool:
    return bool((await db.execute(select(func.count()).select_from(City))).scalar())


async def seed_demo(db: AsyncSession, settings: Settings | None = None) -> None:
    rng = random.Random(2026)
    pw = hash_password(DEMO_PASSWORD)  # one hash for every demo account keeps seeding instant
    city = City(name="北京市")
    db.add(city)
    await db.flush()
    db.add(User(username="city_admin", password_hash=pw, role="city_admin", real_name="市教委管理员", city_id=city.id))
    districts = {}
    for i, (code, name) in enumerate(DISTRICTS, start=1):
        d = District(city_id=city.id, code=code, name=name)
        db.add(d)
        await db.flush()
        districts[code] = d
        db.add(
            User(username=f"district_admin{i}", password_hash=pw, role="district_admin", real_name=f"{name}管理员", city_id=city.id, district_id=d.id)
        )
    kps: dict[str, list[int]] = {}
    for kp_id, subject in (await db.execute(select(KnowledgePoint.id, KnowledgePoint.subject_code))).all():
        kps.setdefault(subject, []).append(kp_id)
    student_no = tutor_no = 0
    for s_index, (dcode, code, name, stage) in enumerate(SCHOOLS, start=1):
        district = districts[dcode]
        school = School(district_id=district.id, code=code, name=name, stage=stage)
        db.add(school)
        await db.flush()
        scope = dict(city_id=city.id, district_id=district.id, school_id=school.id)
        db.add(User(username=f"school_admin{s_index}", password_hash=pw, role="school_admin", real_name=f"{name}管理员", **scope))
        for grade in GRADES[stage]:
            for n in (1, 2):
                klass = SchoolClass(school_id=school.id, grade=grade, name=f"{n}班")
                db.add(klass)
                await db.flush()
                for _ in range(36 // (2 * len(GRADES[stage]))):  # about 36 students a school
                    student_no += 1
                    db.add(
                        User(
                            username=f"student{student_no}",
                            password_hash=pw,
                            role="student",
                            real_name=_name(rng),
                            class_id=klass.id,
                            grade=grade,
                            **scope,
                        )
                    )
        for _ in range(8 if s_index <= 3 else 7):
            tutor_no += 1
            subject = SUBJECTS[(tutor_no - 1) % len(SUBJECTS)][0]
            second = SUBJECTS[(tutor_no + 3) % len(SUBJECTS)][0] if tutor_no % 4 == 0 else None
            user = User(username=f"tutor{tutor_no}", password_hash=pw, role="tutor", real_name=_name(rng), **scope)
            db.add(user)
            await db.flush()
            db.add(
                TutorProfile(
                    user_id=user.id,
                    title=rng.choice(("senior", "intermediate")),
                    teaches_junior=True,
                    teaches_senior=stage != "junior" or tutor_no % 3 == 0,
                    fields="",
                    bio="",
                    status="approved",
                    approved_at=utcnow(),
                )
            )
            await db.flush()
            for code_ in filter(None, (subject, second)):
                db.add(TutorSubject(user_id=user.id, subject_code=code_))
                for kp in rng.sample(kps[code_], min(3, len(kps[code_]))):
                    db.add(TutorExpertise(user_id=user.id, knowledge_point_id=kp))
            db.add(TutorReview(tutor_id=user.id, action="submitted", actor_id=user.id))
            for level in ("school", "district", "city"):
                db.add(TutorReview(tutor_id=user.id, action="approved", level=level, actor_id=user.id, reason="demo"))
    await db.flush()
    await _history(db, rng, settings or Settings(), kps)


async def _history(db: AsyncSession, rng: random.Random, settings: Settings, kps: dict[str, list[int]]) -> None:
    """Six weeks of weekday evenings (18:00–21:00 in the service's time zone) before today."""
    zone = ZoneInfo(settings.timezone)
    today = utcnow().astimezone(zone).date()
    days = [d for d in (today - timedelta(days=k) for k in range(42, 0, -1)) if d.weekday() < 5]
    # Everyone was registered before the history starts (so "enrolled" and "registered" count them).
    await db.execute(update(User).values(created_at=datetime(today.year, today.month, today.day, tzinfo=zone) - timedelta(days=60)))

    def evening(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, 18, tzinfo=zone) + timedelta(minutes=rng.randint(0, 170))

    students = (await db.execute(select(User).where(User.role == Role.STUDENT).order_by(User.id))).scalars().all()
    tutors = (
        await db.execute(
            select(User.id, User.district_id, TutorSubject.subject_code)
            .join(TutorSubject, TutorSubject.user_id == User.id)
            .where(User.role == Role.TUTOR)
        )
    ).all()
    by_subject: dict[str, list[tuple[int, int | None]]] = {}
    for tid, did, code in tutors:
        by_subject.setdefault(code, []).append((tid, did))
    askable = [c for c in by_subject if kps.get(c)]  # subjects with tutors and knowledge points
    # Schools differ: in each, only some students ever ask, and a few ask often.
    active = [u for u in students if rng.random() < 0.35 + 0.1 * ((u.school_id or 0) % 4)]
    rng.shuffle(active)
    weights = [1 / (i + 1) ** 0.4 for i in range(len(active))]  # some ask far more often than others
    signed: set[tuple[int, object]] = set()

    def sign_in(user_id: int, at: datetime) -> None:
        if (user_id, at.date()) not in signed:
            signed.add((user_id, at.date()))
            db.add(SignIn(user_id=user_id, at=at - timedelta(minutes=3), method="password"))

    for _ in range(320):
        student = rng.choices(active, weights)[0]
        subject = rng.choice(askable)
        tutor_id, tutor_district = rng.choice(by_subject[subject])
        at = evening(rng.choice(days))
        req = HelpRequest(
            student_id=student.id,
            subject_code=subject,
            text="这道题不会做，请老师讲一讲。",
            status="matched",
            created_at=at - timedelta(seconds=20),
            closed_at=at - timedelta(seconds=10),
        )
        db.add(req)
        await db.flush()
        for kp in rng.sample(kps[subject], min(rng.randint(1, 2), len(kps[subject]))):
            db.add(HelpRequestKnowledgePoint(request_id=req.id, knowledge_point_id=kp))
        duration = rng.randint(300, 1700)
        rating = rng.choice((None, 3, 4, 5, 5, 5)) if rng.random() < 0.85 else None
        session = TutoringSession(
            request_id=req.id,
            student_id=student.id,
            tutor_id=tutor_id,
            subject_code=subject,
            state="ended",
            matched_at=at - timedelta(seconds=10),
            connecting_at=at - timedelta(seconds=8),
            live_at=at,
            ended_at=at + timedelta(seconds=duration),
            duration_s=duration,
            end_reason=rng.choice(("hangup_student", "hangup_tutor")),
            rating=rating,
            rated_at=at + timedelta(seconds=duration + 30) if rating else None,
            points_booked=True,
        )
        db.add(session)
        await db.flush()
        points = points_for(settings, duration, rating)
        if points > 0:
            db.add(
                PointsEntry(
                    tutor_id=tutor_id,
                    district_id=tutor_district,
                    source_kind="one_to_one",
                    source_id=session.id,
                    points=points,
                    note=f"rating {rating or '-'}, {duration}s",
                    created_at=session.ended_at,
                )
            )
        sign_in(student.id, at)
        sign_in(tutor_id, at)
    for _ in range(60):
        student = rng.choice(active)
        subject = rng.choice(askable)
        at = evening(rng.choice(days))
        kp = rng.choice(kps[subject])
        q = Question(
            student_id=student.id,
            subject_code=subject,
            text="请问这个知识点怎么理解？",
            created_at=at,
            band="senior" if (student.grade or 0) >= 10 else "junior",
        )
        db.add(q)
        await db.flush()
        db.add(QuestionKnowledgePoint(question_id=q.id, knowledge_point_id=kp))
        sign_in(student.id, at)
        if rng.random() < 0.7:
            tutor_id, _ = rng.choice(by_subject[subject])
            answer = Answer(
                question_id=q.id, tutor_id=tutor_id, text="先回到定义，再看例题的每一步。", created_at=at + timedelta(minutes=rng.randint(5, 90))
            )
            db.add(answer)
            await db.flush()
            q.answer_count = 1
            if rng.random() < 0.5:  # accepted (the Q&A centre books no points for the demo's history)
                q.status, q.accepted_answer_id, q.closed_at = "accepted", answer.id, answer.created_at
                answer.accepted_at = answer.created_at
        await db.flush()
        await reindex(db, q.id)
    for n in range(8):
        subject = rng.choice(list(by_subject))
        tutor_id, _ = rng.choice(by_subject[subject])
        at = evening(rng.choice(days)).replace(minute=0)
        klass = LiveClass(
            tutor_id=tutor_id,
            subject_code=subject,
            title=f"专题课堂 {n + 1}",
            starts_at=at,
            ended_at=at + timedelta(minutes=40),
            state="ended",
            live_at=at,
        )
        db.add(klass)
        await db.flush()
        for student in rng.sample(students, rng.randint(10, 25)):
            db.add(
                ClassAttendance(
                    live_class_id=klass.id,
                    student_id=student.id,
                    joined_at=at + timedelta(minutes=rng.randint(0, 5)),
                    seconds=rng.randint(1200, 2400),
                )
            )
            sign_in(student.id, at)
    await db.flush()
