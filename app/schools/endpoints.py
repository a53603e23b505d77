"""The org tree (districts, schools, classes) and CSV rosters, within the admin's scope."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, UploadFile

from app.accounts.deps import Admin
from app.kit.db import DB
from app.kit.deps import SettingsDep
from app.kit.errors import RosterRejected

from . import service
from .roster import import_roster
from .schemas import ClassOut, ImportOut, SchoolOut

router = APIRouter(prefix="/api", tags=["schools"])


@router.get("/schools", response_model=list[SchoolOut])
async def list_schools(admin: Admin, db: DB) -> list[SchoolOut]:
    """The schools in the caller's scope."""
    return await service.list_schools(db, admin)


@router.get("/schools/{school_id}/classes", response_model=list[ClassOut])
async def list_classes(school_id: int, admin: Admin, db: DB) -> list[ClassOut]:
    return await service.list_classes(db, admin, school_id)


@router.post("/rosters/{kind}", response_model=ImportOut, status_code=201)
async def import_csv(
    kind: Literal["districts", "schools", "classes", "students", "tutors"],
    settings: SettingsDep,
    admin: Admin,
    db: DB,
    file: UploadFile = File(..., description="UTF-8 CSV with a header row"),
    dry_run: bool = Query(False, description="check the file and report errors without importing"),
) -> ImportOut:
    """Import a roster. A file with any bad row is rejected whole (422 `RosterRejected` with
    `errors: [{line, column, error}]`) and nothing is written. Students and tutors without a
    password column get a generated initial password, returned once in `credentials`."""
    limit = settings.max_csv_bytes
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise RosterRejected(f"the file is larger than {limit} bytes", limit_bytes=limit)
    result = await import_roster(db, admin, kind, raw, dry_run=dry_run)
    return ImportOut(kind=kind, rows=result.rows, created=result.created, dry_run=dry_run, credentials=result.credentials)
