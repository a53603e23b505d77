"""The rules of micro-lessons: who may publish, review and see a lesson; the catalogue; and the
honest counting of clicks and complete views. SQL for the domain lives here and in stats.py.

Counting (the rule students cannot game from their browser): the player reports its position
every few seconds; the server keeps, per student and lesson, an anchor (last accepted position
and the server time it arrived). A report credits the seconds between anchor and position only
when the position moved forward by no more than the server's elapsed time × the fastest
playback speed (× 1.25 for network jitter). Seeking, replaying old reports (no time passes
between them), or playing at 16× move the anchor without credit. The anchor is per student and
lesson, not per tab, so several players at once gain nothing. A complete view is counted once,
when the credited seconds reach the configured share of the lesson.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import school_in_scope, user_in_scope
from app.config import Settings
from app.kit import search as bigrams
from app.kit.clock import ts
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound, error_type
from app.models import (
    ApplicationStatus,
    District,
    KnowledgePoint,
    Lesson,
    LessonKnowledgePoint,
    LessonPlay,
    LessonSearchDoc,
    LessonView,
    MediaStatus,
    PointsEntry,
    ReviewStatus,
    Role,
    School,
    TutorProfile,
    User,
)
from app.subjects.service import check_knowledge_points, check_subjects

from .schemas import LessonCreate, LessonUpdate

VideoRejected = error_type("VideoRejected", 422)
VideoTooLarge = error_type("VideoTooLarge", 413)
VideoTooLong = error_type("VideoTooLong", 422)

JITTER = 1.25  # reports may arrive unevenly; this much faster than the top speed still counts
SEARCH = bigrams.Index(docs="lesson_search_docs", key="lesson_id", fts="lesson_search_fts", cte="lesson_match")


def visible() -> Any:
    return and_(Lesson.review_status == ReviewStatus.APPROVED, Lesson.media_status == MediaStatus.READY)


# --- publishing --------------------------------------------------------------------------------


async def create(db: AsyncSession, tutor: User, data: LessonCreate, now: float) -> Lesson:
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None or profile.status != ApplicationStatus.APPROVED or tutor.school_id is None or tutor.district_id is None:
        raise Forbidden("only approved tutors publish lessons")
    await check_subjects(db, [data.subject])
    kps = await check_knowledge_points(db, data.knowledge_point_ids, [data.subject])
    lesson = Lesson(
        tutor_id=tutor.id,
        school_id=tutor.school_id,
        district_id=tutor.district_id,
        subject_code=data.subject,
        band=data.band,
        title=data.title.strip(),
        description=data.description.strip(),
        created_at=ts(now),
        updated_at=ts(now),
    )
    db.add(lesson)
    await db.flush()
    db.add_all([LessonKnowledgePoint(lesson_id=lesson.id, knowledge_point_id=k) for k in kps])
    db.add(LessonSearchDoc(lesson_id=lesson.id, terms=bigrams.document(lesson.title)))
    await db.flush()
    return lesson


async def own(db: AsyncSession, tutor: User, lesson_id: int, *, lock: bool = False) -> Lesson:
    query = select(Lesson).where(Lesson.id == lesson_id)
    if lock:
        query = query.with_for_update()
    lesson = (await db.execute(query)).scalar_one_or_none()
    if lesson is None or lesson.tutor_id != tutor.id:
        raise NotFound(f"no lesson {lesson_id} of yours")
    return lesson


async def get_owned(db: AsyncSession, tutor_id: int, lesson_id: int) -> Lesson:
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None or lesson.tutor_id != tutor_id:
        raise NotFound(f"no lesson {lesson_id} of yours")
    return lesson


async def amend(db: AsyncSession, tutor: User, lesson_id: int, data: LessonUpdate, now: float) -> Lesson:
    """Change what the lesson says it is. Students see only what an admin approved, so any change
    sends the lesson back to review (a rejected lesson is resubmitted this way)."""
    lesson = await own(db, tutor, lesson_id, lock=True)
    subject = data.subject or lesson.subject_code
    if data.subject is not None:
        await check_subjects(db, [subject])
    if data.knowledge_point_ids is not None or data.subject is not None:
        ids = data.knowledge_point_ids
        if ids is None:
            ids = list(
                (await db.execute(select(LessonKnowledgePoint.knowledge_point_id).where(LessonKnowledgePoint.lesson_id == lesson.id))).scalars()
            )
        kps = await check_knowledge_points(db, ids, [subject])
        await db.execute(delete(LessonKnowledgePoint).where(LessonKnowledgePoint.lesson_id == lesson.id))
        db.add_all([LessonKnowledgePoint(lesson_id=lesson.id, knowledge_point_id=k) for k in kps])
    lesson.subject_code = subject
    if data.title is not None:
        lesson.title = data.title.strip()
        await db.merge(LessonSearchDoc(lesson_id=lesson.id, terms=bigrams.document(lesson.title)))
    if data.description is not None:
        lesson.description = data.description.strip()
    if data.band is not None:
        lesson.band = data.band
    lesson.review_status, lesson.reject_reason, lesson.updated_at = ReviewStatus.PENDING, None, ts(now)
    await db.flush()
    return lesson


async def check_upload(db: AsyncSession, tutor: User, lesson_id: int) -> None:
    lesson = await own(db, tutor, lesson_id)
    if lesson.media_status == MediaStatus.PROCESSING:
        raise InvalidState("this lesson's video is still being processed", status=lesson.media_status)


async def accept_upload(db: AsyncSession, tutor_id: int, lesson_id: int, key: str, size: int, now: float) -> list[str | None]:
    """The checked upload becomes the lesson's pending video (processing follows, off the request
    path). Returns the keys of files it replaces, to delete once this is committed."""
    lesson = (await db.execute(select(Lesson).where(Lesson.id == lesson_id).with_for_update())).scalar_one_or_none()
    if lesson is None or lesson.tutor_id != tutor_id:
        raise NotFound(f"no lesson {lesson_id} of yours")
    if lesson.media_status == MediaStatus.PROCESSING:
        raise InvalidState("this lesson's video is still being processed", status=lesson.media_status)
    old = [lesson.upload_key, lesson.video_key, lesson.poster_key]
    lesson.upload_key, lesson.video_key, lesson.poster_key, lesson.video_bytes = key, None, None, size
    lesson.media_status, lesson.failure_reason, lesson.lease_until = MediaStatus.PROCESSING, None, None
    lesson.duration_s = lesson.width = lesson.height = None
    lesson.review_status, lesson.reject_reason, lesson.updated_at = ReviewStatus.PENDING, None, ts(now)
    await db.flush()
    return [k for k in old if k and k != key]


# --- review ------------------------------------------------------------------------------------


def _reviewable_by(admin: User) -> Any:
    if admin.role == Role.SCHOOL_ADMIN:
        return Lesson.school_id == admin.school_id
    if admin.role == Role.DISTRICT_ADMIN:
        return Lesson.district_id == admin.district_id
    return Lesson.id.is_(None)  # the tutor's school or district reviews; a city admin watches the figures


async def review_queue(db: AsyncSession, admin: User) -> list[Lesson]:
    return list(
        (
            await db.execute(
                select(Lesson)
                .where(_reviewable_by(admin), Lesson.review_status == ReviewStatus.PENDING, Lesson.media_status == MediaStatus.READY)
                .order_by(Lesson.updated_at, Lesson.id)
            )
        ).scalars()
    )


async def _for_review(db: AsyncSession, admin: User, lesson_id: int) -> Lesson:
    lesson = (await db.execute(select(Lesson).where(Lesson.id == lesson_id).with_for_update())).scalar_one_or_none()
    if lesson is None:
        raise NotFound(f"no lesson {lesson_id}")
    if not (await db.execute(select(exists().where(Lesson.id == lesson_id, _reviewable_by(admin))))).scalar():
        raise Forbidden("only an admin of the tutor's school or district reviews this lesson")
    if lesson.review_status != ReviewStatus.PENDING:
        raise InvalidState(f"this lesson is {lesson.review_status}, not waiting for review", status=lesson.review_status)
    if lesson.media_status != MediaStatus.READY:
        raise InvalidState("the video is not ready to be reviewed", status=lesson.media_status)
    return lesson


async def approve(db: AsyncSession, admin: User, lesson_id: int, now: float, settings: Settings) -> Lesson:
    lesson = await _for_review(db, admin, lesson_id)
    lesson.review_status, lesson.reviewed_by, lesson.reviewed_at = ReviewStatus.APPROVED, admin.id, ts(now)
    if lesson.published_at is None:
        lesson.published_at = ts(now)
        if settings.lesson_points_publish > 0:
            db.add(
                PointsEntry(
                    tutor_id=lesson.tutor_id,
                    district_id=lesson.district_id,
                    source_kind="lesson",
                    source_id=lesson.id,
                    points=Decimal(str(settings.lesson_points_publish)),
                    note="micro-lesson published",
                    created_at=ts(now),
                )
            )
    await db.flush()
    return lesson


async def reject(db: AsyncSession, admin: User, lesson_id: int, reason: str, now: float) -> Lesson:
    lesson = await _for_review(db, admin, lesson_id)
    lesson.review_status, lesson.reject_reason = ReviewStatus.REJECTED, reason.strip()
    lesson.reviewed_by, lesson.reviewed_at = admin.id, ts(now)
    await db.flush()
    return lesson


# --- seeing ------------------------------------------------------------------------------------


async def may_see(db: AsyncSession, user: User, lesson: Lesson) -> bool:
    """The tutor always; admins over the tutor's school; everybody of the city once approved."""
    if user.id == lesson.tutor_id:
        return True
    if user.is_admin:
        school = await db.get(School, lesson.school_id)
        if school is not None and await school_in_scope(db, user, school):
            return True
    if lesson.review_status != ReviewStatus.APPROVED or lesson.media_status != MediaStatus.READY:
        return False
    district = await db.get(District, lesson.district_id)
    return district is not None and district.city_id == user.city_id


