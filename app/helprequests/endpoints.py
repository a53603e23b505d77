from __future__ import annotations

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from app.accounts.deps import CurrentUser, Student
from app.kit.clock import ClockDep
from app.kit.db import DB
from app.kit.deps import EventsDep, RedisDep, SettingsDep, ThrottleDep
from app.kit.errors import Forbidden
from app.kit.images import clean_image, read_upload
from app.kit.redis import ensure_reachable
from app.kit.throttle import UPLOADS, Throttled, too_many
from app.live.deps import TranscriptDep
from app.match.deps import MatcherDep
from app.match.service import session_for_request
from app.models import RequestStatus, Role

from . import flows, service
from .schemas import ChooseBody, HelpRequestCreate, HelpRequestOut, ImageOut, RequestStatusOut

router = APIRouter(prefix="/api", tags=["help requests"])


@router.post("/images", response_model=ImageOut, status_code=201)
async def upload_image(
    user: CurrentUser, db: DB, s: SettingsDep, throttle: ThrottleDep, file: UploadFile = File(..., description="JPEG, PNG or WebP")
) -> ImageOut:
    """Upload one picture. The type is read from the content; metadata is stripped."""
    try:
        await throttle.hit(UPLOADS, f"upload:{user.id}")
    except Throttled as exc:
        raise too_many(exc, "image uploads") from None
    clean = clean_image(await read_upload(file, s.max_image_bytes), s.max_image_bytes, s.max_image_pixels)
    return service.image_out(await service.store_image(db, user, clean))


@router.get("/images/{image_id}", response_class=Response)
async def get_image(image_id: str, writer: TranscriptDep, user: CurrentUser, db: DB, matcher: MatcherDep) -> Response:
    ringing: set[int] = set()
    if user.role == Role.TUTOR:  # a tutor whose phone is ringing for the request may see its photo
        st = await matcher.pool.tutor(user.id)
        ringing = set(st.offers) if st else set()
    try:
        img = await service.readable_image(db, user, image_id, ringing)
    except Forbidden:
        # Shared in a session a moment ago: its transcript row may still be queued (written in
        # batches); write what is queued and look once more.
        await writer.flush()
        img = await service.readable_image(db, user, image_id, ringing)
    return Response(img.data, media_type=img.content_type, headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})


@router.post(
    "/help-requests",
    response_model=HelpRequestOut,
    status_code=201,
    responses={
        409: {
            "description": "OutsideServiceWindow (the request is kept as `refused`, see "
            "`request_id`, `next_opening`), TutorBusy or TutorUnavailable (择师)"
        }
    },
)
async def create(
    body: HelpRequestCreate, student: Student, db: DB, matcher: MatcherDep, clock: ClockDep, settings: SettingsDep, redis: RedisDep
) -> HelpRequestOut | JSONResponse:
    """Ask for live help. `mode: auto` lets the service ring the best free tutors; `mode:
    chosen` with `tutor_id` rings that tutor (择师). Matching starts once the request is stored;
    follow it with `GET /api/help-requests/{id}/status` or the live events."""
    await ensure_reachable(redis)
    req, refusal = await flows.file_request(db, settings, matcher, clock, student, body)
    if refusal is not None:
        # Not raised: the refused request is committed so the student's words and photos are kept.
        return JSONResponse(refusal.envelope(), status_code=refusal.status_code)
    return (await service.to_out(db, [req]))[0]


@router.get("/help-requests", response_model=list[HelpRequestOut])
async def list_mine(
    student: Student, db: DB, status: str | None = Query(None, max_length=16), limit: int = Query(50, ge=1, le=200), before_id: int | None = None
) -> list[HelpRequestOut]:
    return await service.to_out(db, await service.list_own(db, student, status, limit, before_id))


@router.get("/help-requests/{request_id}", response_model=HelpRequestOut)
async def read(request_id: int, user: CurrentUser, db: DB) -> HelpRequestOut:
    """The student who asked, or the tutor of the session it became."""
    return (await service.to_out(db, [await service.readable(db, user, request_id)]))[0]


@router.get("/help-requests/{request_id}/status", response_model=RequestStatusOut)
async def status(request_id: int, student: Student, db: DB, matcher: MatcherDep) -> RequestStatusOut:
    """Where the request stands: position in the queue and the estimated wait (from the live
    rates of arrivals and matches for its subject), or the session it became."""
    req = await service.get_own(db, student, request_id)
    live = await matcher.status(request_id) if req.status == RequestStatus.OPEN else None
    session = await session_for_request(db, request_id) if req.status == RequestStatus.MATCHED else None
    return RequestStatusOut(
        request_id=request_id,
        status=req.status,
        matching=live["state"] if live else None,
        position=live and live.get("position"),
        eta_s=live and live.get("eta_s"),
        arrivals_per_min=live and live.get("arrivals_per_min"),
        matches_per_min=live and live.get("matches_per_min"),
        tutors_on_duty=live and live.get("tutors_on_duty"),
        session_id=session.id if session else None,
    )


@router.post("/help-requests/{request_id}/choose", response_model=RequestStatusOut)
async def choose(request_id: int, body: ChooseBody, student: Student, db: DB, matcher: MatcherDep) -> RequestStatusOut:
    """Re-target a waiting request: ring another tutor (择师) or switch to automatic matching."""
    await flows.choose(db, matcher, student, request_id, body.tutor_id)
    return await status(request_id, student, db, matcher)


@router.post("/help-requests/{request_id}/cancel", response_model=HelpRequestOut)
async def cancel(request_id: int, student: Student, db: DB, matcher: MatcherDep, clock: ClockDep) -> HelpRequestOut:
    return (await service.to_out(db, [await flows.cancel(db, matcher, clock, student, request_id)]))[0]


@router.post("/help-requests/{request_id}/to-question", response_model=HelpRequestOut)
async def to_question(
    request_id: int, request: Request, student: Student, db: DB, matcher: MatcherDep, clock: ClockDep, settings: SettingsDep, events: EventsDep
) -> HelpRequestOut:
    """Keep an unanswered request as a Q&A question (refused outside hours, expired, or
    cancelled while waiting). An open request is cancelled first. The request becomes
    `converted`; `question_id` names the question in the Q&A centre (`/api/qa/questions/{id}`)."""
    req = await flows.to_question(db, settings, matcher, clock, events, student, request_id)
    return (await service.to_out(db, [req]))[0]
