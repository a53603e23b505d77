"""The Q&A centre (问答中心): students ask, tutors answer, students follow up and accept."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Query, Response

from app.accounts.deps import Admin, CurrentUser, Student, Tutor
from app.kit.clock import Clock, ClockDep, now_dt, ts
from app.kit.db import DB
from app.kit.deps import EventsDep, PoolDep, SettingsDep
from app.kit.errors import Forbidden
from app.models import Role, User

from . import moderation, notices, service, views
from .schemas import (
    AcceptBody,
    AnswerCreate,
    AnswerOut,
    HideBody,
    NotificationsOut,
    QuestionCreate,
    QuestionOut,
    RateBody,
    ReadBody,
    ReplyCreate,
    ReplyOut,
    ReportCreate,
    ReportOut,
    SearchOut,
)

router = APIRouter(prefix="/api/qa", tags=["Q&A centre"])


async def _one(db: DB, viewer: User, question_id: int, clock: Clock) -> QuestionOut:
    q = await service.readable(db, viewer, question_id)
    return (await views.questions_out(db, viewer, [q], now_dt(clock), with_answers=True))[0]


@router.post("/questions", response_model=QuestionOut, status_code=201)
async def ask(
    body: QuestionCreate, clock: ClockDep, settings: SettingsDep, events: EventsDep, pool: PoolDep, student: Student, db: DB
) -> QuestionOut:
    """Post a question (text masked for contact details; up to 3 photos from POST /api/images).
    Free tutors on duty in its subject and band are told at once."""
    q = await service.ask(db, settings, student, body, now_dt(clock), events, pool)
    return await _one(db, student, q.id, clock)


@router.get("/questions/mine", response_model=list[QuestionOut])
async def mine(clock: ClockDep, student: Student, db: DB, limit: int = Query(50, ge=1, le=200), before_id: int | None = None) -> list[QuestionOut]:
    """The student's questions, newest first, converted help requests included."""
    return await views.questions_out(db, student, await service.mine(db, student, limit, before_id), now_dt(clock))


@router.get("/questions/similar", response_model=list[QuestionOut])
async def similar(
    clock: ClockDep,
    user: CurrentUser,
    db: DB,
    subject: str = Query(..., max_length=16),
    text: str = Query("", max_length=2000),
    knowledge_point_ids: list[int] = Query([]),
    limit: int = Query(5, ge=1, le=20),
) -> list[QuestionOut]:
    """Answered questions like the one being written (same knowledge points, similar words),
    shown before posting, with their answers."""
    found = await service.similar(db, user, subject, text, knowledge_point_ids[:10], limit)
    return await views.questions_out(db, user, found, now_dt(clock), with_answers=True)


@router.get("/questions/{question_id}", response_model=QuestionOut)
async def read(question_id: int, clock: ClockDep, user: CurrentUser, db: DB) -> QuestionOut:
    return await _one(db, user, question_id, clock)


@router.post("/questions/{question_id}/close", response_model=QuestionOut)
async def close(question_id: int, clock: ClockDep, student: Student, db: DB) -> QuestionOut:
    await service.close(db, student, question_id, now_dt(clock))
    return await _one(db, student, question_id, clock)


@router.get("/feed", response_model=list[QuestionOut])
async def feed(
    clock: ClockDep,
    tutor: Tutor,
    db: DB,
    knowledge_point_id: int | None = None,
    limit: int = Query(30, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10000),
) -> list[QuestionOut]:
    """Open questions in the tutor's subjects and grade bands, unanswered first, oldest first."""
    now = now_dt(clock)
    found, known = await service.feed(db, tutor, now, knowledge_point_id, limit, offset)
    return await views.questions_out(db, tutor, found, now, known=known)


@router.post(
    "/questions/{question_id}/claim",
    response_model=QuestionOut,
    responses={409: {"description": "AlreadyClaimed: another tutor is answering it (until `until`)"}},
)
async def claim(question_id: int, clock: ClockDep, settings: SettingsDep, tutor: Tutor, db: DB) -> QuestionOut:
    """ "I'm answering": other tutors see the question taken until the claim expires."""
    await service.claim(db, settings, tutor, question_id, now_dt(clock))
    return await _one(db, tutor, question_id, clock)


@router.delete("/questions/{question_id}/claim", response_model=QuestionOut)
async def unclaim(question_id: int, clock: ClockDep, tutor: Tutor, db: DB) -> QuestionOut:
    await service.unclaim(db, tutor, question_id)
    return await _one(db, tutor, question_id, clock)


@router.post("/questions/{question_id}/answers", response_model=AnswerOut, status_code=201)
async def answer(question_id: int, body: AnswerCreate, clock: ClockDep, settings: SettingsDep, events: EventsDep, tutor: Tutor, db: DB) -> AnswerOut:
    a = await service.answer(db, settings, tutor, question_id, body, now_dt(clock), events)
    return views.answer_out(a, tutor.real_name, await views.answer_images(db, a.id))


@router.put("/answers/{answer_id}", response_model=AnswerOut)
async def edit(answer_id: int, body: AnswerCreate, clock: ClockDep, settings: SettingsDep, tutor: Tutor, db: DB) -> AnswerOut:
    """Edit one's answer (text and photos) until it is accepted."""
    a = await service.edit(db, settings, tutor, answer_id, body, now_dt(clock))
    return views.answer_out(a, tutor.real_name, await views.answer_images(db, a.id))


