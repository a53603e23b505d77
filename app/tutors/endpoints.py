from __future__ import annotations

from fastapi import APIRouter, Request

from app.accounts.deps import Admin, CurrentUser, Tutor
from app.kit.clock import ClockDep, now_dt
from app.kit.db import DB
from app.kit.deps import SettingsDep, ThrottleDep
from app.kit.throttle import APPLY_ADDRESS, Throttled, too_many

from . import service
from .schemas import ApplicationCreate, ApplicationOut, ApplicationUpdate, ProfileEdit, RejectBody, ReviewDecision

router = APIRouter(prefix="/api/tutors", tags=["tutors"])


@router.post("/applications", response_model=ApplicationOut, status_code=201)
async def apply(body: ApplicationCreate, request: Request, db: DB, settings: SettingsDep, throttle: ThrottleDep, clock: ClockDep) -> ApplicationOut:
    """A teacher applies: creates the tutor account, waiting for review by their school.
    Anonymous, so throttled per address (a taken username answers 409, so it is also the one
    place that tells whether a username exists: the throttle keeps that from being an index)."""
    client = request.client.host if request.client else "unknown"
    try:
        await throttle.hit(APPLY_ADDRESS, f"apply@{client}")
    except Throttled as exc:
        raise too_many(exc, "tutor applications") from None
    return await service.apply(db, body, settings.tutor_min_title, now_dt(clock))


@router.get("/applications", response_model=list[ApplicationOut])
async def review_queue(admin: Admin, db: DB) -> list[ApplicationOut]:
    """Applications waiting for the caller's level (school, district or city) in their scope."""
    return await service.queue(db, admin)


@router.get("/applications/{tutor_id}", response_model=ApplicationOut)
async def read_application(tutor_id: int, user: CurrentUser, db: DB) -> ApplicationOut:
    return await service.read_scoped(db, user, tutor_id)


@router.post("/applications/{tutor_id}/approve", response_model=ApplicationOut)
async def approve(tutor_id: int, admin: Admin, db: DB, clock: ClockDep, body: ReviewDecision | None = None) -> ApplicationOut:
    return await service.approve(db, admin, tutor_id, body.reason if body else None, now_dt(clock))


@router.post("/applications/{tutor_id}/reject", response_model=ApplicationOut)
async def reject(tutor_id: int, body: RejectBody, admin: Admin, db: DB) -> ApplicationOut:
    return await service.reject(db, admin, tutor_id, body.reason)


@router.get("/me/application", response_model=ApplicationOut)
async def my_application(tutor: Tutor, db: DB) -> ApplicationOut:
    return await service.read(db, tutor.id)


@router.put("/me/application", response_model=ApplicationOut)
async def amend(body: ApplicationUpdate, settings: SettingsDep, tutor: Tutor, db: DB, clock: ClockDep) -> ApplicationOut:
    """Amend a rejected application and resubmit it (review starts again at the school)."""
    return await service.amend(db, tutor, body, settings.tutor_min_title, now_dt(clock))


@router.put("/me/profile", response_model=ApplicationOut)
async def edit_profile(body: ProfileEdit, tutor: Tutor, db: DB) -> ApplicationOut:
    """Fields, bio and best knowledge points, changed without a new review (contact details masked)."""
    return await service.edit_profile(db, tutor, body)
