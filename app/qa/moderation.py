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
from app.models import (
    Answer,
    ApplicationStatus,
    QaReply,
    QaReport,
    Question,
    QuestionKnowledgePoint,
    QuestionStatus,
    ReportStatus,
    TutorExpertise,
    TutorProfile,
    TutorSubject,
    User,
    UserStatus,
)

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
    row = QaReport(
        question_id=q.id,
        answer_id=body.answer_id,
        reply_id=body.reply_id,
        reporter_id=user.id,
        reason=body.reason,
        status=ReportStatus.OPEN,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return row


async def target_of(db: AsyncSession, r: QaReport) -> tuple[Question | Answer | QaReply, int]:
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
    """The report as its reporter sees it: the excerpt is the text as everyone sees it (masked)."""
    target, _ = await target_of(db, r)
    return ReportOut(
        id=r.id,
        question_id=r.question_id,
        answer_id=r.answer_id,
        reply_id=r.reply_id,
        reporter_id=r.reporter_id,
        reason=r.reason,
        status=r.status,
        note=r.note,
        excerpt=target.text[:200],
        created_at=r.created_at,
    )


async def reports(db: AsyncSession, admin: User, status: str, limit: int) -> list[QaReport]:
    """Q&A reports on questions of students in the admin's scope, oldest first (the admins'
    review desk, app/safety, lists them beside the session reports)."""
    rows = (
        await db.execute(
            select(QaReport)
            .join(Question, Question.id == QaReport.question_id)
            .where(QaReport.status == status, visible(admin))
            .order_by(QaReport.id)
            .limit(limit)
        )
    ).scalars()
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
    """dismiss; hide what was reported; suspend (hide, and suspend its author); or restore: a
    report acted on whose item is hidden is reconsidered — the item is shown again and the report
    counts as dismissed (a suspension stays: accounts are reinstated in the account desk)."""
    r = await db.get(QaReport, report_id)
    if r is None:
        raise NotFound(f"no report {report_id}")
    q = await db.get(Question, r.question_id)
    assert q is not None
    if not await in_admin_scope(db, admin, q.student_id):
        raise Forbidden("this report is outside your scope")
    target, author_id = await target_of(db, r)
    if action == "restore":
        if r.status != ReportStatus.ACTIONED or target.hidden_at is None:
            raise InvalidState("only a report acted on, whose item is hidden, can be restored", status=r.status)
        _unhide(target)
        r.status = ReportStatus.DISMISSED
    elif r.status != ReportStatus.OPEN:
        raise InvalidState(f"the report is already {r.status}", status=r.status)
    elif action == "dismiss":
        r.status = ReportStatus.DISMISSED
    else:
        await _hide(target, admin, note, now)
        if action == "suspend":
            author = await db.get(User, author_id)
            assert author is not None
            author.status, author.suspended_reason = UserStatus.SUSPENDED, note
            await sign_out_everywhere(db, author.id)
        r.status = ReportStatus.ACTIONED
    r.decided_by, r.note = admin.id, note
    await db.flush()
    await search.reindex(db, q.id)
    return r


def _unhide(target: Question | Answer | QaReply) -> None:
    target.hidden_at, target.hidden_reason = None, None
    if not isinstance(target, QaReply):
        target.hidden_by = None


async def backlog(db: AsyncSession, admin: User, limit: int) -> list[Question]:
    """Escalated questions still without an answer, oldest first, in the admin's scope."""
    return list(
        (
            await db.execute(
                select(Question)
                .where(
                    Question.status == QuestionStatus.OPEN,
                    Question.answer_count == 0,
                    Question.escalated_at.is_not(None),
                    Question.hidden_at.is_(None),
                    visible(admin),
                )
                .order_by(Question.created_at)
                .limit(limit)
            )
        ).scalars()
    )


async def escalate(db: AsyncSession, settings: Settings, now: datetime, events: Any = None, limit: int = 100) -> int:
    """Questions unanswered for `qa_escalate_after_s` are announced to up to
    `qa_escalate_fanout` approved tutors of their subject and band, experts in their knowledge
    points first, whether on duty or not; they then appear in the admins' backlog."""
    due = (
        (
            await db.execute(
                select(Question)
                .where(
                    Question.status == QuestionStatus.OPEN,
                    Question.answer_count == 0,
                    Question.escalated_at.is_(None),
                    Question.hidden_at.is_(None),
                    Question.created_at <= now - timedelta(seconds=settings.qa_escalate_after_s),
                )
                .order_by(Question.created_at)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    for q in due:
        done = await db.execute(update(Question).where(Question.id == q.id, Question.escalated_at.is_(None)).values(escalated_at=now))
        if rowcount(done) != 1:
            continue
        band = TutorProfile.teaches_senior if q.band == "senior" else TutorProfile.teaches_junior
        kps = select(QuestionKnowledgePoint.knowledge_point_id).where(QuestionKnowledgePoint.question_id == q.id)
        expert = (
            select(TutorExpertise.user_id).where(TutorExpertise.user_id == TutorProfile.user_id, TutorExpertise.knowledge_point_id.in_(kps)).exists()
        )
        tutors = (
            await db.execute(
                select(TutorProfile.user_id)
                .join(TutorSubject, TutorSubject.user_id == TutorProfile.user_id)
                .join(User, User.id == TutorProfile.user_id)
                .where(
                    TutorProfile.status == ApplicationStatus.APPROVED,
                    band.is_(True),
                    User.status == UserStatus.ACTIVE,
                    TutorSubject.subject_code == q.subject_code,
                )
                .order_by(expert.desc(), TutorProfile.user_id)
                .limit(settings.qa_escalate_fanout)
            )
        ).scalars()
        await notify(db, events, list(tutors), "qa_escalated", q.id, now, subject=q.subject_code, text=q.text[:80])
    return len(due)
