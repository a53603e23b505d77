"""The Q&A centre's rules: asking (and turning a help request into a question), the tutors'
feed and "I'm answering" claims, answers edited until accepted, follow-ups and replies,
acceptance with a rating (which books the answer's points), closing. Every text is masked for
contact details on the way in; every change that someone should hear of is a notification."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BindParameter, String, bindparam, cast, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import schools_in_scope, user_in_scope
from app.config import Settings
from app.kit.db import rowcount
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound, error_type
from app.kit.safety import screen
from app.models import (
    Answer,
    ApplicationStatus,
    HelpRequest,
    HelpRequestKnowledgePoint,
    Image,
    KnowledgePoint,
    PointsEntry,
    QaImage,
    QaReply,
    Question,
    QuestionKnowledgePoint,
    QuestionStatus,
    RequestStatus,
    School,
    TutorProfile,
    TutorSubject,
    User,
    request_transition,
)
from app.schools.names import band_of
from app.subjects.service import check_knowledge_points, check_subjects

from . import search
from .notices import notify
from .schemas import AnswerCreate, QuestionCreate

NotYourSubject = error_type("NotYourSubject", 403)
AlreadyClaimed = error_type("AlreadyClaimed", 409)
NotApproved = error_type("NotApproved", 403)


# ---- reading -------------------------------------------------------------------------------


def is_admin(user: User) -> bool:
    return user.is_admin


async def in_admin_scope(db: AsyncSession, admin: User, student_id: int) -> bool:
    student = await db.get(User, student_id)
    return student is not None and await user_in_scope(db, admin, student)


async def readable(db: AsyncSession, viewer: User, question_id: int) -> Question:
    """The asker always; an admin whose scope holds the asker; any student or tutor while the
    question is not hidden (the Q&A centre is where students find answers to others' questions)."""
    q = await db.get(Question, question_id)
    if q is None:
        raise NotFound(f"no question {question_id}")
    if q.student_id == viewer.id:
        return q
    if is_admin(viewer):
        if await in_admin_scope(db, viewer, q.student_id):
            return q
        raise Forbidden("this question is outside your scope")
    if q.hidden_at is not None:
        raise Forbidden("this question was hidden by a moderator")
    return q


# Built once (with bind parameters): building a statement costs more CPU than running it warm.
_REACH = (
    select(TutorProfile.status, TutorProfile.teaches_junior, TutorProfile.teaches_senior, TutorSubject.subject_code)
    .outerjoin(TutorSubject, TutorSubject.user_id == TutorProfile.user_id)
    .where(TutorProfile.user_id == bindparam("tutor_id"))
)


async def tutor_reach(db: AsyncSession, tutor: User) -> tuple[list[str], list[str]]:
    """The subjects and grade bands an approved tutor answers in (one query, columns only)."""
    rows = (await db.execute(_REACH, {"tutor_id": tutor.id})).all()
    status = rows[0].status if rows else None
    if status != ApplicationStatus.APPROVED:
        raise NotApproved("only approved tutors answer questions", status=status)
    subjects = [r.subject_code for r in rows if r.subject_code is not None]
    bands = [b for b, on in (("junior", rows[0].teaches_junior), ("senior", rows[0].teaches_senior)) if on]
    return subjects, bands


async def check_reach(db: AsyncSession, tutor: User, q: Question) -> None:
    subjects, bands = await tutor_reach(db, tutor)
    if q.subject_code not in subjects or q.band not in bands:
        raise NotYourSubject("this question is outside your subjects or grade bands", subject=q.subject_code, band=q.band)


@dataclass
class Known:
    """What a list query read beside its questions (`listing_columns`), so that drawing the list
    needs no query for it: the askers' grades, the knowledge points, which questions have pictures."""

    questions: list[Question] = field(default_factory=list)
    grades: dict[int, int | None] = field(default_factory=dict)
    kps: dict[int, list[int]] = field(default_factory=dict)
    pictured: set[int] = field(default_factory=set)

    def add(self, q: Question, grade: int | None, kps: str | None, pictured: bool) -> None:
        self.questions.append(q)
        self.grades[q.student_id] = grade
        self.kps[q.id] = [int(k) for k in kps.split(",")] if kps else []
        if pictured:
            self.pictured.add(q.id)


def listing_columns() -> list[Any]:
    """The columns a list of questions selects with them (joined with the askers, `User`): the
    grade, the knowledge points (comma-separated) and whether the question has pictures."""
    kps = (
        select(func.aggregate_strings(cast(QuestionKnowledgePoint.knowledge_point_id, String), ","))
        .where(QuestionKnowledgePoint.question_id == Question.id)
        .scalar_subquery()
    )
    pictured = select(QaImage.image_id).where(QaImage.question_id == Question.id, QaImage.answer_id.is_(None)).exists()
    return [Question, User.grade, kps.label("kps"), pictured.label("pictured")]


# ---- asking --------------------------------------------------------------------------------


async def _usable_images(db: AsyncSession, owner: User, ids: list[str], limit: int, keep: Sequence[str] = ()) -> list[Image]:
    ids = list(dict.fromkeys(ids))
    if len(ids) > limit:
        raise InvalidInput(f"at most {limit} images", field="image_ids")
    if not ids:
        return []
    images = (await db.execute(select(Image).where(Image.id.in_(ids)))).scalars().all()
    taken = set((await db.execute(select(QaImage.image_id).where(QaImage.image_id.in_(ids)))).scalars()) - set(keep)
    usable = {i.id for i in images if i.owner_id == owner.id and i.help_request_id is None and i.id not in taken}
    missing = [i for i in ids if i not in usable]
    if missing:
        raise InvalidInput(f"image(s) {missing} are not your unused uploads", field="image_ids")
    return list(images)


def _masked(value: str) -> tuple[str, str | None, bool]:
    clean = screen(value.strip())
    return clean.text, value if clean.flagged else None, clean.flagged


async def ask(
    db: AsyncSession, settings: Settings, student: User, body: QuestionCreate, now: datetime, events: Any = None, pool: Any = None
) -> Question:
    await check_subjects(db, [body.subject])
    kps = await check_knowledge_points(db, body.knowledge_point_ids, [body.subject])
    images = await _usable_images(db, student, body.image_ids, settings.max_images_per_request)
    return await _open(db, settings, student, body.subject, body.text, kps, [i.id for i in images], now, events, pool)


async def _open(
    db: AsyncSession,
    settings: Settings,
    student: User,
    subject: str,
    words: str,
    knowledge_point_ids: Sequence[int],
    image_ids: Sequence[str],
    now: datetime,
    events: Any,
    pool: Any,
    source_request_id: int | None = None,
) -> Question:
    """An open question with its knowledge points and photos, masked, searchable and announced:
    what asking and converting a help request (`from_request`) share."""
    text, raw, flagged = _masked(words)
    q = Question(
        student_id=student.id,
        subject_code=subject,
        text=text,
        raw=raw,
        flagged=flagged,
        band=band_of(student.grade),
        status=QuestionStatus.OPEN,
        source_request_id=source_request_id,
        created_at=now,
    )
    db.add(q)
    await db.flush()
    db.add_all([QuestionKnowledgePoint(question_id=q.id, knowledge_point_id=k) for k in knowledge_point_ids])
    db.add_all([QaImage(image_id=i, question_id=q.id) for i in image_ids])
    await db.flush()
    await search.reindex(db, q.id)
    await announce(db, settings, q, now, events, pool)
    return q


async def announce(db: AsyncSession, settings: Settings, q: Question, now: datetime, events: Any, pool: Any) -> None:
    """Free tutors on duty in the question's subject and band hear of it at once."""
    if pool is None:
        return
    free = await pool.available(f"{q.subject_code}:{q.band}", settings.qa_notify_fanout)
    await notify(db, events, [t.card.id for t in free], "qa_question", q.id, now, subject=q.subject_code, text=q.text[:80])


async def from_request(
    db: AsyncSession, settings: Settings, student: User, req: HelpRequest, now: datetime, events: Any = None, pool: Any = None
) -> Question:
    """A help request nobody could take live becomes a question with its words, knowledge
    points and photos (once: converting again returns the same question)."""
    existing = (await db.execute(select(Question).where(Question.source_request_id == req.id))).scalars().first()
    if existing is not None:
        return existing
    kps = (
        (await db.execute(select(HelpRequestKnowledgePoint.knowledge_point_id).where(HelpRequestKnowledgePoint.request_id == req.id))).scalars().all()
    )
    photos = (await db.execute(select(Image.id).where(Image.help_request_id == req.id))).scalars().all()
    await db.execute(request_transition(req.id, RequestStatus.CONVERTED, wants_question=True))
    await db.refresh(req)
    return await _open(db, settings, student, req.subject_code, req.text, kps, photos, now, events, pool, source_request_id=req.id)


async def close(db: AsyncSession, student: User, question_id: int, now: datetime) -> Question:
    q = await db.get(Question, question_id)
    if q is None:
        raise NotFound(f"no question {question_id}")
    if q.student_id != student.id:
        raise Forbidden("only the asker closes a question")
    done = await db.execute(
        update(Question).where(Question.id == q.id, Question.status == QuestionStatus.OPEN).values(status=QuestionStatus.CLOSED, closed_at=now)
    )
    await db.refresh(q)
    if rowcount(done) != 1:
        raise InvalidState(f"the question is {q.status}", status=q.status)
    return q


# ---- the tutors' side ----------------------------------------------------------------------


async def feed(db: AsyncSession, tutor: User, now: datetime, knowledge_point_id: int | None, limit: int, offset: int) -> tuple[list[Question], Known]:
    """Open questions in the tutor's subjects and bands: unanswered first (then the fewest
    answers), oldest first, with what drawing them needs (`Known`). Cost: two queries — the
    tutor's reach, then one ordered range of ix_questions_feed per (subject, band), each cut at
    offset + limit rows (with a knowledge point: each entry checked against the tag's primary
    key), merged and joined with the questions, askers, tags and pictures — a few dozen index
    entries, whatever the backlog."""
    subjects, bands = await tutor_reach(db, tutor)
    if not subjects or not bands:
        return [], Known()
    pairs = [(subject, band) for subject in subjects for band in bands]
    params: dict[str, Any] = {"depth": offset + limit, "offset": offset, "limit": limit, "kp": knowledge_point_id}
    for i, (subject, band) in enumerate(pairs):
        params |= {f"s{i}": subject, f"b{i}": band}
    known = Known()
    for q, grade, kps, pictured in (await db.execute(_feed_statement(len(pairs), knowledge_point_id is not None), params)).all():
        known.add(q, grade, kps, pictured)
    return known.questions, known


@functools.cache
def _feed_statement(branches: int, by_point: bool) -> Any:
    """The feed's statement for a tutor with `branches` (subject, band) pairs, built once per shape."""
    parts = []
    for i in range(branches):
        subject: BindParameter[str] = bindparam(f"s{i}")
        branch = select(Question.id, Question.answer_count, Question.created_at).where(
            Question.status == QuestionStatus.OPEN,
            Question.subject_code == subject,
            Question.band == bindparam(f"b{i}"),
            Question.hidden_at.is_(None),
        )
        if by_point:
            # The first condition holds no column of the branch: the database decides it once
            # and skips the branch of another subject than the knowledge point's, instead of
            # walking its whole range without a match.
            branch = branch.where(
                select(KnowledgePoint.subject_code).where(KnowledgePoint.id == bindparam("kp")).scalar_subquery() == subject,
                select(QuestionKnowledgePoint.question_id)
                .where(QuestionKnowledgePoint.question_id == Question.id, QuestionKnowledgePoint.knowledge_point_id == bindparam("kp"))
                .exists(),
            )
        parts.append(branch.order_by(Question.answer_count, Question.created_at, Question.id).limit(bindparam("depth")))
    merged = (parts[0] if branches == 1 else union_all(*parts)).subquery()
    return (
        select(*listing_columns())
        .join(merged, merged.c.id == Question.id)
        .join(User, User.id == Question.student_id)
        .order_by(merged.c.answer_count, merged.c.created_at, merged.c.id)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


async def claim(db: AsyncSession, settings: Settings, tutor: User, question_id: int, now: datetime) -> Question:
    q = await readable(db, tutor, question_id)
    await check_reach(db, tutor, q)
    if q.status != QuestionStatus.OPEN:
        raise InvalidState(f"the question is {q.status}", status=q.status)
    until = now + timedelta(seconds=settings.qa_claim_s)
    # Conditional: two tutors claiming at once, exactly one wins.
    done = await db.execute(
        update(Question)
        .where(Question.id == q.id, or_(Question.claimed_by.is_(None), Question.claimed_by == tutor.id, Question.claimed_until <= now))
        .values(claimed_by=tutor.id, claimed_until=until)
    )
    await db.refresh(q)
    if rowcount(done) != 1:
        raise AlreadyClaimed("another tutor is answering this question", until=q.claimed_until.isoformat() if q.claimed_until else None)
    return q


async def unclaim(db: AsyncSession, tutor: User, question_id: int) -> Question:
    q = await readable(db, tutor, question_id)
    await db.execute(update(Question).where(Question.id == q.id, Question.claimed_by == tutor.id).values(claimed_by=None, claimed_until=None))
    await db.refresh(q)
    return q


async def answer(
    db: AsyncSession, settings: Settings, tutor: User, question_id: int, body: AnswerCreate, now: datetime, events: Any = None
) -> Answer:
    q = await readable(db, tutor, question_id)
    await check_reach(db, tutor, q)
    if q.status != QuestionStatus.OPEN:
        raise InvalidState(f"the question is {q.status}", status=q.status)
    if (await db.execute(select(Answer.id).where(Answer.question_id == q.id, Answer.tutor_id == tutor.id))).first():
        raise InvalidState("you have answered this question already: edit your answer instead")
    images = await _usable_images(db, tutor, body.image_ids, settings.max_images_per_request)
    text, raw, flagged = _masked(body.text)
    a = Answer(question_id=q.id, tutor_id=tutor.id, text=text, raw=raw, flagged=flagged, created_at=now)
    try:
        async with db.begin_nested():  # a double click racing itself meets the unique index, not a 500
            db.add(a)
            await db.flush()
    except IntegrityError:
        raise InvalidState("you have answered this question already: edit your answer instead") from None
    db.add_all([QaImage(image_id=i.id, question_id=q.id, answer_id=a.id) for i in images])
    await db.execute(update(Question).where(Question.id == q.id).values(answer_count=Question.answer_count + 1))
    await db.execute(update(Question).where(Question.id == q.id, Question.claimed_by == tutor.id).values(claimed_by=None, claimed_until=None))
    await db.flush()
    await search.reindex(db, q.id)
    await notify(db, events, [q.student_id], "qa_answer", q.id, now, answer_id=a.id)
    return a


async def _answer(db: AsyncSession, answer_id: int) -> tuple[Answer, Question]:
    """An answer and its question, or NotFound."""
    a = await db.get(Answer, answer_id)
    if a is None:
        raise NotFound(f"no answer {answer_id}")
    q = await db.get(Question, a.question_id)
    assert q is not None  # answers.question_id is a foreign key
    return a, q


async def _own_answer(db: AsyncSession, tutor: User, answer_id: int) -> tuple[Answer, Question]:
    a, q = await _answer(db, answer_id)
    if a.tutor_id != tutor.id:
        raise Forbidden("this is not your answer")
    return a, q


async def _answer_to_asker(db: AsyncSession, student: User, answer_id: int, verb: str) -> tuple[Answer, Question]:
    """An answer under one of `student`'s own questions (acceptance and rating are the asker's)."""
    a, q = await _answer(db, answer_id)
    if q.student_id != student.id:
        raise Forbidden(f"only the asker {verb} an answer")
    return a, q


async def edit(db: AsyncSession, settings: Settings, tutor: User, answer_id: int, body: AnswerCreate, now: datetime) -> Answer:
    a, q = await _own_answer(db, tutor, answer_id)
    if a.accepted_at is not None:
        raise InvalidState("an accepted answer can no longer be edited")
    if q.status != QuestionStatus.OPEN:
        raise InvalidState(f"the question is {q.status}", status=q.status)
    if a.hidden_at is not None:
        raise InvalidState("this answer was hidden by a moderator")
    current = list((await db.execute(select(QaImage.image_id).where(QaImage.answer_id == a.id))).scalars())
    images = await _usable_images(db, tutor, body.image_ids, settings.max_images_per_request, keep=current)
    a.text, a.raw, a.flagged = _masked(body.text)
    a.updated_at = now
    for row in (await db.execute(select(QaImage).where(QaImage.answer_id == a.id))).scalars():
        if row.image_id not in {i.id for i in images}:
            await db.delete(row)
    db.add_all([QaImage(image_id=i.id, question_id=q.id, answer_id=a.id) for i in images if i.id not in current])
    await db.flush()
    await search.reindex(db, q.id)
    return a


# ---- follow-ups, acceptance ----------------------------------------------------------------


async def reply(db: AsyncSession, user: User, answer_id: int, value: str, now: datetime, events: Any = None) -> QaReply:
    """The asker's follow-up (追问) under an answer, or that answer's tutor's reply."""
    a, q = await _answer(db, answer_id)
    if user.id not in (q.student_id, a.tutor_id):
        raise Forbidden("only the asker and this answer's tutor write under it")
    if q.status == QuestionStatus.CLOSED or a.hidden_at is not None or q.hidden_at is not None:
        raise InvalidState("this conversation is closed")
    text, raw, flagged = _masked(value)
    r = QaReply(answer_id=a.id, author_id=user.id, text=text, raw=raw, flagged=flagged, created_at=now)
    db.add(r)
    await db.flush()
    other = a.tutor_id if user.id == q.student_id else q.student_id
    await notify(db, events, [other], "qa_reply", q.id, now, answer_id=a.id)
    return r


def answer_points(settings: Settings, rating: int | None) -> Decimal:
    factor = settings.points_rating_factors[rating - 1] if rating else 1.0
    return Decimal(str(settings.qa_points_per_answer * factor)).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def accept(
    db: AsyncSession, settings: Settings, student: User, answer_id: int, rating: int | None, now: datetime, events: Any = None
) -> Question:
    """The asker accepts one answer (once); its points are booked now, under the Q&A rate."""
    a, q = await _answer_to_asker(db, student, answer_id, "accepts")
    if a.hidden_at is not None:
        raise InvalidState("this answer was hidden by a moderator")
    done = await db.execute(
        update(Question)
        .where(Question.id == q.id, Question.status == QuestionStatus.OPEN)
        .values(status=QuestionStatus.ACCEPTED, accepted_answer_id=a.id, closed_at=now, claimed_by=None, claimed_until=None)
    )
    await db.refresh(q)
    if rowcount(done) != 1:
        raise InvalidState(f"the question is {q.status}", status=q.status)
    a.accepted_at, a.rating = now, rating
    tutor = await db.get(User, a.tutor_id)
    points = answer_points(settings, rating)
    if points > 0 and tutor is not None and tutor.district_id is not None:
        db.add(
            PointsEntry(
                tutor_id=a.tutor_id,
                district_id=tutor.district_id,
                source_kind="answer",
                source_id=a.id,
                points=points,
                note=f"accepted answer, rating {rating or '-'}",
                created_at=now,
            )
        )
    await db.flush()
    await notify(db, events, [a.tutor_id], "qa_accepted", q.id, now, answer_id=a.id, rating=rating)
    return q


async def rate(db: AsyncSession, student: User, answer_id: int, rating: int) -> Answer:
    """A rating given after acceptance is recorded; the points were booked on acceptance."""
    a, _ = await _answer_to_asker(db, student, answer_id, "rates")
    if a.accepted_at is None:
        raise InvalidState("accept the answer before rating it")
    if a.rating is not None:
        raise InvalidState("this answer is rated already", rating=a.rating)
    a.rating = rating
    await db.flush()
    return a


# ---- lists ----------------------------------------------------------------------------------


async def mine(db: AsyncSession, student: User, limit: int, before_id: int | None) -> list[Question]:
    query = select(Question).where(Question.student_id == student.id)
    if before_id:
        query = query.where(Question.id < before_id)
    return list((await db.execute(query.order_by(Question.id.desc()).limit(limit))).scalars())


def visible(viewer: User) -> Any:
    """What a search may return to `viewer` (see `readable`)."""
    if is_admin(viewer):
        school_ids = schools_in_scope(viewer).with_only_columns(School.id)
        return Question.student_id.in_(select(User.id).where(User.school_id.in_(school_ids)))
    return or_(Question.hidden_at.is_(None), Question.student_id == viewer.id)


async def run_search(db: AsyncSession, viewer: User, query: str, subject: str | None, limit: int) -> tuple[list[str], list[Question], Known]:
    """Most relevant first (`app/kit/search.py`: the query's terms found in the question's own
    text rather than only in its answers, knowledge points or subject), newest first among equals,
    with the askers' grades. Two queries with fixed plans: the page's ids — every match from the
    full-text index (materialized first, so no planner can trade the index for a backward walk
    over all questions; at most MAX_MATCHES), ranked and filtered by what the viewer may read —
    then those questions as a list page. Cost: one primary-key lookup and one LIKE per term per
    match (measured on 100,000 questions at load ~7:
    a typical three-word query's few matches under 1 ms; 3,800 matches — two of the words in every
    answer — 12–20 ms)."""
    words = search.query_terms(query)
    if not words:
        raise InvalidInput("search for at least one word", field="q")
    dialect = db.get_bind().dialect.name
    shape = (dialect, tuple(w.isascii() for w in words), bool(subject))
    if is_admin(viewer):  # (rare: built each time, with the admin's scope)
        stmt = _ranked(*shape, False).where(visible(viewer))
    else:
        stmt = _ranked(*shape, True)
    params = search.bound(dialect, words) | {"viewer": viewer.id, "subject": subject, "limit": limit}
    ids = list((await db.execute(stmt, params)).scalars())
    known = Known()
    if not ids:
        return words, [], known
    rows = {q.id: (q, grade, kps, pictured) for q, grade, kps, pictured in (await db.execute(_search_page(), {"ids": ids})).all()}
    for qid in ids:
        known.add(*rows[qid])
    return words, known.questions, known


@functools.cache
def _ranked(dialect: str, kinds: tuple[bool, ...], by_subject: bool, for_reader: bool) -> Any:
    """A search's page of ids, best first, built once per shape (the number of terms, which are
    letters, a subject or not; the terms themselves are parameters, `search.bound`): building it
    cost about as much CPU as running it. A student's or tutor's reads what is not hidden and their own (`visible`)."""
    words = [f"x{i}" if ascii else "一" for i, ascii in enumerate(kinds)]  # stand-ins of the right kind
    stmt = (
        select(Question.id)
        .where(search.matched(dialect, Question.id, words))
        .order_by(search.rank(Question.text, words).desc(), Question.id.desc())
        .limit(bindparam("limit"))
    )
    if for_reader:
        stmt = stmt.where(or_(Question.hidden_at.is_(None), Question.student_id == bindparam("viewer")))
    if by_subject:
        stmt = stmt.where(Question.subject_code == bindparam("subject"))
    return stmt


@functools.cache
def _search_page() -> Any:
    """The ranked page's questions as list rows, built once."""
    return select(*listing_columns()).join(User, User.id == Question.student_id).where(Question.id.in_(bindparam("ids", expanding=True)))


async def similar(db: AsyncSession, viewer: User, subject: str, value: str, kp_ids: list[int], limit: int) -> list[Question]:
    """Answered questions that look like the one being written: sharing its knowledge points or
    words, ranked by shared knowledge points, then the share of its terms they hold."""
    words = search.query_terms(value)
    cands: dict[int, Question] = {}
    base = select(Question).where(Question.subject_code == subject, Question.answer_count > 0, Question.hidden_at.is_(None))
    if words:
        ids = search.matching(db.get_bind().dialect.name, words, any_of=True)
        for q in (await db.execute(base.join(ids, ids.c.question_id == Question.id).order_by(Question.id.desc()).limit(200))).scalars():
            cands[q.id] = q
    if kp_ids:
        for q in (
            await db.execute(
                base.where(Question.id.in_(select(QuestionKnowledgePoint.question_id).where(QuestionKnowledgePoint.knowledge_point_id.in_(kp_ids))))
                .order_by(Question.id.desc())
                .limit(200)
            )
        ).scalars():
            cands[q.id] = q
    if not cands:
        return []
    shared: dict[int, int] = {}
    if kp_ids:
        for qid, n in (
            await db.execute(
                select(QuestionKnowledgePoint.question_id, func.count())
                .where(QuestionKnowledgePoint.question_id.in_(list(cands)), QuestionKnowledgePoint.knowledge_point_id.in_(kp_ids))
                .group_by(QuestionKnowledgePoint.question_id)
            )
        ).all():
            shared[qid] = n
    mine_terms = set(words)

    def score(q: Question) -> tuple[int, float, int]:
        theirs = set(search.terms(q.text))
        overlap = len(mine_terms & theirs) / len(mine_terms) if mine_terms else 0.0
        return (shared.get(q.id, 0), overlap, q.status == QuestionStatus.ACCEPTED)

    ranked = sorted(cands.values(), key=lambda q: (*score(q), q.id), reverse=True)
    return [q for q in ranked if score(q)[:2] != (0, 0.0)][:limit]
