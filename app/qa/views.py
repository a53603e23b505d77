"""Questions, answers and replies as their readers may see them: students appear by grade only
(they are minors); text masked for contact details (admins may read what was typed in the
report excerpts); hidden items kept from everyone but their author and the admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import Forbidden, NotFound
from app.models import Answer, Image, QaImage, QaReply, Question, QuestionKnowledgePoint, Role, User
from app.models.base import UTCDateTime

from .schemas import AnswerOut, ImageRef, QuestionOut, ReplyOut
from .service import Known, readable


async def questions_out(
    db: AsyncSession, viewer: User, qs: Sequence[Question], now: datetime, with_answers: bool = False, known: Known | None = None
) -> list[QuestionOut]:
    """Cost: nothing more for a list read with `listing_columns` (`known`) but the pictures of
    those that have some; otherwise one query for the knowledge points and pictures together and
    one for the askers' grades; two more `with_answers`."""
    ids = [q.id for q in qs]
    kps: dict[int, list[int]] = {i: [] for i in ids}
    q_imgs: dict[int, list[ImageRef]] = {i: [] for i in ids}
    a_imgs: dict[int, list[ImageRef]] = {}
    grades: dict[int, int | None] = {}
    if known is not None and not with_answers:
        grades, kps = known.grades, {i: known.kps.get(i, []) for i in ids}
        pictured = [i for i in ids if i in known.pictured]
        if pictured:
            for qid, img_id, width, height in (
                await db.execute(
                    select(QaImage.question_id, Image.id, Image.width, Image.height)
                    .join(Image, Image.id == QaImage.image_id)
                    .where(QaImage.question_id.in_(pictured), QaImage.answer_id.is_(None))
                    .order_by(Image.created_at, Image.id)
                )
            ).all():
                q_imgs[qid].append(ImageRef(id=img_id, url=f"/api/qa/images/{img_id}", width=width, height=height))
    elif ids:
        # The pictures' sizes only, never their bytes; tag rows carry the knowledge point, picture rows the image.
        tags = select(
            QuestionKnowledgePoint.question_id,
            null().cast(Integer).label("answer_id"),
            QuestionKnowledgePoint.knowledge_point_id.label("kp"),
            null().cast(String).label("image_id"),
            null().cast(Integer).label("width"),
            null().cast(Integer).label("height"),
            null().cast(UTCDateTime).label("at"),
        ).where(QuestionKnowledgePoint.question_id.in_(ids))
        pictures = (
            select(QaImage.question_id, QaImage.answer_id, null().cast(Integer), Image.id, Image.width, Image.height, Image.created_at)
            .join(Image, Image.id == QaImage.image_id)
            .where(QaImage.question_id.in_(ids))
        )
        rows: Sequence[Any] = (await db.execute(union_all(tags, pictures))).all()
        for qid, aid, kp, img_id, width, height, _ in sorted(rows, key=lambda r: (r[6] is None, r[6] or now, r[3] or "")):
            if kp is not None:
                kps[qid].append(kp)
            else:
                ref = ImageRef(id=img_id, url=f"/api/qa/images/{img_id}", width=width, height=height)
                (a_imgs.setdefault(aid, []) if aid else q_imgs[qid]).append(ref)
        students = {q.student_id for q in qs}
        grades = dict((await db.execute(select(User.id, User.grade).where(User.id.in_(students)))).all())
    answers: dict[int, list[AnswerOut]] = {}
    if with_answers and ids:
        answers = await _answers(db, viewer, qs, a_imgs)
    admin = viewer.is_admin
    out = []
    for q in qs:
        claimed = q.claimed_by if q.claimed_until is not None and q.claimed_until > now else None
        out.append(
            QuestionOut(
                id=q.id,
                subject=q.subject_code,
                text=q.text,
                knowledge_point_ids=sorted(kps[q.id]),
                images=q_imgs[q.id],
                status=q.status,
                band=q.band,
                grade=grades.get(q.student_id),
                mine=q.student_id == viewer.id,
                answer_count=q.answer_count,
                accepted_answer_id=q.accepted_answer_id,
                claimed_by=claimed,
                claimed_until=q.claimed_until if claimed else None,
                escalated=q.escalated_at is not None,
                flagged=q.flagged,
                hidden=q.hidden_at is not None,
                hidden_reason=q.hidden_reason if (admin or q.student_id == viewer.id) else None,
                source_request_id=q.source_request_id,
                created_at=q.created_at,
                closed_at=q.closed_at,
                answers=answers.get(q.id, []) if with_answers else None,
            )
        )
    return out


