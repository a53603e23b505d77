"""Tutor applications and their three-level review: school → district → city."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import school_in_scope, schools_in_scope
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound
from app.kit.safety import screen
from app.kit.security import hash_password
from app.models import ApplicationStatus, District, Role, School, TutorExpertise, TutorProfile, TutorReview, TutorSubject, User
from app.subjects.service import check_knowledge_points, check_subjects

from .schemas import ApplicationCreate, ApplicationOut, ApplicationUpdate, ProfileEdit, ProfileFields, ReviewOut

LEVEL_OF_ROLE = {"school_admin": "school", "district_admin": "district", "city_admin": "city"}
PENDING_AT = {"school": "pending_school", "district": "pending_district", "city": "pending_city"}
NEXT = {"pending_school": "pending_district", "pending_district": "pending_city", "pending_city": "approved"}
TITLE_RANK = {"junior": 0, "intermediate": 1, "senior": 2}


async def _write_profile(db: AsyncSession, user_id: int, body: ProfileFields, min_title: str, now: datetime) -> TutorProfile:
    if TITLE_RANK[body.title] < TITLE_RANK[min_title]:
        raise InvalidInput(f"tutors need at least the title {min_title} (中级及以上职称)", field="title")
    await check_subjects(db, body.subjects)
    await check_knowledge_points(db, body.expertise, body.subjects)
    profile = await db.get(TutorProfile, user_id)
    if profile is None:
        profile = TutorProfile(user_id=user_id)
        db.add(profile)
    profile.title = body.title
    profile.teaches_junior = "junior" in body.grade_bands
    profile.teaches_senior = "senior" in body.grade_bands
    profile.fields, profile.bio = screen(body.fields).text, screen(body.bio).text  # students read them
    profile.status = "pending_school"
    profile.rejected_level = profile.rejected_reason = None
    profile.submitted_at = now
    await db.flush()
    await db.execute(delete(TutorSubject).where(TutorSubject.user_id == user_id))
    await db.execute(delete(TutorExpertise).where(TutorExpertise.user_id == user_id))
    db.add_all([TutorSubject(user_id=user_id, subject_code=c) for c in body.subjects])
    db.add_all([TutorExpertise(user_id=user_id, knowledge_point_id=k) for k in body.expertise])
    await db.flush()
    return profile


async def _free_username(db: AsyncSession) -> str:
    """A random "t" + 7 digits nobody has (random, not sequential: it tells nothing about how many
    tutors there are). A collision is 1 in 10^7 per existing account; try again then."""
    while True:
        name = f"t{secrets.randbelow(10**7):07d}"
        if not (await db.execute(select(User.id).where(User.username == name))).first():
            return name


async def apply(db: AsyncSession, body: ApplicationCreate, min_title: str, now: datetime) -> ApplicationOut:
    school = (await db.execute(select(School).where(School.code == body.school_code))).scalar_one_or_none()
    if school is None:
        raise InvalidInput(f"no school with code {body.school_code!r}", field="school_code")
    district = await db.get(District, school.district_id)
    user = User(
        username=await _free_username(db),
        password_hash=await asyncio.to_thread(hash_password, body.password),
        role=Role.TUTOR,
        real_name=screen(body.real_name).text,
        school_id=school.id,
        district_id=school.district_id,
        city_id=district.city_id if district else None,
    )
    db.add(user)
    await db.flush()
    await _write_profile(db, user.id, body, min_title, now)
    db.add(TutorReview(tutor_id=user.id, action="submitted", actor_id=user.id))
    await db.flush()
    return await read(db, user.id)


async def amend(db: AsyncSession, tutor: User, body: ApplicationUpdate, min_title: str, now: datetime) -> ApplicationOut:
    """A rejected application is amended and resubmitted; it starts again at the school level."""
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None:
        raise NotFound("you have no application")
    if profile.status not in ("rejected", "pending_school"):
        raise InvalidState(
            f"the application is {profile.status}; it can be amended only while rejected or still waiting for the school", status=profile.status
        )
    action = "resubmitted" if profile.status == ApplicationStatus.REJECTED else "amended"
    if body.real_name:
        tutor.real_name = screen(body.real_name).text  # a display name students see
    await _write_profile(db, tutor.id, body, min_title, now)
    db.add(TutorReview(tutor_id=tutor.id, action=action, actor_id=tutor.id))
    await db.flush()
    return await read(db, tutor.id)


async def _load_for_review(db: AsyncSession, admin: User, tutor_id: int) -> tuple[User, TutorProfile, str]:
    tutor = await db.get(User, tutor_id)
    profile = await db.get(TutorProfile, tutor_id)
    if tutor is None or profile is None:
        raise NotFound(f"no tutor application {tutor_id}")
    school = await db.get(School, tutor.school_id) if tutor.school_id else None
    if school is None or not await school_in_scope(db, admin, school):
        raise Forbidden("this application is outside your scope")
    level = LEVEL_OF_ROLE[admin.role]
    if profile.status != PENDING_AT[level]:
        raise InvalidState(f"the application is {profile.status}, not waiting for the {level} level", status=profile.status)
    return tutor, profile, level


async def approve(db: AsyncSession, admin: User, tutor_id: int, reason: str | None, now: datetime) -> ApplicationOut:
    _, profile, level = await _load_for_review(db, admin, tutor_id)
    profile.status = NEXT[profile.status]
    if profile.status == ApplicationStatus.APPROVED:
        profile.approved_at = now
    db.add(TutorReview(tutor_id=tutor_id, action="approved", level=level, reason=reason, actor_id=admin.id))
    await db.flush()
    return await read(db, tutor_id)


async def reject(db: AsyncSession, admin: User, tutor_id: int, reason: str) -> ApplicationOut:
    _, profile, level = await _load_for_review(db, admin, tutor_id)
    profile.status, profile.rejected_level, profile.rejected_reason = "rejected", level, reason
    db.add(TutorReview(tutor_id=tutor_id, action="rejected", level=level, reason=reason, actor_id=admin.id))
    await db.flush()
    return await read(db, tutor_id)


async def queue(db: AsyncSession, admin: User) -> list[ApplicationOut]:
    """Applications waiting for the caller's level, within their scope, oldest first."""
    status = PENDING_AT[LEVEL_OF_ROLE[admin.role]]
    schools = schools_in_scope(admin).with_only_columns(School.id)
    ids = (
        (
            await db.execute(
                select(TutorProfile.user_id)
                .join(User, User.id == TutorProfile.user_id)
                .where(TutorProfile.status == status, User.school_id.in_(schools))
                .order_by(TutorProfile.submitted_at)
                .limit(500)
            )
        )
        .scalars()
        .all()
    )
    return [await read(db, i, history=False) for i in ids]


