"""Work that crosses domains: a help request entering matching, a tutor's accept becoming a
session record. Pool state changes happen inside the request; the events that announce a
database change go out only after the commit (app.kit.db.after_commit)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.helprequests import service as requests
from app.helprequests.schemas import HelpRequestCreate
from app.kit.db import after_commit, on_rollback
from app.kit.errors import AppError, InvalidState, NotFound, error_type
from app.live.service import rest_until, ts
from app.qa import service as qa
from app.models import HelpRequest, TutoringSession, TutorProfile, User, utcnow
from matching import Event, Matcher, RequestSpec, TutorState

from .service import band_of, request_spec, service_window, tutor_card


TutorBusy = error_type("TutorBusy", 409)
TutorUnavailable = error_type("TutorUnavailable", 409)
AlreadyTaken = error_type("AlreadyTaken", 409)
NoOffer = error_type("NoOffer", 409)
RequestGone = error_type("RequestGone", 409)
NotApproved = error_type("NotApproved", 403)
RestRequired = error_type("RestRequired", 409)


class OutsideServiceWindow(AppError):
    status_code, code = 409, "OutsideServiceWindow"


async def suggestions(matcher: Matcher, spec: RequestSpec, limit: int = 5) -> list[dict[str, Any]]:
    return [{"id": r.status.card.id, "name": r.status.card.name, "school": r.status.card.school}
            for r in await matcher.recommend(spec, limit)]


async def file_request(db: AsyncSession, settings: Any, matcher: Matcher, student: User,
                       body: HelpRequestCreate) -> tuple[HelpRequest, OutsideServiceWindow | None]:
    """Store the request, then either refuse it (outside the window; the request is kept as
    `refused` so that it can become a Q&A question) or hand it to matching after the commit."""
    now = matcher.clock.now()
    until = await rest_until(db, settings, student.id, now)
    if until is not None:
        raise RestRequired("time for a rest: you have been in live sessions for a long stretch",
                           until=ts(until).isoformat())
    window = await service_window(db, settings, now)
    if body.mode == "chosen" and body.tutor_id is not None and window.is_open(now):
        await _check_chosen(db, matcher, student, body)
    req = await requests.create(db, student, body, settings.max_images_per_request)
    if not window.is_open(now):
        opening = window.next_opening(now)
        req.status, req.close_reason, req.closed_at = "refused", "outside_service_window", utcnow()
        req.wants_question = body.fallback_to_question
        await db.flush()
        if body.fallback_to_question:
            await qa.from_request(db, settings, student, req, ts(now))
        when = opening.strftime("%Y-%m-%d %H:%M") if opening else "—"
        return req, OutsideServiceWindow(
            f"live tutoring is open {settings.service_window} ({settings.timezone}); next opening {when}. "
            "You can post the question to the Q&A centre instead.",
            next_opening=opening.isoformat() if opening else None, request_id=req.id, can_ask_question=True)
    spec = await request_spec(db, student, req)
    after_commit(db, lambda: matcher.submit(spec))
    return req, None


async def _check_chosen(db: AsyncSession, matcher: Matcher, student: User, body: HelpRequestCreate) -> None:
    tutor = await db.get(User, body.tutor_id)
    profile = await db.get(TutorProfile, body.tutor_id)
    if tutor is None or tutor.role != "tutor" or profile is None or profile.status != "approved":
        raise NotFound(f"no approved tutor {body.tutor_id}")
    preview = RequestSpec(id=0, student_id=student.id, subject=body.subject, band=band_of(student.grade))
    state = await matcher.pool.tutor(tutor.id)
    if state is None:
        raise TutorUnavailable(f"{tutor.real_name} is not on duty now", suggestions=await suggestions(matcher, preview))
    if state.state == TutorState.IN_SESSION:
        raise TutorBusy(f"{tutor.real_name} is tutoring someone else now", suggestions=await suggestions(matcher, preview))
    if body.subject not in state.card.subjects or preview.band not in state.card.bands:
        raise TutorUnavailable(f"{tutor.real_name} does not tutor this subject for your grade")


async def cancel_request(db: AsyncSession, matcher: Matcher, student: User, request_id: int) -> HelpRequest:
    req = await requests.cancel(db, student, request_id)
    after_commit(db, lambda: _cancel_in_pool(matcher, request_id))
    return req


async def _cancel_in_pool(matcher: Matcher, request_id: int) -> None:
    if not await matcher.cancel(request_id):
        # Lost a race with an accept whose database write then failed: undo that claim too.
        st = await matcher.pool.request(request_id)
        if st is not None and st.tutor is not None:
            await matcher.release(request_id, st.tutor)


async def accept_offer(db: AsyncSession, matcher: Matcher, tutor: User, request_id: int) -> TutoringSession:
    result = await matcher.accept(request_id, tutor.id)
    if not result.ok:
        raise {"taken": AlreadyTaken("another tutor has already taken this request"),
               "gone": RequestGone("the student cancelled, or the request expired"),
               "busy": TutorBusy("you are in a session already"),
               }.get(result.outcome, NoOffer("this request is not ringing for you"))
    on_rollback(db, lambda: matcher.release(request_id, tutor.id))
    req = await db.get(HelpRequest, request_id)
    done = await db.execute(update(HelpRequest).where(HelpRequest.id == request_id, HelpRequest.status == "open")
                            .values(status="matched", closed_at=utcnow(), close_reason="matched"))
    if req is None or done.rowcount != 1:
        raise RequestGone("the student cancelled this request")
    session = TutoringSession(request_id=request_id, student_id=req.student_id, tutor_id=tutor.id,
                              subject_code=req.subject_code, state="matched",
                              matched_at=ts(matcher.clock.now()))
    db.add(session)
    await db.flush()

    async def announce() -> None:
        data = {"request_id": request_id, "session_id": session.id}
        await matcher.sink.publish(Event(req.student_id, "matched", {**data, "tutor_id": tutor.id,
                                                                     "tutor_name": tutor.real_name}))
        await matcher.sink.publish(Event(tutor.id, "matched", {**data, "student_id": req.student_id}))

    after_commit(db, announce)
    return session


async def go_on_duty(db: AsyncSession, matcher: Matcher, tutor: User) -> None:
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None or profile.status != "approved":
        raise NotApproved("only tutors approved at school, district and city level may go on duty",
                          status=profile.status if profile else None)
    card = await tutor_card(db, tutor)
    if not card.bands or not card.subjects:
        raise InvalidState("your profile has no subjects or grade bands")
    await matcher.go_on_duty(card)


async def request_to_question(db: AsyncSession, settings: Any, matcher: Matcher, events: Any, student: User,
                              request_id: int) -> HelpRequest:
    """Keep an unanswered request as a Q&A question (refused outside hours, expired, or
    cancelled while waiting; an open request is cancelled first). Tutors on duty hear of it."""
    req = await requests.get_own(db, student, request_id)
    if req.status == "open":
        req = await cancel_request(db, matcher, student, request_id)
    if req.status not in ("refused", "expired", "cancelled", "converted"):
        raise InvalidState(f"the request is {req.status}", status=req.status)
    await qa.from_request(db, settings, student, req, ts(matcher.clock.now()), events, matcher.pool)
    return req


class ExpiryHooks:
    """Matching tells the database when a request expires without a tutor."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def request_expired(self, request_id: int) -> None:
        async with self.sessionmaker() as db:
            await db.execute(update(HelpRequest).where(HelpRequest.id == request_id, HelpRequest.status == "open")
                             .values(status="expired", close_reason="no_tutor_in_time",
                                     closed_at=utcnow()))
            await db.commit()
