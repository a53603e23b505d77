from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy import func, select

from app.accounts.deps import Admin
from app.accounts.scope import require_school, schools_in_scope
from app.kit.db import DB
from app.kit.errors import RosterRejected
from app.models import District, SchoolClass, User

from .roster import import_roster

router = APIRouter(prefix="/api", tags=["schools"])


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


@router.get("/schools", response_model=list[SchoolOut])
async def list_schools(admin: Admin, db: DB) -> list[SchoolOut]:
    """The schools in the caller's scope."""
    query = schools_in_scope(admin).subquery()
    rows = (await db.execute(
        select(query.c.id, query.c.code, query.c.name, query.c.stage, query.c.district_id,
               District.name.label("district_name"))
        .join(District, District.id == query.c.district_id).order_by(query.c.code))).mappings()
    return [SchoolOut(**r) for r in rows]


@router.get("/schools/{school_id}/classes", response_model=list[ClassOut])
async def list_classes(school_id: int, admin: Admin, db: DB) -> list[ClassOut]:
    await require_school(db, admin, school_id)
    counts = (select(User.class_id, func.count().label("n")).where(User.role == "student")
              .group_by(User.class_id).subquery())
    rows = (await db.execute(
        select(SchoolClass, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.class_id == SchoolClass.id)
        .where(SchoolClass.school_id == school_id).order_by(SchoolClass.grade, SchoolClass.name))).all()
    return [ClassOut(id=c.id, grade=c.grade, name=c.name, students=n) for c, n in rows]


@router.post("/rosters/{kind}", response_model=ImportOut, status_code=201)
async def import_csv(
    kind: Literal["districts", "schools", "classes", "students", "tutors"], request: Request, admin: Admin, db: DB,
    file: UploadFile = File(..., description="UTF-8 CSV with a header row"),
    dry_run: bool = Query(False, description="check the file and report errors without importing"),
) -> ImportOut:
    """Import a roster. A file with any bad row is rejected whole (422 `RosterRejected` with
    `errors: [{line, column, error}]`) and nothing is written. Students and tutors without a
    password column get a generated initial password, returned once in `credentials`."""
    limit = request.app.state.settings.max_csv_bytes
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise RosterRejected(f"the file is larger than {limit} bytes", limit_bytes=limit)
    result = await import_roster(db, admin, kind, raw, dry_run=dry_run)
    return ImportOut(kind=kind, rows=result.rows, created=result.created, dry_run=dry_run,
                     credentials=result.credentials)