async def _answers(db: AsyncSession, viewer: User, qs: Sequence[Question], imgs: dict[int, list[ImageRef]]) -> dict[int, list[AnswerOut]]:
    askers = {q.id: q.student_id for q in qs}
    admin = viewer.is_admin
    rows = (
        await db.execute(
            select(Answer, User.real_name)
            .join(User, User.id == Answer.tutor_id)
            .where(Answer.question_id.in_(list(askers)))
            .order_by(Answer.created_at, Answer.id)
        )
    ).all()
    shown = [(a, name) for a, name in rows if a.hidden_at is None or admin or a.tutor_id == viewer.id]
    replies: dict[int, list[ReplyOut]] = {a.id: [] for a, _ in shown}
    question_of = {a.id: a.question_id for a, _ in shown}
    if replies:
        for r in (await db.execute(select(QaReply).where(QaReply.answer_id.in_(list(replies))).order_by(QaReply.created_at, QaReply.id))).scalars():
            if r.hidden_at is None or admin or r.author_id == viewer.id:
                replies[r.answer_id].append(
                    ReplyOut(
                        id=r.id,
                        answer_id=r.answer_id,
                        author_id=r.author_id,
                        role=Role.STUDENT if r.author_id == askers[question_of[r.answer_id]] else Role.TUTOR,
                        text=r.text,
                        hidden=r.hidden_at is not None,
                        created_at=r.created_at,
                    )
                )
    out: dict[int, list[AnswerOut]] = {}
    for a, name in shown:
        out.setdefault(a.question_id, []).append(
            AnswerOut(
                id=a.id,
                question_id=a.question_id,
                tutor_id=a.tutor_id,
                tutor_name=name,
                text=a.text,
                images=imgs.get(a.id, []),
                accepted=a.accepted_at is not None,
                rating=a.rating,
                flagged=a.flagged,
                hidden=a.hidden_at is not None,
                hidden_reason=a.hidden_reason if (admin or a.tutor_id == viewer.id) else None,
                created_at=a.created_at,
                updated_at=a.updated_at,
                replies=replies[a.id],
            )
        )
    return out


def answer_out(a: Answer, name: str, imgs: list[ImageRef]) -> AnswerOut:
    return AnswerOut(
        id=a.id,
        question_id=a.question_id,
        tutor_id=a.tutor_id,
        tutor_name=name,
        text=a.text,
        images=imgs,
        accepted=a.accepted_at is not None,
        rating=a.rating,
        flagged=a.flagged,
        hidden=a.hidden_at is not None,
        hidden_reason=a.hidden_reason,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


async def answer_images(db: AsyncSession, answer_id: int) -> list[ImageRef]:
    return [
        ImageRef(id=i, url=f"/api/qa/images/{i}", width=w, height=hgt)
        for i, w, hgt in (
            await db.execute(
                select(Image.id, Image.width, Image.height)
                .join(QaImage, QaImage.image_id == Image.id)
                .where(QaImage.answer_id == answer_id)
                .order_by(Image.created_at, Image.id)
            )
        ).all()
    ]


async def readable_image(db: AsyncSession, viewer: User, image_id: str) -> Image:
    """A Q&A picture is readable by whoever may read its question (and its answer, if hidden)."""
    link = await db.get(QaImage, image_id)
    img = await db.get(Image, image_id)
    if link is None or img is None:
        raise NotFound("no such image")
    await readable(db, viewer, link.question_id)
    if link.answer_id is not None:
        a = await db.get(Answer, link.answer_id)
        if a is not None and a.hidden_at is not None and not (viewer.is_admin or a.tutor_id == viewer.id):
            raise Forbidden("this answer was hidden by a moderator")
    return img
