"""Small factories for test data: an org tree, users of every role, signed-in clients."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.kit.security import hash_password
from app.models import (City, District, KnowledgePoint, School, SchoolClass, TutorExpertise, TutorProfile,
                        TutorSubject, User, utcnow)

PASSWORD = "password123"
_HASH = hash_password(PASSWORD)
_seq = itertools.count(1)


@dataclass
class Org:
    city: City
    districts: list[District]
    schools: list[School]  # two per district
    classes: list[SchoolClass]  # one per school, grade 8


class Factory:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client

    def session(self):  # type: ignore[no-untyped-def]
        return self.app.state.sessionmaker()

    async def org(self) -> Org:
        async with self.session() as db:
            city = City(name=f"市{next(_seq)}")
            db.add(city)
            await db.flush()
            districts, schools, classes = [], [], []
            for d in range(2):
                n = next(_seq)
                district = District(city_id=city.id, code=f"D{n}", name=f"区{n}")
                db.add(district)
                await db.flush()
                districts.append(district)
                for _ in range(2):
                    n = next(_seq)
                    school = School(district_id=district.id, code=f"S{n}", name=f"学校{n}", stage="complete")
                    db.add(school)
                    await db.flush()
                    schools.append(school)
                    klass = SchoolClass(school_id=school.id, grade=8, name="1班")
                    db.add(klass)
                    await db.flush()
                    classes.append(klass)
            await db.commit()
            return Org(city, districts, schools, classes)

    async def user(self, role: str, org: Org, school: int = 0, **fields: Any) -> User:
        s = org.schools[school]
        scope: dict[str, Any] = {"city_id": org.city.id}
        if role in ("student", "tutor", "school_admin"):
            scope.update(district_id=s.district_id, school_id=s.id)
        elif role == "district_admin":
            scope.update(district_id=s.district_id)
        if role == "student":
            scope.update(class_id=org.classes[school].id, grade=8)
        scope.update(fields)
        async with self.session() as db:
            scope.setdefault("real_name", f"测试{role}")
            user = User(username=f"{role}{next(_seq)}", password_hash=_HASH, role=role, **scope)
            db.add(user)
            await db.commit()
            return user

    async def admin_of(self, someone: User) -> User:
        """A school admin of `someone`'s school."""
        async with self.session() as db:
            admin = User(username=f"school_admin{next(_seq)}", password_hash=_HASH, role="school_admin",
                         real_name="测试管理员", city_id=someone.city_id, district_id=someone.district_id,
                         school_id=someone.school_id)
            db.add(admin)
            await db.commit()
            return admin

    async def tutor(self, org: Org, school: int = 0, subjects: tuple[str, ...] = ("math",),
                    status: str = "approved", junior: bool = True, senior: bool = False,
                    expertise: tuple[int, ...] = ()) -> User:
        user = await self.user("tutor", org, school)
        async with self.session() as db:
            db.add(TutorProfile(user_id=user.id, title="intermediate", teaches_junior=junior, teaches_senior=senior,
                                status=status, approved_at=utcnow() if status == "approved" else None))
            await db.flush()
            db.add_all([TutorSubject(user_id=user.id, subject_code=c) for c in subjects])
            db.add_all([TutorExpertise(user_id=user.id, knowledge_point_id=k) for k in expertise])
            await db.commit()
        return user

    async def knowledge_point(self, subject: str, name: str | None = None) -> int:
        async with self.session() as db:
            query = select(KnowledgePoint.id).where(KnowledgePoint.subject_code == subject)
            if name:
                query = query.where(KnowledgePoint.name == name)
            return (await db.execute(query.order_by(KnowledgePoint.id).limit(1))).scalar_one()

    async def sign_in(self, user: User, password: str = PASSWORD) -> dict[str, str]:
        r = await self.client.post("/api/auth/sign-in", json={"username": user.username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}
