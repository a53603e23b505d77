"""Reading what matching needs from the database: tutor cards, request specs, the evening's
count (the service window is the calendar's: app/calendar/service.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import (
    HelpRequest,
    HelpRequestKnowledgePoint,
    Image,
    KnowledgePoint,
    School,
    SessionReport,
    SessionState,
    StudentBlock,
    TutorExpertise,
    TutoringSession,
    TutorProfile,
    TutorSubject,
    User,
)
from app.schools.names import band_of
from app.subjects.service import check_knowledge_points, check_subjects
from matching import Matcher, RequestSpec, TutorCard
from matching.scoring import smoothed_rating

from .schemas import TutorListItem


async def with_chapters(db: AsyncSession, kp_ids: list[int]) -> list[int]:
    """Knowledge points plus their chapters, so that a section matches its chapter's expert."""
    if not kp_ids:
        return []
    parents = (
        await db.execute(select(KnowledgePoint.parent_id).where(KnowledgePoint.id.in_(kp_ids), KnowledgePoint.parent_id.is_not(None)))
    ).scalars()
    return sorted(set(kp_ids) | {p for p in parents if p is not None})


async def tutor_card(db: AsyncSession, tutor: User) -> TutorCard:
    profile = await db.get(TutorProfile, tutor.id)
    assert profile is not None
    school = await db.get(School, tutor.school_id) if tutor.school_id else None
    subjects = sorted((await db.execute(select(TutorSubject.subject_code).where(TutorSubject.user_id == tutor.id))).scalars())
    expertise = list((await db.execute(select(TutorExpertise.knowledge_point_id).where(TutorExpertise.user_id == tutor.id))).scalars())
    n, total, given = (
        await db.execute(
            select(func.count(TutoringSession.rating), func.coalesce(func.sum(TutoringSession.rating), 0), func.count(TutoringSession.live_at)).where(
                TutoringSession.tutor_id == tutor.id
            )
        )
    ).one()
    bands = [b for b, on in (("junior", profile.teaches_junior), ("senior", profile.teaches_senior)) if on]
    return TutorCard(
        id=tutor.id,
        name=tutor.real_name,
        school=school.name if school else "",
        subjects=subjects,
        bands=bands,
        expertise=await with_chapters(db, expertise),
        rating_sum=float(total or 0),
        rating_count=int(n),
        sessions_given=int(given),
    )


async def student_preferences(db: AsyncSession, student: User) -> tuple[dict[int, float], list[int]]:
    """The student's own mean rating per tutor they met (favourites), and the tutors they
    blocked or reported (never offered to them again)."""
    prefs = {
        tid: float(avg)
        for tid, avg in (
            await db.execute(
                select(TutoringSession.tutor_id, func.avg(TutoringSession.rating))
                .where(TutoringSession.student_id == student.id, TutoringSession.rating.is_not(None))
                .group_by(TutoringSession.tutor_id)
            )
        ).all()
    }
    blocked = set((await db.execute(select(StudentBlock.tutor_id).where(StudentBlock.student_id == student.id))).scalars())
    reported = set(
        (
            await db.execute(
                select(TutoringSession.tutor_id)
                .join(SessionReport, SessionReport.session_id == TutoringSession.id)
                .where(SessionReport.reporter_id == student.id)
            )
        ).scalars()
    )
    return {t: r for t, r in prefs.items() if t not in blocked | reported}, sorted(blocked | reported)


async def request_spec(db: AsyncSession, student: User, req: HelpRequest) -> RequestSpec:
    kps = list(
        (await db.execute(select(HelpRequestKnowledgePoint.knowledge_point_id).where(HelpRequestKnowledgePoint.request_id == req.id))).scalars()
    )
    names = list((await db.execute(select(KnowledgePoint.name).where(KnowledgePoint.id.in_(kps)))).scalars()) if kps else []
    prefs, blocked = await student_preferences(db, student)
    images = list((await db.execute(select(Image.id).where(Image.help_request_id == req.id))).scalars())
    return RequestSpec(
        id=req.id,
        student_id=student.id,
        subject=req.subject_code,
        band=band_of(student.grade),
        knowledge_points=await with_chapters(db, kps),
        mode=req.mode,
        chosen_tutor=req.chosen_tutor_id,
        preferences=prefs,
        excluded=blocked,
        created_at=req.created_at.timestamp(),
        summary={"text": req.text[:300], "grade": student.grade, "knowledge_point_names": names, "images": [f"/api/images/{i}" for i in images]},
    )


async def served_tonight(db: AsyncSession, settings: Settings, tutor_id: int, now: float) -> int:
    """Sessions the tutor has finished since the local midnight: the fairness penalty is for the
    evening, so going off and back on duty must not reset it (the pool forgets an off-duty
    tutor; the database does not)."""
    local = datetime.fromtimestamp(now, ZoneInfo(settings.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(
        (
            await db.execute(
                select(func.count())
                .select_from(TutoringSession)
                .where(TutoringSession.tutor_id == tutor_id, TutoringSession.state == SessionState.ENDED, TutoringSession.matched_at >= midnight)
            )
        ).scalar_one()
    )


async def session_for_request(db: AsyncSession, request_id: int) -> TutoringSession | None:
    return (await db.execute(select(TutoringSession).where(TutoringSession.request_id == request_id))).scalar_one_or_none()


async def tutor_list(
    db: AsyncSession, matcher: Matcher, student: User, subject: str, knowledge_point_ids: list[int], limit: int
) -> list[TutorListItem]:
    """The 择师 list: tutors free now for this subject and the student's grade, best first, with
    the knowledge points they are experts in (sections only) as their specialities."""
    await check_subjects(db, [subject])
    kps = await check_knowledge_points(db, knowledge_point_ids, [subject])
    prefs, blocked = await student_preferences(db, student)
    spec = RequestSpec(
        id=0,
        student_id=student.id,
        subject=subject,
        band=band_of(student.grade),
        knowledge_points=await with_chapters(db, kps),
        preferences=prefs,
        excluded=blocked,
    )
    ranked = await matcher.recommend(spec, limit)
    kp_ids = {k for r in ranked for k in r.status.card.expertise}
    names = (
        dict((await db.execute(select(KnowledgePoint.id, KnowledgePoint.name).where(KnowledgePoint.id.in_(kp_ids), KnowledgePoint.depth == 2))).all())
        if kp_ids
        else {}
    )
    return [
        TutorListItem(
            id=r.status.card.id,
            name=r.status.card.name,
            school=r.status.card.school,
            subjects=r.status.card.subjects,
            rating=round(smoothed_rating(r.status.card, matcher.config.weights), 2),
            ratings=r.status.card.rating_count,
            sessions_given=r.status.card.sessions_given,
            specialities=[names[k] for k in r.status.card.expertise if k in names],
            favourite=r.favourite,
            score=round(r.score, 3),
        )
        for r in ranked
    ]