@router.post("/answers/{answer_id}/replies", response_model=ReplyOut, status_code=201)
async def reply(answer_id: int, body: ReplyCreate, clock: ClockDep, events: EventsDep, user: CurrentUser, db: DB) -> ReplyOut:
    """A follow-up (追问) by the asker, or the answering tutor's reply."""
    r = await service.reply(db, user, answer_id, body.text, now_dt(clock), events)
    return ReplyOut(
        id=r.id,
        answer_id=r.answer_id,
        author_id=r.author_id,
        role=Role.STUDENT if user.role == Role.STUDENT else Role.TUTOR,
        text=r.text,
        hidden=False,
        created_at=r.created_at,
    )


@router.post("/answers/{answer_id}/accept", response_model=QuestionOut)
async def accept(
    answer_id: int, body: AcceptBody, clock: ClockDep, settings: SettingsDep, events: EventsDep, student: Student, db: DB
) -> QuestionOut:
    """Accept one answer (optionally rated 1–5): the question is resolved and the tutor's points booked."""
    q = await service.accept(db, settings, student, answer_id, body.rating, now_dt(clock), events)
    return await _one(db, student, q.id, clock)


@router.post("/answers/{answer_id}/rate", response_model=QuestionOut)
async def rate(answer_id: int, body: RateBody, clock: ClockDep, student: Student, db: DB) -> QuestionOut:
    a = await service.rate(db, student, answer_id, body.rating)
    return await _one(db, student, a.question_id, clock)


@router.get("/search", response_model=SearchOut)
async def search(
    clock: ClockDep,
    user: CurrentUser,
    db: DB,
    q: str = Query(..., min_length=1, max_length=200),
    subject: str | None = Query(None, max_length=16),
    limit: int = Query(20, ge=1, le=50),
) -> SearchOut:
    """Questions (and their answers, knowledge points, subject) holding every word of `q`;
    Chinese is matched by any two adjacent characters. Only what the searcher may read."""
    words, found, known = await service.run_search(db, user, q, subject, limit)
    return SearchOut(query_terms=words, results=await views.questions_out(db, user, found, now_dt(clock), known=known))


@router.get("/images/{image_id}", response_class=Response)
async def image(image_id: str, user: CurrentUser, db: DB) -> Response:
    img = await views.readable_image(db, user, image_id)
    return Response(img.data, media_type=img.content_type, headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})


@router.get("/notifications", response_model=NotificationsOut)
async def notifications(user: CurrentUser, db: DB, limit: int = Query(30, ge=1, le=200)) -> NotificationsOut:
    """The unread count and the latest notifications (each also arrives on the event stream)."""
    return await notices.listing(db, user, limit)


@router.post("/notifications/read", response_model=NotificationsOut)
async def read_notifications(body: ReadBody, clock: ClockDep, user: CurrentUser, db: DB) -> NotificationsOut:
    await notices.mark_read(db, user, body.up_to_id, now_dt(clock))
    return await notices.listing(db, user, 30)


# ---- safety and moderation -------------------------------------------------------------------


@router.post("/questions/{question_id}/reports", response_model=ReportOut, status_code=201)
async def report(question_id: int, body: ReportCreate, clock: ClockDep, user: CurrentUser, db: DB) -> ReportOut:
    """Report a question, or an answer or reply under it, to the admins (who review it in the one
    list of reports, `GET /api/reports`, beside the session reports)."""
    if user.is_admin:
        raise Forbidden("admins hide content directly")
    return await moderation.report_out(db, await moderation.report(db, user, question_id, body, now_dt(clock)))


@router.post("/questions/{question_id}/hide", response_model=QuestionOut)
async def hide_question(question_id: int, body: HideBody, clock: ClockDep, admin: Admin, db: DB) -> QuestionOut:
    await moderation.hide(db, admin, "question", question_id, body.reason, now_dt(clock))
    return await _one(db, admin, question_id, clock)


@router.post("/answers/{answer_id}/hide", response_model=QuestionOut)
async def hide_answer(answer_id: int, body: HideBody, clock: ClockDep, admin: Admin, db: DB) -> QuestionOut:
    q = await moderation.hide(db, admin, "answer", answer_id, body.reason, now_dt(clock))
    return await _one(db, admin, q.id, clock)


@router.get("/backlog", response_model=list[QuestionOut])
async def backlog(clock: ClockDep, admin: Admin, db: DB, limit: int = Query(100, ge=1, le=500)) -> list[QuestionOut]:
    """Escalated questions that still have no answer, oldest first."""
    return await views.questions_out(db, admin, await moderation.backlog(db, admin, limit), now_dt(clock))


async def run_escalation(app: FastAPI) -> None:
    """The periodic pass (app.main's timers)."""
    async with app.state.sessionmaker() as db:
        await moderation.escalate(db, app.state.settings, ts(app.state.clock.now()), app.state.events)
        after = db.info.pop("after_commit", [])
        await db.commit()
    for callback in after:
        await callback()