async def get_visible(db: AsyncSession, user: User, lesson_id: int) -> Lesson:
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None or not await may_see(db, user, lesson):
        raise NotFound(f"no lesson {lesson_id}")
    return lesson


async def describe(db: AsyncSession, lessons: list[Lesson]) -> list[dict[str, Any]]:
    """Lessons as the API shows them: with knowledge points, tutor and school names (three queries)."""
    ids = [x.id for x in lessons]
    kps: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for lid, kid, name in (
        await db.execute(
            select(LessonKnowledgePoint.lesson_id, KnowledgePoint.id, KnowledgePoint.name)
            .join(KnowledgePoint, KnowledgePoint.id == LessonKnowledgePoint.knowledge_point_id)
            .where(LessonKnowledgePoint.lesson_id.in_(ids))
            .order_by(KnowledgePoint.id)
        )
    ).all():
        kps[lid].append({"id": kid, "name": name})
    tutors = dict((await db.execute(select(User.id, User.real_name).where(User.id.in_({x.tutor_id for x in lessons})))).all())
    schools = dict((await db.execute(select(School.id, School.name).where(School.id.in_({x.school_id for x in lessons})))).all())
    return [
        {
            "id": x.id,
            "title": x.title,
            "description": x.description,
            "subject": x.subject_code,
            "band": x.band,
            "knowledge_points": kps[x.id],
            "tutor_id": x.tutor_id,
            "tutor_name": tutors.get(x.tutor_id, ""),
            "school": schools.get(x.school_id, ""),
            "media_status": x.media_status,
            "failure_reason": x.failure_reason,
            "review_status": x.review_status,
            "reject_reason": x.reject_reason,
            "duration_s": x.duration_s,
            "width": x.width,
            "height": x.height,
            "clicks": x.clicks,
            "complete_views": x.complete_views,
            "published_at": x.published_at,
            "created_at": x.created_at,
            "_poster_key": x.poster_key,
        }
        for x in lessons
    ]