async def read_scoped(db: AsyncSession, viewer: User, tutor_id: int) -> ApplicationOut:
    if viewer.id != tutor_id:
        tutor = await db.get(User, tutor_id)
        school = await db.get(School, tutor.school_id) if tutor and tutor.school_id else None
        if tutor is None or tutor.role != Role.TUTOR:
            raise NotFound(f"no tutor {tutor_id}")
        if viewer.role not in LEVEL_OF_ROLE or school is None or not await school_in_scope(db, viewer, school):
            raise Forbidden("this application is outside your scope")
    return await read(db, tutor_id)


async def read(db: AsyncSession, tutor_id: int, history: bool = True) -> ApplicationOut:
    user = await db.get(User, tutor_id)
    profile = await db.get(TutorProfile, tutor_id)
    if user is None or profile is None:
        raise NotFound(f"no tutor application {tutor_id}")
    subjects = (await db.execute(select(TutorSubject.subject_code).where(TutorSubject.user_id == tutor_id))).scalars()
    expertise = (await db.execute(select(TutorExpertise.knowledge_point_id).where(TutorExpertise.user_id == tutor_id))).scalars()
    reviews = []
    if history:
        rows = (await db.execute(select(TutorReview).where(TutorReview.tutor_id == tutor_id).order_by(TutorReview.at, TutorReview.id))).scalars()
        reviews = [ReviewOut(action=r.action, level=r.level, reason=r.reason, actor_id=r.actor_id, at=r.at) for r in rows]
    bands = [b for b, on in (("junior", profile.teaches_junior), ("senior", profile.teaches_senior)) if on]
    return ApplicationOut(
        tutor_id=tutor_id,
        username=user.username,
        real_name=user.real_name,
        school_id=user.school_id,
        status=profile.status,
        title=profile.title,
        subjects=sorted(subjects),
        grade_bands=bands,
        expertise=sorted(expertise),
        fields=profile.fields,
        bio=profile.bio,
        rejected_level=profile.rejected_level,
        rejected_reason=profile.rejected_reason,
        submitted_at=profile.submitted_at,
        approved_at=profile.approved_at,
        history=reviews,
    )


async def edit_profile(db: AsyncSession, tutor: User, body: ProfileEdit) -> ApplicationOut:
    """Students read a tutor's fields and bio in the 择师 list: contact details are masked there too."""
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None:
        raise NotFound("you have no tutor profile")
    subjects = list((await db.execute(select(TutorSubject.subject_code).where(TutorSubject.user_id == tutor.id))).scalars())
    await check_knowledge_points(db, body.expertise, subjects)
    profile.fields, profile.bio = screen(body.fields).text, screen(body.bio).text
    await db.execute(delete(TutorExpertise).where(TutorExpertise.user_id == tutor.id))
    db.add_all([TutorExpertise(user_id=tutor.id, knowledge_point_id=k) for k in dict.fromkeys(body.expertise)])
    await db.flush()
    return await read(db, tutor.id)
