"""Tutors on duty and their offers; students' 择师 list and the state of their request."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.accounts.deps import Student, Tutor
from app.calendar.service import service_window
from app.config import Settings
from app.kit.clock import ClockDep, ts
from app.kit.db import DB
from app.kit.deps import SettingsDep
from app.kit.errors import InvalidState
from app.models import User
from matching import TutorState

from . import flows
from .deps import MatcherDep
from .schemas import AcceptOut, DutyOut, OfferOut, TutorListItem, WindowOut
from .service import tutor_list

router = APIRouter(prefix="/api", tags=["matching"])


async def _window(settings: Settings, db: DB, clock: ClockDep) -> WindowOut:
    now = clock.now()
    w = await service_window(db, settings, now)
    is_open, closes = w.is_open(now), w.closes_at(now)
    return WindowOut(open=is_open, now=ts(now), closes_at=ts(closes) if closes else None, next_opening=None if is_open else w.next_opening(now))


@router.get("/service-window", response_model=WindowOut)
async def window(settings: SettingsDep, db: DB, clock: ClockDep) -> WindowOut:
    return await _window(settings, db, clock)


async def _duty(settings: Settings, db: DB, matcher: MatcherDep, clock: ClockDep, tutor: User) -> DutyOut:
    w = await _window(settings, db, clock)
    st = await matcher.pool.tutor(tutor.id)
    common = dict(window_open=w.open, next_opening=w.next_opening)
    if st is None:
        return DutyOut(on_duty=False, state=TutorState.OFF_DUTY.value, **common)
    return DutyOut(on_duty=True, state=st.state.value, offers=st.offers, served_tonight=st.served, session_request_id=st.session_request, **common)


@router.get("/duty", response_model=DutyOut)
async def duty(settings: SettingsDep, tutor: Tutor, db: DB, matcher: MatcherDep, clock: ClockDep) -> DutyOut:
    return await _duty(settings, db, matcher, clock, tutor)


@router.post("/duty", response_model=DutyOut)
async def go_on_duty(settings: SettingsDep, tutor: Tutor, db: DB, matcher: MatcherDep, clock: ClockDep) -> DutyOut:
    """Go on duty. Keep presence alive with `POST /api/duty/heartbeat` (or the live connection)
    at least every `match_presence_ttl_s` (45 s); a silent tutor goes off duty on their own.
    Outside the service window: 409 `OutsideServiceWindow` with `next_opening` (no student can ask then)."""
    window = await _window(settings, db, clock)
    if not window.open:
        when = window.next_opening.isoformat() if window.next_opening else None
        raise flows.OutsideServiceWindow(f"live tutoring is closed now; next opening {when}", next_opening=when)
    await flows.go_on_duty(db, settings, matcher, clock, tutor)
    return await _duty(settings, db, matcher, clock, tutor)


@router.post("/duty/heartbeat", response_model=DutyOut)
async def heartbeat(settings: SettingsDep, tutor: Tutor, db: DB, matcher: MatcherDep, clock: ClockDep) -> DutyOut:
    if not await matcher.heartbeat(tutor.id):
        raise InvalidState("you are not on duty (presence expired?); go on duty again", state="off_duty")
    return await _duty(settings, db, matcher, clock, tutor)


@router.delete("/duty", response_model=DutyOut)
async def go_off_duty(settings: SettingsDep, tutor: Tutor, db: DB, matcher: MatcherDep, clock: ClockDep) -> DutyOut:
    """Go off duty. During a session the tutor goes off duty when it ends."""
    await matcher.go_off_duty(tutor.id)
    return await _duty(settings, db, matcher, clock, tutor)


@router.get("/offers", response_model=list[OfferOut])
async def offers(tutor: Tutor, matcher: MatcherDep) -> list[OfferOut]:
    """Requests ringing for this tutor now (the same as the `offer` events)."""
    st = await matcher.pool.tutor(tutor.id)
    out = []
    for rid in st.offers if st else []:
        r = await matcher.pool.request(rid)
        if r is None:
            continue
        s = r.spec.summary
        out.append(
            OfferOut(
                request_id=rid,
                subject=r.spec.subject,
                text=s.get("text", ""),
                grade=s.get("grade"),
                knowledge_points=s.get("knowledge_point_names", []),
                images=s.get("images", []),
                mode=r.spec.mode,
            )
        )
    return out


@router.post("/offers/{request_id}/accept", response_model=AcceptOut)
async def accept(request_id: int, tutor: Tutor, db: DB, matcher: MatcherDep, clock: ClockDep) -> AcceptOut:
    """Claim the request. Exactly one tutor wins; the others get 409 `AlreadyTaken`."""
    s = await flows.accept_offer(db, matcher, clock, tutor, request_id)
    return AcceptOut(session_id=s.id, request_id=request_id, student_id=s.student_id, state=s.state)


@router.post("/offers/{request_id}/decline", status_code=204)
async def decline(request_id: int, tutor: Tutor, matcher: MatcherDep) -> None:
    if not await matcher.decline(request_id, tutor.id):
        raise flows.NoOffer("this request is not ringing for you")


@router.get("/matching/tutors", response_model=list[TutorListItem])
async def tutors(
    student: Student,
    db: DB,
    matcher: MatcherDep,
    subject: str = Query(..., max_length=16),
    knowledge_point_ids: list[int] = Query(default_factory=list, max_length=10),
    limit: int = Query(20, ge=1, le=100),
) -> list[TutorListItem]:
    """The 择师 list: tutors free now for this subject and the student's grade, best first."""
    return await tutor_list(db, matcher, student, subject, knowledge_point_ids, limit)
