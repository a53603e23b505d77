"""Help-request intake: a student asks for live help in a subject, with up to 3 photos."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import user_in_scope
from app.kit.db import rowcount
from app.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.kit.images import CleanImage
from app.kit.safety import screen
from app.models import HelpRequest, HelpRequestKnowledgePoint, Image, QaImage, Question, RequestStatus, Role, SessionEvent, TutoringSession, User
from app.subjects.service import check_knowledge_points, check_subjects

from .schemas import HelpRequestCreate, HelpRequestOut, ImageOut


def image_out(img: Image) -> ImageOut:
    return ImageOut(id=img.id, content_type=img.content_type, width=img.width, height=img.height, size=img.size, url=f"/api/images/{img.id}")


async def store_image(db: AsyncSession, owner: User, clean: CleanImage) -> Image:
    img = Image(
        id=secrets.token_hex(16),
        owner_id=owner.id,
        content_type=clean.content_type,
        width=clean.width,
        height=clean.height,
        size=len(clean.data),
        data=clean.data,
    )
    db.add(img)
    await db.flush()
    return img


async def readable_image(db: AsyncSession, viewer: User, image_id: str, ringing: frozenset[int] | set[int] = frozenset()) -> Image:
    """The owner; a tutor ringing for (`ringing`) or tutoring the image's request; an admin
    whose scope includes the owner."""
    img = await db.get(Image, image_id)
    if img is None:
        raise NotFound("no such image")
    if img.owner_id == viewer.id or (img.help_request_id is not None and img.help_request_id in ringing):
        return img
    # The tutor of the session that the request became may see its photos.
    if (
        viewer.role == Role.TUTOR
        and img.help_request_id is not None
        and (
            await db.execute(
                select(TutoringSession.id).where(TutoringSession.request_id == img.help_request_id, TutoringSession.tutor_id == viewer.id)
            )
        ).first()
    ):
        return img
    if await _shared_with(db, viewer, img):
        return img
    owner = await db.get(User, img.owner_id)
    if viewer.is_admin and owner is not None and await user_in_scope(db, viewer, owner):
        return img
    raise Forbidden("you may not see this image")


async def _shared_with(db: AsyncSession, viewer: User, img: Image) -> bool:
    """Shared by its owner in a session with `viewer` (the transcript records every image
    shared, by id; only the two participants' sessions are searched)."""
    mine = or_(TutoringSession.student_id == viewer.id, TutoringSession.tutor_id == viewer.id)
    theirs = or_(TutoringSession.student_id == img.owner_id, TutoringSession.tutor_id == img.owner_id)
    return (
        await db.execute(
            select(SessionEvent.id)
            .join(TutoringSession, TutoringSession.id == SessionEvent.session_id)
            .where(
                mine,
                theirs,
                SessionEvent.kind == "image",
                SessionEvent.sender_id == img.owner_id,
                SessionEvent.body.contains(f'"image_id":"{img.id}"', autoescape=True),
            )
            .limit(1)
        )
    ).first() is not None


async def readable(db: AsyncSession, viewer: User, request_id: int) -> HelpRequest:
    """The student who asked, and the tutor of the session it became (the question, its
    knowledge points and photos are what they talk about); nobody else."""
    req = await db.get(HelpRequest, request_id)
    if req is None:
        raise NotFound(f"no help request {request_id}")
    if req.student_id == viewer.id:
        return req
    if (
        viewer.role == Role.TUTOR
        and (await db.execute(select(TutoringSession.id).where(TutoringSession.request_id == req.id, TutoringSession.tutor_id == viewer.id))).first()
    ):
        return req
    raise Forbidden("this is not your help request")


async def create(db: AsyncSession, student: User, body: HelpRequestCreate, max_images: int) -> HelpRequest:
    await check_subjects(db, [body.subject])
    kps = await check_knowledge_points(db, body.knowledge_point_ids, [body.subject])
    if body.mode == "chosen" and body.tutor_id is None:
        raise InvalidInput("mode 'chosen' needs tutor_id", field="tutor_id")
    ids = list(dict.fromkeys(body.image_ids))
    if len(ids) > max_images:
        raise InvalidInput(f"at most {max_images} images per request", field="image_ids")
    images: Sequence[Image] = []
    if ids:
        images = (await db.execute(select(Image).where(Image.id.in_(ids)))).scalars().all()
        usable = {i.id for i in images if i.owner_id == student.id and i.help_request_id is None}
        missing = [i for i in ids if i not in usable]
        if missing:
            raise InvalidInput(f"image(s) {missing} are not your unused uploads", field="image_ids")
    # The text rings on tutors' desks with the offer: contact details are masked before it is stored.
    req = HelpRequest(
        student_id=student.id,
        subject_code=body.subject,
        text=screen(body.text.strip()).text,
        mode=body.mode,
        chosen_tutor_id=body.tutor_id if body.mode == "chosen" else None,
        status=RequestStatus.OPEN,
    )
    open_ = (
        await db.execute(select(HelpRequest.id).where(HelpRequest.student_id == student.id, HelpRequest.status == RequestStatus.OPEN).limit(1))
    ).scalar()
    if open_ is not None:
        raise Conflict("you already have an open help request; cancel it or wait for it first", request_id=open_)
    db.add(req)
    try:
        await db.flush()
    except IntegrityError:  # a concurrent request of the same student won (uq_help_requests_one_open)
        raise Conflict("you already have an open help request; cancel it or wait for it first") from None
    db.add_all([HelpRequestKnowledgePoint(request_id=req.id, knowledge_point_id=k) for k in kps])
    for img in images:
        img.help_request_id = req.id
    await db.flush()
    return req


async def get_own(db: AsyncSession, student: User, request_id: int) -> HelpRequest:
    req = await db.get(HelpRequest, request_id)
    if req is None:
        raise NotFound(f"no help request {request_id}")
    if req.student_id != student.id:
        raise Forbidden("this is not your help request")
    return req


async def list_own(db: AsyncSession, student: User, status: str | None, limit: int, before_id: int | None) -> list[HelpRequest]:
    query = select(HelpRequest).where(HelpRequest.student_id == student.id)
    if status:
        query = query.where(HelpRequest.status == status)
    if before_id:
        query = query.where(HelpRequest.id < before_id)
    return list((await db.execute(query.order_by(HelpRequest.id.desc()).limit(limit))).scalars())


async def to_out(db: AsyncSession, reqs: Sequence[HelpRequest]) -> list[HelpRequestOut]:
    ids = [r.id for r in reqs]
    kps: dict[int, list[int]] = {i: [] for i in ids}
    questions: dict[int, int] = {}
    imgs: dict[int, list[ImageOut]] = {i: [] for i in ids}
    if ids:
        for rid, kp in (
            await db.execute(
                select(HelpRequestKnowledgePoint.request_id, HelpRequestKnowledgePoint.knowledge_point_id).where(
                    HelpRequestKnowledgePoint.request_id.in_(ids)
                )
            )
        ).all():
            kps[rid].append(kp)
        for img in (await db.execute(select(Image).where(Image.help_request_id.in_(ids)).order_by(Image.created_at))).scalars():
            if img.help_request_id is not None:  # never None: selected by it
                imgs[img.help_request_id].append(image_out(img))
        questions = {
            rid: qid
            for rid, qid in (await db.execute(select(Question.source_request_id, Question.id).where(Question.source_request_id.in_(ids)))).all()
            if rid is not None
        }
    return [
        HelpRequestOut(
            id=r.id,
            student_id=r.student_id,
            subject=r.subject_code,
            text=r.text,
            knowledge_point_ids=sorted(kps[r.id]),
            images=imgs[r.id],
            mode=r.mode,
            tutor_id=r.chosen_tutor_id,
            status=r.status,
            close_reason=r.close_reason,
            wants_question=r.wants_question,
            created_at=r.created_at,
            closed_at=r.closed_at,
            question_id=questions.get(r.id),
        )
        for r in reqs
    ]


async def collect_unattached_images(db: AsyncSession, before: datetime) -> int:
    """Delete uploads older than `before` that never joined a help request nor were shown in a
    live session (an upload someone abandoned). One DELETE; it runs once an hour."""
    shown = select(SessionEvent.id).where(SessionEvent.kind == "image", SessionEvent.body.contains(Image.id))
    in_qa = select(QaImage.image_id).where(QaImage.image_id == Image.id)  # a Q&A question's or answer's photo
    result = await db.execute(
        delete(Image)
        .where(Image.help_request_id.is_(None), Image.created_at < before, ~shown.exists(), ~in_qa.exists())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
