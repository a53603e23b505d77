from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from app.kit.db import DB
from app.kit.errors import NotFound
from app.models import KnowledgePoint, Subject

router = APIRouter(prefix="/api/subjects", tags=["subjects"])


class SubjectOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class KnowledgeNode(BaseModel):
    id: int
    name: str
    depth: int
    children: list["KnowledgeNode"] = []


@router.get("", response_model=list[SubjectOut])
async def list_subjects(db: DB) -> list[SubjectOut]:
    rows = (await db.execute(select(Subject).order_by(Subject.position))).scalars()
    return [SubjectOut(code=s.code, name_zh=s.name_zh, name_en=s.name_en) for s in rows]


@router.get("/{code}/knowledge-points", response_model=list[KnowledgeNode])
async def knowledge_tree(code: str, db: DB) -> list[KnowledgeNode]:
    if await db.get(Subject, code) is None:
        raise NotFound(f"no subject {code!r}")
    rows = (await db.execute(select(KnowledgePoint).where(KnowledgePoint.subject_code == code)
                             .order_by(KnowledgePoint.depth, KnowledgePoint.position))).scalars().all()
    nodes = {k.id: KnowledgeNode(id=k.id, name=k.name, depth=k.depth) for k in rows}
    roots: list[KnowledgeNode] = []
    for k in rows:
        (nodes[k.parent_id].children if k.parent_id in nodes else roots).append(nodes[k.id])
    return roots
