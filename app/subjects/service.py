"""The subjects and their knowledge-point trees, and the checks other domains use when
something is tagged with a subject and knowledge points."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import InvalidInput, NotFound
from app.models import KnowledgePoint, Subject

from .schemas import KnowledgeNode, SubjectOut


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
    rows = (await db.execute(select(KnowledgePoint.id, KnowledgePoint.subject_code).where(KnowledgePoint.id.in_(wanted)))).all()
    found = {kp_id: subject for kp_id, subject in rows}
    bad = [i for i in wanted if found.get(i) not in allowed]
    if bad:
        raise InvalidInput(f"knowledge point(s) {bad} do not exist in {', '.join(sorted(allowed))}", field="knowledge_point_ids")
    return wanted


async def list_subjects(db: AsyncSession) -> list[SubjectOut]:
    rows = (await db.execute(select(Subject).order_by(Subject.position))).scalars()
    return [SubjectOut(code=s.code, name_zh=s.name_zh, name_en=s.name_en) for s in rows]


async def knowledge_tree(db: AsyncSession, code: str) -> list[KnowledgeNode]:
    if await db.get(Subject, code) is None:
        raise NotFound(f"no subject {code!r}")
    rows = (
        (await db.execute(select(KnowledgePoint).where(KnowledgePoint.subject_code == code).order_by(KnowledgePoint.depth, KnowledgePoint.position)))
        .scalars()
        .all()
    )
    nodes = {k.id: KnowledgeNode(id=k.id, name=k.name, depth=k.depth) for k in rows}
    roots: list[KnowledgeNode] = []
    for k in rows:
        (nodes[k.parent_id].children if k.parent_id in nodes else roots).append(nodes[k.id])
    return roots
