"""Classes over HTTP: scheduling and cancelling (tutors), the list and enrolment (students),
a class's detail with its enrolments, attendance and points. The live room is on the websocket."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from app.accounts.deps import CurrentUser, Student, Tutor
from app.accounts.scope import user_in_scope
from app.kit.db import DB, after_commit
from app.kit.errors import Forbidden, NotFound
from app.live.service import Outbox
from app.match.service import band_of
from app.models import ClassAttendance, ClassEnrolment, LiveClass, PointsEntry, User

from . import service
from .schemas import AttendanceOut, ClassCreate, ClassDetail, ClassOut, EnrolmentOut

router = APIRouter(prefix="/api/classes", tags=["classes"])


def _now(request: Request) -> float:
    return float(request.app.state.clock.now())


def _publish(request: Request, db: DB, outbox: Outbox) -> None:
    async def send() -> None:
        for user_id, kind, data in outbox:
            await request.app.state.events.append(user_id, kind, data)

    after_commit(db, send)


async def _out(db: DB, classes: list[LiveClass], me: User | None = None) -> list[ClassOut]:
    ids = [c.id for c in classes]
    kps = await service.knowledge_points(db, ids)
    counts = (
        dict(
            (
                await db.execute(
                    select(ClassEnrolment.live_class_id, func.count())
                    .where(ClassEnrolment.live_class_id.in_(ids), ClassEnrolment.state == "enrolled")
                    .group_by(ClassEnrolment.live_class_id)
                )
            ).all()
        )
        if ids
        else {}
    )
    names = dict((await db.execute(select(User.id, User.real_name).where(User.id.in_({c.tutor_id for c in classes})))).all()) if ids else {}
    mine = (
        set(
            (
                await db.execute(
                    select(ClassEnrolment.live_class_id).where(
                        ClassEnrolment.student_id == me.id, ClassEnrolment.state == "enrolled", ClassEnrolment.live_class_id.in_(ids)
                    )
                )
            ).scalars()
        )
        if me is not None and me.role == "student" and ids
        else set()
    )
    return [
        ClassOut(
            id=c.id,
            tutor_id=c.tutor_id,
            tutor_name=names.get(c.tutor_id, ""),
            subject=c.subject_code,
            band=c.band,
            title=c.title,
            description=c.description,
            knowledge_point_ids=[k for k, _ in kps[c.id]],
            knowledge_points=[n for _, n in kps[c.id]],
            starts_at=c.starts_at,
            minutes=c.length_s // 60,
            capacity=c.capacity,
            enrolled=counts.get(c.id, 0),
            state=c.state,
            recording=c.recording,
            live_at=c.live_at,
            ended_at=c.ended_at,
            end_reason=c.end_reason,
            me_enrolled=c.id in mine,
        )
        for c in classes
    ]


@router.post("", response_model=ClassOut, status_code=201)
async def schedule(body: ClassCreate, request: Request, tutor: Tutor, db: DB) -> ClassOut:
    """Schedule a class: inside the service window, at most `class_cap_s` long."""
    c = await service.schedule(db, request.app.state.settings, tutor, body, _now(request))
    return (await _out(db, [c]))[0]


@router.get("", response_model=list[ClassOut])
async def list_classes(
    request: Request, user: CurrentUser, db: DB, past: bool = Query(False, description="tutors: include ended and cancelled classes")
) -> list[ClassOut]:
    """Students: the upcoming and live classes of their band. Tutors: their own classes."""
    q = select(LiveClass)
    if user.role == "student":
        q = q.where(LiveClass.band == band_of(user.grade), LiveClass.state.in_(service.OPEN_STATES))
    elif user.role == "tutor":
        q = q.where(LiveClass.tutor_id == user.id)
        if not past:
            q = q.where(LiveClass.state.in_(service.OPEN_STATES))
    else:
        raise Forbidden("students and tutors list classes; admins see them in the statistics")
    rows = (await db.execute(q.order_by(LiveClass.starts_at.desc() if past else LiveClass.starts_at).limit(200))).scalars().all()
    return await _out(db, list(rows), user)


@router.get("/{class_id}", response_model=ClassDetail)
async def detail(class_id: int, user: CurrentUser, db: DB) -> ClassDetail:
    """The class; its tutor (and admins over the tutor) also see enrolments, attendance and points."""
    c = await service.get_class(db, class_id)
    base = (await _out(db, [c], user))[0]
    tutor = await db.get(User, c.tutor_id)
    if user.id != c.tutor_id and not (user.role.endswith("_admin") and tutor is not None and await user_in_scope(db, user, tutor)):
        if user.role == "student" and c.band == band_of(user.grade):
            return ClassDetail(**base.model_dump())
        raise Forbidden("this class is not yours")
    enrolments = [
        EnrolmentOut(student_id=e.student_id, name=n, grade=g, state=e.state, enrolled_at=e.enrolled_at)
        for e, n, g in (
            await db.execute(
                select(ClassEnrolment, User.real_name, User.grade)
                .join(User, User.id == ClassEnrolment.student_id)
                .where(ClassEnrolment.live_class_id == c.id)
                .order_by(ClassEnrolment.enrolled_at)
            )
        ).all()
    ]
    attendances = [
        AttendanceOut(
            student_id=a.student_id,
            name=n,
            joined_at=a.joined_at,
            left_at=a.left_at,
            present=a.present_since is not None,
            minutes=(Decimal(a.seconds) / 60).quantize(Decimal("0.01")),
        )
        for a, n in (
            await db.execute(
                select(ClassAttendance, User.real_name)
                .join(User, User.id == ClassAttendance.student_id)
                .where(ClassAttendance.live_class_id == c.id)
                .order_by(ClassAttendance.joined_at)
            )
        ).all()
    ]
    points = (
        await db.execute(select(func.sum(PointsEntry.points)).where(PointsEntry.source_kind == "class", PointsEntry.source_id == c.id))
    ).scalar_one_or_none()
    return ClassDetail(**base.model_dump(), enrolments=enrolments, attendances=attendances, points=points)


@router.post("/{class_id}/enrolment", response_model=ClassOut)
async def enrol(class_id: int, request: Request, student: Student, db: DB) -> ClassOut:
    """Enrol (idempotent). Refused past the weekly cap of classes, or when the class is full."""
    _publish(request, db, await service.enrol(db, request.app.state.settings, student, class_id, _now(request)))
    return (await _out(db, [await service.get_class(db, class_id)], student))[0]


@router.delete("/{class_id}/enrolment", response_model=ClassOut)
async def withdraw(class_id: int, request: Request, student: Student, db: DB) -> ClassOut:
    _publish(request, db, await service.withdraw(db, student, class_id))
    return (await _out(db, [await service.get_class(db, class_id)], student))[0]


@router.post("/{class_id}/cancel", response_model=ClassOut)
async def cancel(class_id: int, request: Request, tutor: Tutor, db: DB) -> ClassOut:
    """Cancel a class that has not started; the enrolled students are told."""
    _publish(request, db, await service.cancel(db, tutor, class_id, _now(request)))
    return (await _out(db, [await service.get_class(db, class_id)]))[0]


@router.post("/{class_id}/students/{student_id}/remove", response_model=ClassDetail)
async def remove(class_id: int, student_id: int, request: Request, tutor: Tutor, db: DB) -> ClassDetail:
    """Remove (block) a student from the class: they cannot enrol or join it again."""
    outbox = await service.remove_student(db, tutor, class_id, student_id)
    c = await service.get_class(db, class_id)
    if c.state == "live":
        from .live import leave_student

        left = await leave_student(db, c, student_id, _now(request))
        outbox += left.events
        left.media.append(("leave", class_id, student_id))
        after_commit(db, lambda: request.app.state.classes.deliver(left.__class__(media=left.media)))
    _publish(request, db, outbox)
    return await detail(class_id, tutor, db)


@router.api_route("/media/turn", methods=["GET", "POST"], include_in_schema=False)
async def media_server_turn(request: Request, key: str = Query(""), service_name: str = Query("turn", alias="service")) -> dict[str, object]:
    """TURN credentials for the class media server itself (Janus's `turn_rest_api`, set by
    scripts/ensure-janus.sh from TUTORING_JANUS_TURN_REST_API): the same TURN servers and
    shared-secret scheme the browsers get from /api/live/ice-servers, so a Janus behind NAT relays
    through them too. Only Janus calls it, with its API secret as the key; browsers never see it."""
    import hmac

    from signaling.turn import turn_credentials

    s = request.app.state.settings
    if not s.janus_api_secret or not hmac.compare_digest(key.encode(), s.janus_api_secret.encode()) or service_name != "turn":
        raise Forbidden("this endpoint is for the class media server")
    if not s.turn_urls or not s.turn_secret:
        raise NotFound("no TURN server is configured (TUTORING_TURN_URLS, TUTORING_TURN_SECRET)")
    username, password = turn_credentials(s.turn_secret, 0, _now(request), s.turn_ttl_s)  # user 0: the media server
    return {"username": username, "password": password, "ttl": s.turn_ttl_s, "uris": list(s.turn_urls)}