async def tutor_in_scope(db: AsyncSession, admin: User, tutor_id: int) -> User:
    """The tutor an admin's report is about; NotFound unless the admin's scope holds them."""
    found = await db.get(User, tutor_id)
    if found is None or found.role != Role.TUTOR or not admin.is_admin or not await user_in_scope(db, admin, found):
        raise NotFound(f"no tutor {tutor_id} in your scope")
    return found


async def mine(db: AsyncSession, tutor: User) -> list[Lesson]:
    return list((await db.execute(select(Lesson).where(Lesson.tutor_id == tutor.id).order_by(Lesson.created_at.desc(), Lesson.id.desc()))).scalars())


def _search(query: Select, dialect: str, q: str) -> tuple[Select, Any]:
    """Title search, the Q&A centre's (app/kit/search.py): every word of `q` must be in the title,
    Chinese matched by its character bigrams (电功率 finds 电功率的计算 and 求电功率); with the
    Q&A centre's rank to order by (the title is the lesson's own text)."""
    words = bigrams.query_terms(q)
    if not words:
        raise InvalidInput("search for at least one word", field="q")
    found = bigrams.matching(SEARCH, dialect, words)
    return query.where(Lesson.id.in_(select(found.c.lesson_id))), bigrams.rank(Lesson.title, words)


