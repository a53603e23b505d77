"""The demo city: 3 districts, 6 schools, 36 classes, 216 students, 45 approved tutors and the
admins, all with the password `demo1234`. Seeded once, on the embedded default only."""
from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.security import hash_password
from app.models import (City, District, KnowledgePoint, School, SchoolClass, TutorExpertise, TutorProfile,
                        TutorReview, TutorSubject, User, utcnow)

from .knowledge import SUBJECTS

DEMO_PASSWORD = "demo1234"
DISTRICTS = [("HD", "海淀区"), ("CY", "朝阳区"), ("XC", "西城区")]
SCHOOLS = [  # district, code, name, stage
    ("HD", "HD01", "海淀实验中学", "junior"), ("HD", "HD02", "海淀第二中学", "complete"),
    ("CY", "CY01", "朝阳外国语学校", "junior"), ("CY", "CY02", "朝阳第八十中学", "senior"),
    ("XC", "XC01", "西城育才学校", "junior"), ("XC", "XC02", "西城第四中学", "complete"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "子涵欣怡梓涵晨阳浩然宇轩思远雨桐一诺明哲佳琪俊杰诗涵嘉怡文博睿泽若曦紫萱皓轩"
GRADES = {"junior": (7, 8, 9), "senior": (10, 11, 12), "complete": (8, 9, 10, 11)}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


async def demo_seeded(db: AsyncSession) -> bool:
    return bool((await db.execute(select(func.count()).select_from(City))).scalar())


async def seed_demo(db: AsyncSession) -> None:
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
        db.add(User(username=f"district_admin{i}", password_hash=pw, role="district_admin",
                    real_name=f"{name}管理员", city_id=city.id, district_id=d.id))
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
        db.add(User(username=f"school_admin{s_index}", password_hash=pw, role="school_admin",
                    real_name=f"{name}管理员", **scope))
        for grade in GRADES[stage]:
            for n in (1, 2):
                klass = SchoolClass(school_id=school.id, grade=grade, name=f"{n}班")
                db.add(klass)
                await db.flush()
                for _ in range(36 // (2 * len(GRADES[stage]))):  # about 36 students a school
                    student_no += 1
                    db.add(User(username=f"student{student_no}", password_hash=pw, role="student",
                                real_name=_name(rng), class_id=klass.id, grade=grade, **scope))
        for _ in range(8 if s_index <= 3 else 7):
            tutor_no += 1
            subject = SUBJECTS[(tutor_no - 1) % len(SUBJECTS)][0]
            second = SUBJECTS[(tutor_no + 3) % len(SUBJECTS)][0] if tutor_no % 4 == 0 else None
            user = User(username=f"tutor{tutor_no}", password_hash=pw, role="tutor", real_name=_name(rng) + "老师", **scope)
            db.add(user)
            await db.flush()
            db.add(TutorProfile(user_id=user.id, title=rng.choice(("senior", "intermediate")),
                                teaches_junior=True, teaches_senior=stage != "junior" or tutor_no % 3 == 0,
                                fields="", bio="", status="approved", approved_at=utcnow()))
            await db.flush()
            for code_ in filter(None, (subject, second)):
                db.add(TutorSubject(user_id=user.id, subject_code=code_))
                for kp in rng.sample(kps[code_], min(3, len(kps[code_]))):
                    db.add(TutorExpertise(user_id=user.id, knowledge_point_id=kp))
            db.add(TutorReview(tutor_id=user.id, action="submitted", actor_id=user.id))
            for level in ("school", "district", "city"):
                db.add(TutorReview(tutor_id=user.id, action="approved", level=level, actor_id=user.id, reason="demo"))
    await db.flush()
