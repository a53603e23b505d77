"""Checks other domains use when something is tagged with a subject and knowledge points."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import InvalidInput
from app.models import KnowledgePoint, Subject


async def check_subjects(db: AsyncSession, codes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(codes))
    known = set((await db.execute(select(Subject.code).where(Subject.code.in_(wanted)))).scalars())
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InvalidInput(f"unknown subject(s): {', '.join(unknown)}", field="subject")
    return wanted


async def check_knowledge_points(db: AsyncSession, ids: Iterable[int], subjects: Iterable[str]) -> list[int]:
    """Every id must exist and belong to one of `subjects`."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    allowed = set(subjects)
    rows = (await db.execute(select(KnowledgePoint.id, KnowledgePoint.subject_code)
                             .where(KnowledgePoint.id.in_(wanted)))).all()
    found = {kp_id: subject for kp_id, subject in rows}
    bad = [i for i in wanted if found.get(i) not in allowed]
    if bad:
        raise InvalidInput(f"knowledge point(s) {bad} do not exist in {', '.join(sorted(allowed))}",
                           field="knowledge_point_ids")
    return wanted
