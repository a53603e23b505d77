"""Micro-lesson figures: clicks and complete views per lesson, tutor, subject, knowledge point
and school; the lesson leaderboard; tutors' lesson workload and archive.

A click counts in the period its play started; a complete view in the period it completed. By
school means the viewers' school (where the students who watched are). An admin's figures count
the viewers in their scope; the leaderboard ranks every lesson of the city by all its viewers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import schools_in_scope
from app.models import District, KnowledgePoint, Lesson, LessonKnowledgePoint, LessonPlay, LessonView, PointsEntry, School, Subject, User
from app.stats.participation import bounds, shared_ranks

BY = ("lesson", "tutor", "subject", "knowledge_point", "school")
COLUMNS = [("rank", "排名"), ("name", "名称"), ("clicks", "点击次数"), ("complete_views", "完整观看次数")]
WORKLOAD = [
    ("name", "教师"),
    ("school", "学校"),
    ("lessons_published", "发布微课数"),
    ("lessons_total", "微课总数"),
    ("clicks", "点击次数"),
    ("complete_views", "完整观看次数"),
    ("points", "微课积分"),
]
ARCHIVE = [
    ("title", "微课"),
    ("subject", "学科"),
    ("review_status", "审核状态"),
    ("published_at", "发布时间"),
    ("duration_s", "时长(秒)"),
    ("clicks", "点击次数"),
    ("complete_views", "完整观看次数"),
    ("points", "积分"),
]


def _keyed(query: Select, by: str, record: Any) -> Select:
    """Add the grouping key (id, name) for `by` to a query over plays or views joined to Lesson."""
    if by == "lesson":
        return query.add_columns(Lesson.id, Lesson.title).group_by(Lesson.id, Lesson.title)
    if by == "tutor":
        return query.join(User, User.id == Lesson.tutor_id).add_columns(User.id, User.real_name).group_by(User.id, User.real_name)
    if by == "subject":
        return (
            query.join(Subject, Subject.code == Lesson.subject_code)
            .add_columns(Subject.code, Subject.name_zh)
            .group_by(Subject.code, Subject.name_zh)
        )
    if by == "knowledge_point":
        return (
            query.join(LessonKnowledgePoint, LessonKnowledgePoint.lesson_id == Lesson.id)
            .join(KnowledgePoint, KnowledgePoint.id == LessonKnowledgePoint.knowledge_point_id)
            .add_columns(KnowledgePoint.id, KnowledgePoint.name)
            .group_by(KnowledgePoint.id, KnowledgePoint.name)
        )
    return query.join(School, School.id == record.school_id).add_columns(School.id, School.name).group_by(School.id, School.name)


async def figures(
    db: AsyncSession, by: str, start: date, end: date, tz: str, *, city_id: int, viewer_schools: Select | None = None, tutor_id: int | None = None
) -> list[dict[str, Any]]:
    """Clicks and complete views in [start, end) grouped `by`, best first (ties share a rank)."""
    f, t = bounds(start, end, tz)
    got: dict[Any, dict[str, Any]] = {}
    for measure, record, at in (("clicks", LessonPlay, LessonPlay.at), ("complete_views", LessonView, LessonView.completed_at)):
        query = (
            select(func.count())
            .select_from(record)
            .join(Lesson, Lesson.id == record.lesson_id)
            .join(District, District.id == Lesson.district_id)
            .where(at >= f, at < t, District.city_id == city_id)
        )
        if viewer_schools is not None:
            query = query.where(record.school_id.in_(viewer_schools))
        if tutor_id is not None:
            query = query.where(Lesson.tutor_id == tutor_id)
        for n, key, name in (await db.execute(_keyed(query, by, record))).all():
            row = got.setdefault(key, {"id": key, "name": name, "clicks": 0, "complete_views": 0})
            row[measure] = n
    rows = sorted(got.values(), key=lambda r: (-r["complete_views"], -r["clicks"], str(r["id"])))
    for r, rank in zip(rows, shared_ranks([(r["complete_views"], r["clicks"]) for r in rows])):
        r["rank"] = rank
    return rows


def viewer_scope(admin: User) -> Select:
    return schools_in_scope(admin).with_only_columns(School.id)


async def _points(db: AsyncSession, f: datetime, t: datetime, tutor_ids: list[int]) -> dict[tuple[int, int], Decimal]:
    """Lesson points booked in [f, t) per (tutor, lesson): publishing entries name the lesson,
    complete-view entries the view (and so its lesson)."""
    out: dict[tuple[int, int], Decimal] = {}
    published = (
        await db.execute(
            select(PointsEntry.tutor_id, PointsEntry.source_id, func.sum(PointsEntry.points))
            .where(PointsEntry.source_kind == "lesson", PointsEntry.tutor_id.in_(tutor_ids), PointsEntry.created_at >= f, PointsEntry.created_at < t)
            .group_by(PointsEntry.tutor_id, PointsEntry.source_id)
        )
    ).all()
    viewed = (
        await db.execute(
            select(PointsEntry.tutor_id, LessonView.lesson_id, func.sum(PointsEntry.points))
            .join(LessonView, LessonView.id == PointsEntry.source_id)
            .where(
                PointsEntry.source_kind == "lesson_view", PointsEntry.tutor_id.in_(tutor_ids), PointsEntry.created_at >= f, PointsEntry.created_at < t
            )
            .group_by(PointsEntry.tutor_id, LessonView.lesson_id)
        )
    ).all()
    for tutor, lesson, points in [*published, *viewed]:
        out[(tutor, lesson)] = out.get((tutor, lesson), Decimal(0)) + Decimal(points)
    return out


async def _counts(db: AsyncSession, f: datetime, t: datetime, lesson_ids: list[int]) -> dict[int, tuple[int, int]]:
    clicks = dict(
        (
            await db.execute(
                select(LessonPlay.lesson_id, func.count())
                .where(LessonPlay.lesson_id.in_(lesson_ids), LessonPlay.at >= f, LessonPlay.at < t)
                .group_by(LessonPlay.lesson_id)
            )
        ).all()
    )
    views = dict(
        (
            await db.execute(
                select(LessonView.lesson_id, func.count())
                .where(LessonView.lesson_id.in_(lesson_ids), LessonView.completed_at >= f, LessonView.completed_at < t)
                .group_by(LessonView.lesson_id)
            )
        ).all()
    )
    return {i: (clicks.get(i, 0), views.get(i, 0)) for i in lesson_ids}


async def archive(db: AsyncSession, tutor_id: int, start: date, end: date, tz: str) -> list[dict[str, Any]]:
    """The micro-lesson part of a tutor's archive: every lesson with the period's clicks, complete
    views and the points booked for it."""
    f, t = bounds(start, end, tz)
    lessons = list((await db.execute(select(Lesson).where(Lesson.tutor_id == tutor_id).order_by(Lesson.created_at, Lesson.id))).scalars())
    counts = await _counts(db, f, t, [x.id for x in lessons])
    points = await _points(db, f, t, [tutor_id])
    subjects = dict((await db.execute(select(Subject.code, Subject.name_zh))).all())
    return [
        {
            "lesson_id": x.id,
            "title": x.title,
            "subject": subjects.get(x.subject_code, x.subject_code),
            "review_status": x.review_status,
            "media_status": x.media_status,
            "published_at": x.published_at,
            "duration_s": round(x.duration_s or 0),
            "clicks": counts[x.id][0],
            "complete_views": counts[x.id][1],
            "points": points.get((tutor_id, x.id), Decimal(0)).quantize(Decimal("0.01")),
        }
        for x in lessons
    ]


async def workload(
    db: AsyncSession, start: date, end: date, tz: str, *, tutor_schools: Select | None = None, tutor_id: int | None = None
) -> list[dict[str, Any]]:
    """Per tutor (of the schools in scope, or one): lessons published in the period, lessons in
    all, and the period's clicks, complete views and lesson points."""
    f, t = bounds(start, end, tz)
    query = select(Lesson.id, Lesson.tutor_id, Lesson.published_at)
    if tutor_schools is not None:
        query = query.where(Lesson.school_id.in_(tutor_schools))
    if tutor_id is not None:
        query = query.where(Lesson.tutor_id == tutor_id)
    lessons = (await db.execute(query)).all()
    tutors = sorted({tid for _, tid, _ in lessons})
    counts = await _counts(db, f, t, [i for i, _, _ in lessons])
    points = await _points(db, f, t, tutors)
    people = {
        uid: (name, school)
        for uid, name, school in (
            await db.execute(select(User.id, User.real_name, School.name).outerjoin(School, School.id == User.school_id).where(User.id.in_(tutors)))
        ).all()
    }
    rows: dict[int, dict[str, Any]] = {
        tid: {
            "tutor_id": tid,
            "name": people[tid][0],
            "school": people[tid][1],
            "lessons_published": 0,
            "lessons_total": 0,
            "clicks": 0,
            "complete_views": 0,
            "points": Decimal(0),
        }
        for tid in tutors
    }
    for lid, tid, published in lessons:
        r = rows[tid]
        r["lessons_total"] += 1
        r["lessons_published"] += int(published is not None and f <= published < t)
        r["clicks"] += counts[lid][0]
        r["complete_views"] += counts[lid][1]
        r["points"] += points.get((tid, lid), Decimal(0))
    for r in rows.values():
        r["points"] = r["points"].quantize(Decimal("0.01"))
    return sorted(rows.values(), key=lambda r: (-r["complete_views"], -r["clicks"], r["tutor_id"]))
