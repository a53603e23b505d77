from __future__ import annotations

from pydantic import BaseModel


class SubjectOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class KnowledgeNode(BaseModel):
    id: int
    name: str
    depth: int
    children: list[KnowledgeNode] = []