async def catalogue(
    db: AsyncSession,
    user: User,
    *,
    subject: str | None,
    band: str | None,
    knowledge_point_id: int | None,
    q: str | None,
    tutor_id: int | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[int, list[Lesson]]:
    """Approved, ready lessons of the viewer's city. A knowledge point also finds lessons on the
    points under it (a chapter finds its lessons)."""
    query = select(Lesson).join(District, District.id == Lesson.district_id).where(visible(), District.city_id == user.city_id)
    if subject:
        query = query.where(Lesson.subject_code == subject)
    if band:
        query = query.where(Lesson.band == band)
    if tutor_id is not None:
        query = query.where(Lesson.tutor_id == tutor_id)
    if knowledge_point_id is not None:
        under = select(KnowledgePoint.id).where(or_(KnowledgePoint.id == knowledge_point_id, KnowledgePoint.parent_id == knowledge_point_id))
        query = query.where(exists().where(LessonKnowledgePoint.lesson_id == Lesson.id, LessonKnowledgePoint.knowledge_point_id.in_(under)))
    rank = None
    if q and q.strip():
        query, rank = _search(query, db.get_bind().dialect.name, q)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    # Every order ends with the id: a total order, so that pages (offset) neither repeat nor skip.
    order: tuple[Any, ...] = (
        (Lesson.complete_views.desc(), Lesson.clicks.desc(), Lesson.id.desc())
        if sort == "most_watched"
        else (Lesson.published_at.desc(), Lesson.id.desc())
    )
    if rank is not None and sort == "newest":  # a search's default order: most relevant, then newest
        order = (rank.desc(), *order)
    rows = list((await db.execute(query.order_by(*order).limit(limit).offset(offset))).scalars())
    return total, rows


async def lessons_on(db: AsyncSession, user: User, knowledge_point_ids: list[int]) -> dict[int, int]:
    """How many visible lessons each knowledge point has (the hot-spot figures link to them)."""
    if not knowledge_point_ids:
        return {}
    rows = (
        await db.execute(
            select(LessonKnowledgePoint.knowledge_point_id, func.count())
            .join(Lesson, Lesson.id == LessonKnowledgePoint.lesson_id)
            .join(District, District.id == Lesson.district_id)
            .where(visible(), District.city_id == user.city_id, LessonKnowledgePoint.knowledge_point_id.in_(knowledge_point_ids))
            .group_by(LessonKnowledgePoint.knowledge_point_id)
        )
    ).all()
    return {k: n for k, n in rows}


# --- watching and counting ---------------------------------------------------------------------


def _bits(duration: float | None) -> int:
    return max(1, round(duration or 0))


async def _view(db: AsyncSession, student: User, lesson: Lesson, now: float) -> LessonView:
    view = (
        await db.execute(select(LessonView).where(LessonView.lesson_id == lesson.id, LessonView.student_id == student.id).with_for_update())
    ).scalar_one_or_none()
    if view is None:
        view = LessonView(
            lesson_id=lesson.id,
            student_id=student.id,
            school_id=student.school_id,
            position_s=0.0,
            covered=bytes(math.ceil(_bits(lesson.duration_s) / 8)),
            covered_s=0,
            started_at=ts(now),
        )
        db.add(view)
        await db.flush()
    return view


async def start_play(
    db: AsyncSession, user: User, lesson_id: int, from_s: float | None, now: float, settings: Settings
) -> tuple[Lesson, float, bool]:
    """A play starts: a click for a student (unless they started this lesson within the click gap)
    and the resume position. Others (the tutor, admins reviewing) watch without being counted."""
    lesson = await get_visible(db, user, lesson_id)
    if lesson.media_status != MediaStatus.READY:
        raise InvalidState("the video is not ready", status=lesson.media_status)
    duration = lesson.duration_s or 0.0
    if user.role != Role.STUDENT:
        return lesson, 0.0, False
    view = await _view(db, user, lesson, now)
    resume = view.position_s if view.position_s < duration - 1 else 0.0
    start = min(max(from_s if from_s is not None else resume, 0.0), duration)
    view.anchor_s, view.anchor_at, view.position_s = start, ts(now), start
    recent = (
        await db.execute(
            select(
                exists().where(
                    LessonPlay.lesson_id == lesson.id, LessonPlay.student_id == user.id, LessonPlay.at > ts(now - settings.lesson_click_gap_s)
                )
            )
        )
    ).scalar()
    if not recent:
        db.add(LessonPlay(lesson_id=lesson.id, student_id=user.id, school_id=user.school_id, at=ts(now)))
        await db.execute(update(Lesson).where(Lesson.id == lesson.id).values(clicks=Lesson.clicks + 1))
    await db.flush()
    return lesson, resume, not recent


async def report(db: AsyncSession, student: User, lesson_id: int, position: float, now: float, settings: Settings) -> dict[str, Any]:
    """One progress report (every 2 s per watching student): the lesson by primary key (its
    district from the identity map), the view row locked, one UPDATE and the commit — four round
    trips, no scan; the bitmap is at most a few hundred bytes."""
    lesson = await get_visible(db, student, lesson_id)
    if student.role != Role.STUDENT:
        raise Forbidden("only students' watching is counted")
    duration = lesson.duration_s or 0.0
    nbits = _bits(duration)
    needed = math.ceil(settings.lesson_complete_ratio * nbits)
    view = await _view(db, student, lesson, now)
    position = min(position, duration)
    credited = False
    if view.anchor_s is not None and view.anchor_at is not None:
        dt = now - view.anchor_at.timestamp()
        dp = position - view.anchor_s
        if 0 < dp <= dt * settings.lesson_max_rate * JITTER:
            # A replaced video may be longer than the one this view started on: widen the bitmap.
            covered = bytearray(view.covered or b"").ljust(math.ceil(nbits / 8), b"\0")
            for i in range(round(view.anchor_s), min(round(position), nbits)):
                if not covered[i // 8] & (1 << (i % 8)):
                    covered[i // 8] |= 1 << (i % 8)
                    view.covered_s += 1
            view.covered = bytes(covered)
            credited = True
    # Every report moves the anchor: a jump (seek, replay, fast-forward) starts a new stretch from here.
    view.anchor_s, view.anchor_at, view.position_s = position, ts(now), position
    completed_now = False
    if view.completed_at is None and view.covered_s >= needed:
        view.completed_at = ts(now)
        completed_now = True
        await db.execute(update(Lesson).where(Lesson.id == lesson.id).values(complete_views=Lesson.complete_views + 1))
    await db.flush()
    if completed_now:
        await _book_view(db, lesson, view, now, settings)
    return {"position_s": position, "covered_s": view.covered_s, "needed_s": needed, "credited": credited, "completed": view.completed_at is not None}


async def _book_view(db: AsyncSession, lesson: Lesson, view: LessonView, now: float, settings: Settings) -> None:
    """Points for a complete view under the policy: a fixed amount for each of the first N."""
    if settings.lesson_points_per_view <= 0:
        return
    views = (await db.execute(select(Lesson.complete_views).where(Lesson.id == lesson.id))).scalar_one()
    if views > settings.lesson_points_views_cap:
        return
    db.add(
        PointsEntry(
            tutor_id=lesson.tutor_id,
            district_id=lesson.district_id,
            source_kind="lesson_view",
            source_id=view.id,
            points=Decimal(str(settings.lesson_points_per_view)),
            note=f"complete view of lesson {lesson.id}",
            created_at=ts(now),
        )
    )
    await db.flush()


def lease_expired(now: float) -> Any:
    return or_(Lesson.lease_until.is_(None), Lesson.lease_until < ts(now))


def stale_cutoff(now: float, seconds: float) -> datetime:
    return ts(now) - timedelta(seconds=seconds)
