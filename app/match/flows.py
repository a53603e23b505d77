"""Work that crosses domains: a tutor going on duty, a tutor's accept becoming a session
record, a request expiring unanswered. (Filing, choosing and cancelling a request are the
student's side and live in `app/helprequests/flows.py`, which imports this module, never the
reverse.) Pool state changes happen inside the request; the events that announce a
database change go out only after the commit (app.kit.db.after_commit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.kit.clock import Clock, ts
from app.kit.db import after_commit, on_rollback, rowcount
from app.kit.errors import AppError, InvalidState, error_type
from app.models import ApplicationStatus, HelpRequest, RequestStatus, SessionState, TutoringSession, TutorProfile, User, request_transition
from matching import Event, Matcher, RequestSpec

from .service import served_tonight, tutor_card

TutorBusy = error_type("TutorBusy", 409)
AlreadyTaken = error_type("AlreadyTaken", 409)
NoOffer = error_type("NoOffer", 409)
RequestGone = error_type("RequestGone", 409)
NotApproved = error_type("NotApproved", 403)


class OutsideServiceWindow(AppError):
    status_code, code = 409, "OutsideServiceWindow"


async def suggestions(matcher: Matcher, spec: RequestSpec, limit: int = 5) -> list[dict[str, Any]]:
    return [{"id": r.status.card.id, "name": r.status.card.name, "school": r.status.card.school} for r in await matcher.recommend(spec, limit)]


async def withdraw_from_pool(matcher: Matcher, request_id: int) -> None:
    """A request cancelled in the database leaves the pool (after the commit)."""
    if not await matcher.cancel(request_id):
        # Lost a race with an accept whose database write then failed: undo that claim too.
        st = await matcher.pool.request(request_id)
        if st is not None and st.tutor is not None:
            await matcher.release(request_id, st.tutor)


async def accept_offer(db: AsyncSession, matcher: Matcher, clock: Clock, tutor: User, request_id: int) -> TutoringSession:
    result = await matcher.accept(request_id, tutor.id)
    if not result.ok:
        raise {
            "taken": AlreadyTaken("another tutor has already taken this request"),
            "gone": RequestGone("the student cancelled, or the request expired"),
            "busy": TutorBusy("you are in a session already"),
        }.get(result.outcome, NoOffer("this request is not ringing for you"))
    on_rollback(db, lambda: matcher.release(request_id, tutor.id))
    req = await db.get(HelpRequest, request_id)
    now = ts(clock.now())
    done = await db.execute(request_transition(request_id, RequestStatus.MATCHED, closed_at=now, close_reason="matched"))
    if req is None or rowcount(done) != 1:
        raise RequestGone("the student cancelled this request")
    session = TutoringSession(
        request_id=request_id, student_id=req.student_id, tutor_id=tutor.id, subject_code=req.subject_code, state=SessionState.MATCHED, matched_at=now
    )
    db.add(session)
    await db.flush()

    async def announce() -> None:
        data = {"request_id": request_id, "session_id": session.id}
        await matcher.sink.publish(Event(req.student_id, "matched", {**data, "tutor_id": tutor.id, "tutor_name": tutor.real_name}))
        await matcher.sink.publish(Event(tutor.id, "matched", {**data, "student_id": req.student_id}))

    after_commit(db, announce)
    return session


async def go_on_duty(db: AsyncSession, settings: Settings, matcher: Matcher, clock: Clock, tutor: User) -> None:
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None or profile.status != ApplicationStatus.APPROVED:
        raise NotApproved("only tutors approved at school, district and city level may go on duty", status=profile.status if profile else None)
    card = await tutor_card(db, tutor)
    if not card.bands or not card.subjects:
        raise InvalidState("your profile has no subjects or grade bands")
    await matcher.go_on_duty(card, await served_tonight(db, settings, tutor.id, clock.now()))


class ExpiryHooks:
    """Matching tells the database when a request expires without a tutor."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessionmaker, self.clock = sessionmaker, clock

    async def request_expired(self, request_id: int) -> bool:
        async with self.sessionmaker() as db:
            done = await db.execute(
                request_transition(request_id, RequestStatus.EXPIRED, close_reason="no_tutor_in_time", closed_at=ts(self.clock.now()))
            )
            await db.commit()
        return rowcount(done) == 1
