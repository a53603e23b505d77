"""The subjects and their knowledge-point trees (public: the ask form needs them)."""

from __future__ import annotations

from fastapi import APIRouter

from app.kit.db import DB

from . import service
from .schemas import KnowledgeNode, SubjectOut

router = APIRouter(prefix="/api/subjects", tags=["subjects"])


@router.get("", response_model=list[SubjectOut])
async def list_subjects(db: DB) -> list[SubjectOut]:
    return await service.list_subjects(db)


@router.get("/{code}/knowledge-points", response_model=list[KnowledgeNode])
async def knowledge_tree(code: str, db: DB) -> list[KnowledgeNode]:
    return await service.knowledge_tree(db, code)
