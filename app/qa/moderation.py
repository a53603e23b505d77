"""Minors' safety and the backlog: reports on questions, answers and replies (reviewed by the
admins of the asker's school, district or city, beside the session reports), hiding with a
reason, and the escalation of questions nobody has answered."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import sign_out_everywhere
from app.config import Settings
from app.kit.db import rowcount
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound
from app.models import Answer, QaReply, QaReport, Question, QuestionKnowledgePoint, TutorExpertise, TutorProfile, TutorSubject, User

from . import search
from .notices import notify
from .schemas import ReportCreate, ReportOut
from .service import in_admin_scope, readable, visible


async def report(db: AsyncSession, user: User, question_id: int, body: ReportCreate, now: datetime) -> QaReport:
    q = await readable(db, user, question_id)
    if body.answer_id is not None:
        a = await db.get(Answer, body.answer_id)
        if a is None or a.question_id != q.id:
            raise InvalidInput("that answer is not under this question", field="answer_id")
    if body.reply_id is not None:
        r = await db.get(QaReply, body.reply_id)
        a = await db.get(Answer, r.answer_id) if r is not None else None
        if r is None or a is None or a.question_id != q.id:
            raise InvalidInput("that reply is not under this question", field="reply_id")
    row = QaReport(question_id=q.id, answer_id=body.answer_id, reply_id=body.reply_id, reporter_id=user.id,
                   reason=body.reason, status="open", created_at=now)
    db.add(row)
    await db.flush()
    return row


async def _target(db: AsyncSession, r: QaReport) -> tuple[Question | Answer | QaReply, int]:
    """What was reported and who wrote it."""
    if r.reply_id is not None:
        reply = await db.get(QaReply, r.reply_id)
        assert reply is not None
        return reply, reply.author_id
    if r.answer_id is not None:
        a = await db.get(Answer, r.answer_id)
        assert a is not None
        return a, a.tutor_id
    q = await db.get(Question, r.question_id)
    assert q is not None
    return q, q.student_id


async def report_out(db: AsyncSession, r: QaReport) -> ReportOut:
    target, _ = await _target(db, r)
    return ReportOut(id=r.id, question_id=r.question_id, answer_id=r.answer_id, reply_id=r.reply_id,
                     reporter_id=r.reporter_id, reason=r.reason, status=r.status, note=r.note,
                     excerpt=(target.raw or target.text)[:200], created_at=r.created_at)


async def reports(db: AsyncSession, admin: User, status: str, limit: int) -> list[QaReport]:
    rows = (await db.execute(select(QaReport).join(Question, Question.id == QaReport.question_id)
                             .where(QaReport.status == status, visible(admin)).order_by(QaReport.id).limit(limit))).scalars()
    return list(rows)


async def _hide(target: Question | Answer | QaReply, admin: User, reason: str, now: datetime) -> None:
    target.hidden_at, target.hidden_reason = now, reason
    if not isinstance(target, QaReply):
        target.hidden_by = admin.id


async def hide(db: AsyncSession, admin: User, kind: str, target_id: int, reason: str, now: datetime) -> Question:
    """Hide a question or an answer with a reason (its author still sees it, with the reason)."""
    target: Question | Answer | None = await db.get(Question if kind == "question" else Answer, target_id)
    if target is None:
        raise NotFound(f"no {kind} {target_id}")
    q = target if isinstance(target, Question) else await db.get(Question, target.question_id)
    assert q is not None
    if not await in_admin_scope(db, admin, q.student_id):
        raise Forbidden("this question is outside your scope")
    await _hide(target, admin, reason, now)
    await db.flush()
    await search.reindex(db, q.id)
    return q


async def decide(db: AsyncSession, admin: User, report_id: int, action: str, note: str, now: datetime) -> QaReport:
    r = await db.get(QaReport, report_id)
    if r is None:
        raise NotFound(f"no report {report_id}")
    q = await db.get(Question, r.question_id)
    assert q is not None
    if not await in_admin_scope(db, admin, q.student_id):
        raise Forbidden("this report is outside your scope")
    if r.status != "open":
        raise InvalidState(f"the report is already {r.status}", status=r.status)
    if action == "dismiss":
        r.status = "dismissed"
    else:
        target, author_id = await _target(db, r)
        await _hide(target, admin, note, now)
        if action == "suspend":
            author = await db.get(User, author_id)
            assert author is not None
            author.status, author.suspended_reason = "suspended", note
            await sign_out_everywhere(db, author.id)
        r.status = "actioned"
    r.decided_by, r.note = admin.id, note
    await db.flush()
    await search.reindex(db, q.id)
    return r


async def backlog(db: AsyncSession, admin: User, limit: int) -> list[Question]:
    """Escalated questions still without an answer, oldest first, in the admin's scope."""
    return list((await db.execute(select(Question).where(
        Question.status == "open", Question.answer_count == 0, Question.escalated_at.is_not(None),
        Question.hidden_at.is_(None), visible(admin)).order_by(Question.created_at).limit(limit))).scalars())


async def escalate(db: AsyncSession, settings: Settings, now: datetime, events: Any = None, limit: int = 100) -> int:
    """Questions unanswered for `qa_escalate_after_s` are announced to up to
    `qa_escalate_fanout` approved tutors of their subject and band, experts in their knowledge
    points first, whether on duty or not; they then appear in the admins' backlog."""
    due = (await db.execute(select(Question).where(
        Question.status == "open", Question.answer_count == 0, Question.escalated_at.is_(None),
        Question.hidden_at.is_(None), Question.created_at <= now - timedelta(seconds=settings.qa_escalate_after_s))
        .order_by(Question.created_at).limit(limit))).scalars().all()
    for q in due:
        done = await db.execute(update(Question).where(Question.id == q.id, Question.escalated_at.is_(None))
                                .values(escalated_at=now))
        if rowcount(done) != 1:
            continue
        band = TutorProfile.teaches_senior if q.band == "senior" else TutorProfile.teaches_junior
        kps = select(QuestionKnowledgePoint.knowledge_point_id).where(QuestionKnowledgePoint.question_id == q.id)
        expert = (select(TutorExpertise.user_id).where(TutorExpertise.user_id == TutorProfile.user_id,
                                                       TutorExpertise.knowledge_point_id.in_(kps)).exists())
        tutors = (await db.execute(select(TutorProfile.user_id).join(TutorSubject, TutorSubject.user_id == TutorProfile.user_id)
                                   .join(User, User.id == TutorProfile.user_id)
                                   .where(TutorProfile.status == "approved", band.is_(True), User.status == "active",
                                          TutorSubject.subject_code == q.subject_code)
                                   .order_by(expert.desc(), TutorProfile.user_id).limit(settings.qa_escalate_fanout))).scalars()
        await notify(db, events, list(tutors), "qa_escalated", q.id, now, subject=q.subject_code, text=q.text[:80])
    return len(due)
