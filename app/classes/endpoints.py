"""Classes over HTTP: scheduling and cancelling (tutors), the list and enrolment (students),
a class's detail with its enrolments, attendance and points. The live room is on the websocket."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.accounts.deps import CurrentUser, Student, Tutor
from app.kit.clock import ClockDep
from app.kit.db import DB, after_commit
from app.kit.deps import EventsDep, SettingsDep
from app.kit.errors import Forbidden, NotFound
from app.live.service import Outbox
from app.models import ClassState, Role
from app.schools.names import band_of
from signaling.eventlog import EventLog

from . import service
from .deps import ClassDispatchDep
from .schemas import ClassCreate, ClassDetail, ClassOut

router = APIRouter(prefix="/api/classes", tags=["classes"])


def _publish(events: EventLog, db: DB, outbox: Outbox) -> None:
    async def send() -> None:
        for user_id, kind, data in outbox:
            await events.append(user_id, kind, data)

    after_commit(db, send)


@router.post("", response_model=ClassOut, status_code=201)
async def schedule(body: ClassCreate, settings: SettingsDep, clock: ClockDep, tutor: Tutor, db: DB) -> ClassOut:
    """Schedule a class: inside the service window, at most `class_cap_s` long."""
    c = await service.schedule(db, settings, tutor, body, float(clock.now()))
    return (await service.out(db, [c]))[0]


@router.get("", response_model=list[ClassOut])
async def list_classes(
    user: CurrentUser, db: DB, past: bool = Query(False, description="tutors: include ended and cancelled classes")
) -> list[ClassOut]:
    """Students: the upcoming and live classes of their band. Tutors: their own classes."""
    rows = await service.listing(db, user, past)
    return await service.out(db, rows, user)


@router.get("/{class_id}", response_model=ClassDetail)
async def detail(class_id: int, user: CurrentUser, db: DB) -> ClassDetail:
    """The class; its tutor (and admins over the tutor) also see enrolments, attendance and points."""
    c = await service.get_class(db, class_id)
    base = (await service.out(db, [c], user))[0]
    if user.id != c.tutor_id and not await service.admin_over_tutor(db, user, c):
        if user.role == Role.STUDENT and c.band == band_of(user.grade):
            return ClassDetail(**base.model_dump())
        raise Forbidden("this class is not yours")
    enrolments, attendances, points = await service.records(db, c)
    return ClassDetail(**base.model_dump(), enrolments=enrolments, attendances=attendances, points=points)


@router.post("/{class_id}/enrolment", response_model=ClassOut)
async def enrol(class_id: int, settings: SettingsDep, clock: ClockDep, events: EventsDep, student: Student, db: DB) -> ClassOut:
    """Enrol (idempotent). Refused past the weekly cap of classes, or when the class is full."""
    _publish(events, db, await service.enrol(db, settings, student, class_id, float(clock.now())))
    return (await service.out(db, [await service.get_class(db, class_id)], student))[0]


@router.delete("/{class_id}/enrolment", response_model=ClassOut)
async def withdraw(class_id: int, events: EventsDep, student: Student, db: DB) -> ClassOut:
    _publish(events, db, await service.withdraw(db, student, class_id))
    return (await service.out(db, [await service.get_class(db, class_id)], student))[0]


@router.post("/{class_id}/cancel", response_model=ClassOut)
async def cancel(class_id: int, clock: ClockDep, events: EventsDep, tutor: Tutor, db: DB) -> ClassOut:
    """Cancel a class that has not started; the enrolled students are told."""
    _publish(events, db, await service.cancel(db, tutor, class_id, float(clock.now())))
    return (await service.out(db, [await service.get_class(db, class_id)]))[0]


@router.post("/{class_id}/students/{student_id}/remove", response_model=ClassDetail)
async def remove(class_id: int, student_id: int, clock: ClockDep, events: EventsDep, dispatch: ClassDispatchDep, tutor: Tutor, db: DB) -> ClassDetail:
    """Remove (block) a student from the class: they cannot enrol or join it again."""
    outbox = await service.remove_student(db, tutor, class_id, student_id)
    c = await service.get_class(db, class_id)
    if c.state == ClassState.LIVE:
        from .live import leave_student

        left = await leave_student(db, c, student_id, float(clock.now()))
        outbox += left.events
        left.media.append(("leave", class_id, student_id))
        after_commit(db, lambda: dispatch.deliver(left.__class__(media=left.media)))
    _publish(events, db, outbox)
    return await detail(class_id, tutor, db)


@router.api_route("/media/turn", methods=["GET", "POST"], include_in_schema=False)
async def media_server_turn(
    s: SettingsDep, clock: ClockDep, key: str = Query(""), service_name: str = Query("turn", alias="service")
) -> dict[str, object]:
    """TURN credentials for the class media server itself (Janus's `turn_rest_api`, set by
    scripts/ensure-janus.sh from TUTORING_JANUS_TURN_REST_API): the same TURN servers and
    shared-secret scheme the browsers get from /api/live/ice-servers, so a Janus behind NAT relays
    through them too. Only Janus calls it, with its API secret as the key; browsers never see it."""
    import hmac

    from signaling.turn import turn_credentials

    if not s.janus_api_secret or not hmac.compare_digest(key.encode(), s.janus_api_secret.encode()) or service_name != "turn":
        raise Forbidden("this endpoint is for the class media server")
    if not s.turn_urls or not s.turn_secret:
        raise NotFound("no TURN server is configured (TUTORING_TURN_URLS, TUTORING_TURN_SECRET)")
    username, password = turn_credentials(s.turn_secret, 0, float(clock.now()), s.turn_ttl_s)  # user 0: the media server
    return {"username": username, "password": password, "ttl": s.turn_ttl_s, "uris": list(s.turn_urls)}
