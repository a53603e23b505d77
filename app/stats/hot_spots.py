"""Hot spots: the knowledge points students asked about most."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    District,
    HelpRequest,
    HelpRequestKnowledgePoint,
    KnowledgePoint,
    KnowledgePointDay,
    Question,
    QuestionKnowledgePoint,
    School,
    User,
)

from .period import bounds
from .rollups import day_bounds, hour_bounds
from .scope import users_scoped


async def hot_spots(
    db: AsyncSession,
    city_id: int,
    start: date,
    end: date,
    tz: str,
    *,
    subject: str | None = None,
    district_id: int | None = None,
    school_id: int | None = None,
    class_id: int | None = None,
    limit: int = 20,
) -> list[dict[str, object]]:
    """The knowledge points students asked about most: the tags of their help requests and of
    their Q&A questions (a question converted from a request is that request's ask, counted once),
    from knowledge_point_days (per school, class and day of the ask; the raw tags for a time zone
    other than UTC+8). An ask counts for the school and class the student was in when asking."""
    days = day_bounds(*hour_bounds(start, end, tz))
    if days is not None:
        k = KnowledgePointDay
        asked: ColumnElement[int] = func.sum(k.asked)
        q = (
            select(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code, asked)
            .select_from(k)
            .join(KnowledgePoint, KnowledgePoint.id == k.knowledge_point_id)
            .where(k.day >= days[0], k.day < days[1])
        )
        if school_id is not None:
            q = q.where(k.school_id == school_id)
        else:
            schools = select(School.id).join(District, District.id == School.district_id).where(District.city_id == city_id)
            q = q.where(k.school_id.in_(schools.where(School.district_id == district_id) if district_id is not None else schools))
        if class_id is not None:
            q = q.where(k.class_id == class_id)
    else:
        f, t = bounds(start, end, tz)
        requests = (
            select(HelpRequestKnowledgePoint.knowledge_point_id.label("kp"))
            .join(HelpRequest, HelpRequest.id == HelpRequestKnowledgePoint.request_id)
            .join(User, User.id == HelpRequest.student_id)
            .where(HelpRequest.created_at >= f, HelpRequest.created_at < t)
        )
        questions = (
            select(QuestionKnowledgePoint.knowledge_point_id.label("kp"))
            .join(Question, Question.id == QuestionKnowledgePoint.question_id)
            .join(User, User.id == Question.student_id)
            .where(Question.created_at >= f, Question.created_at < t, Question.source_request_id.is_(None))
        )
        branches = [users_scoped(b, city_id, district_id, school_id) for b in (requests, questions)]
        if class_id is not None:
            branches = [b.where(User.class_id == class_id) for b in branches]
        tags = union_all(*branches).subquery()
        asked = func.count()
        q = (
            select(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code, asked)
            .select_from(tags)
            .join(KnowledgePoint, KnowledgePoint.id == tags.c.kp)
        )
    if subject is not None:
        q = q.where(KnowledgePoint.subject_code == subject)
    rows = (
        await db.execute(
            q.group_by(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code).order_by(asked.desc(), KnowledgePoint.id).limit(limit)
        )
    ).all()
    return [{"knowledge_point_id": i, "name": n, "subject": s, "asked": int(c)} for i, n, s, c in rows]
