"""A help request's way through matching, seen from the student: filing it (refused outside
the service window, handed to matching after the commit), choosing another tutor (择师),
cancelling it, keeping it as a Q&A question. Every status change goes through the one guarded
transition (`app.models.request_transition`). Dependencies run helprequests → match →
matching: `app/match` (duty, offers, accept, expiry) never imports this package."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.service import service_window
from app.config import Settings
from app.kit.clock import Clock, ts
from app.kit.db import after_commit, rowcount
from app.kit.errors import InvalidState, NotFound, error_type
from app.live.service import rest_until
from app.match.flows import OutsideServiceWindow, TutorBusy, suggestions, withdraw_from_pool
from app.match.service import request_spec
from app.models import ApplicationStatus, HelpRequest, RequestStatus, Role, TutorProfile, User, request_transition
from app.qa import service as qa
from app.schools.names import band_of
from matching import Matcher, RequestSpec, TutorState

from . import service
from .schemas import HelpRequestCreate

TutorUnavailable = error_type("TutorUnavailable", 409)
RestRequired = error_type("RestRequired", 409)


async def file_request(
    db: AsyncSession, settings: Settings, matcher: Matcher, clock: Clock, student: User, body: HelpRequestCreate
) -> tuple[HelpRequest, OutsideServiceWindow | None]:
    """Store the request, then either refuse it (outside the window; the request is kept as
    `refused` so that it can become a Q&A question) or hand it to matching after the commit."""
    now = clock.now()
    until = await rest_until(db, settings, student.id, now)
    if until is not None:
        raise RestRequired("time for a rest: you have been in live sessions for a long stretch", until=ts(until).isoformat())
    window = await service_window(db, settings, now)
    if body.mode == "chosen" and body.tutor_id is not None and window.is_open(now):
        await _check_chosen(db, matcher, student, body.tutor_id, body.subject)
    req = await service.create(db, student, body, settings.max_images_per_request)
    if not window.is_open(now):
        opening = window.next_opening(now)
        await db.execute(
            request_transition(
                req.id, RequestStatus.REFUSED, close_reason="outside_service_window", closed_at=ts(now), wants_question=body.fallback_to_question
            )
        )
        await db.refresh(req)
        if body.fallback_to_question:
            await qa.from_request(db, settings, student, req, ts(now))
        when = opening.strftime("%Y-%m-%d %H:%M") if opening else "—"
        return req, OutsideServiceWindow(
            f"live tutoring is open {settings.service_window} ({settings.timezone}); next opening {when}. "
            "You can post the question to the Q&A centre instead.",
            next_opening=opening.isoformat() if opening else None,
            request_id=req.id,
            can_ask_question=True,
        )
    spec = await request_spec(db, student, req)
    after_commit(db, lambda: matcher.submit(spec))
    return req, None


async def _check_chosen(db: AsyncSession, matcher: Matcher, student: User, tutor_id: int, subject: str) -> None:
    tutor = await db.get(User, tutor_id)
    profile = await db.get(TutorProfile, tutor_id)
    if tutor is None or tutor.role != Role.TUTOR or profile is None or profile.status != ApplicationStatus.APPROVED:
        raise NotFound(f"no approved tutor {tutor_id}")
    preview = RequestSpec(id=0, student_id=student.id, subject=subject, band=band_of(student.grade))
    state = await matcher.pool.tutor(tutor.id)
    if state is None:
        raise TutorUnavailable(f"{tutor.real_name} is not on duty now", suggestions=await suggestions(matcher, preview))
    if state.state == TutorState.IN_SESSION:
        raise TutorBusy(f"{tutor.real_name} is tutoring someone else now", suggestions=await suggestions(matcher, preview))
    if subject not in state.card.subjects or preview.band not in state.card.bands:
        raise TutorUnavailable(f"{tutor.real_name} does not tutor this subject for your grade")


async def choose(db: AsyncSession, matcher: Matcher, student: User, request_id: int, tutor_id: int | None) -> HelpRequest:
    """Re-target a waiting request: ring another tutor (择师) or switch to automatic matching."""
    req = await service.get_own(db, student, request_id)
    if req.status != RequestStatus.OPEN:
        raise InvalidState(f"the request is {req.status}", status=req.status)
    outcome = await matcher.choose(request_id, tutor_id)
    if outcome == "busy":
        raise TutorBusy("that tutor is tutoring someone else now")
    if outcome in ("off_duty", "tried"):
        raise TutorUnavailable("that tutor is not on duty" if outcome == "off_duty" else "that tutor already declined this request")
    if outcome == "gone":
        raise InvalidState("the request is not waiting any more (ringing, matched or closed)")
    req.mode, req.chosen_tutor_id = ("chosen", tutor_id) if tutor_id else ("auto", None)
    return req


async def cancel(db: AsyncSession, matcher: Matcher, clock: Clock, student: User, request_id: int) -> HelpRequest:
    req = await service.get_own(db, student, request_id)
    # Guarded: a cancel racing a tutor's accept loses cleanly instead of undoing a match.
    result = await db.execute(request_transition(req.id, RequestStatus.CANCELLED, close_reason="cancelled_by_student", closed_at=ts(clock.now())))
    await db.refresh(req)
    if rowcount(result) != 1:
        raise InvalidState(f"the request is already {req.status}", status=req.status)
    after_commit(db, lambda: withdraw_from_pool(matcher, request_id))
    return req


async def to_question(
    db: AsyncSession, settings: Settings, matcher: Matcher, clock: Clock, events: Any, student: User, request_id: int
) -> HelpRequest:
    """Keep an unanswered request as a Q&A question (refused outside hours, expired, or
    cancelled while waiting; an open request is cancelled first). Tutors on duty hear of it."""
    req = await service.get_own(db, student, request_id)
    if req.status == RequestStatus.OPEN:
        req = await cancel(db, matcher, clock, student, request_id)
    if req.status not in (RequestStatus.REFUSED, RequestStatus.EXPIRED, RequestStatus.CANCELLED, RequestStatus.CONVERTED):
        raise InvalidState(f"the request is {req.status}", status=req.status)
    await qa.from_request(db, settings, student, req, ts(clock.now()), events, matcher.pool)
    return req
