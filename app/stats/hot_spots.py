"""Hot spots: the knowledge points students asked about most."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import District, HelpRequest, HelpRequestKnowledgePoint, KnowledgePoint, KnowledgePointDay, School, User

from .participation import bounds
from .rollups import day_bounds, hour_bounds
from .scope import users_scoped as _scoped

async def hot_spots(db: AsyncSession, city_id: int, start: date, end: date, tz: str, *, subject: str | None = None,
                    district_id: int | None = None, school_id: int | None = None, class_id: int | None = None,
                    limit: int = 20) -> list[dict[str, object]]:
    """The knowledge points students asked about most (help requests tagged with them), from
    knowledge_point_days (per school, class and day of the request; the raw tags for a time zone
    other than UTC+8). A request counts for the school and class the student was in when asking."""
    days = day_bounds(*hour_bounds(start, end, tz))
    if days is not None:
        k = KnowledgePointDay
        asked = func.sum(k.asked)
        q = (select(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code, asked)
             .select_from(k).join(KnowledgePoint, KnowledgePoint.id == k.knowledge_point_id)
             .where(k.day >= days[0], k.day < days[1]))
        if school_id is not None:
            q = q.where(k.school_id == school_id)
        else:
            schools = select(School.id).join(District, District.id == School.district_id).where(District.city_id == city_id)
            q = q.where(k.school_id.in_(schools.where(School.district_id == district_id) if district_id is not None else schools))
        if class_id is not None:
            q = q.where(k.class_id == class_id)
    else:
        f, t = bounds(start, end, tz)
        asked = func.count()
        q = (select(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code, asked)
             .select_from(HelpRequestKnowledgePoint)
             .join(HelpRequest, HelpRequest.id == HelpRequestKnowledgePoint.request_id)
             .join(KnowledgePoint, KnowledgePoint.id == HelpRequestKnowledgePoint.knowledge_point_id)
             .join(User, User.id == HelpRequest.student_id)
             .where(HelpRequest.created_at >= f, HelpRequest.created_at < t))
        q = _scoped(q, city_id, district_id, school_id)
        if class_id is not None:
            q = q.where(User.class_id == class_id)
    if subject is not None:
        q = q.where(KnowledgePoint.subject_code == subject)
    rows = (await db.execute(q.group_by(KnowledgePoint.id, KnowledgePoint.name, KnowledgePoint.subject_code)
                             .order_by(asked.desc(), KnowledgePoint.id).limit(limit))).all()
    return [{"knowledge_point_id": i, "name": n, "subject": s, "asked": int(c)} for i, n, s, c in rows]
