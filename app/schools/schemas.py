from __future__ import annotations

from pydantic import BaseModel


class SchoolOut(BaseModel):
    id: int
    code: str
    name: str
    stage: str
    district_id: int
    district_name: str


class ClassOut(BaseModel):
    id: int
    grade: int
    name: str
    students: int


class ImportOut(BaseModel):
    kind: str
    rows: int
    created: int
    dry_run: bool
    credentials: list[dict[str, str]]
