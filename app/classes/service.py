"""Classes before and after the room: scheduling, enrolment, the weekly cap, cancelling,
reminders, and the records a class leaves (attendance, points). The room itself: live.py.

Events go into an outbox, published by the caller after the commit (CONVENTIONS 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import user_in_scope
from app.calendar.service import service_window
from app.config import Settings
from app.kit.clock import ts
from app.kit.db import rowcount
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound, error_type
from app.live.service import Outbox
from app.models import (
    ApplicationStatus,
    ClassAttendance,
    ClassEnrolment,
    ClassKnowledgePoint,
    ClassState,
    EnrolmentState,
    KnowledgePoint,
    LiveClass,
    PointsEntry,
    Role,
    TutorProfile,
    TutorSubject,
    User,
)
from app.schools.names import band_of
from app.subjects.service import check_knowledge_points, check_subjects

from .schemas import AttendanceOut, ClassCreate, ClassOut, EnrolmentOut

OutsideServiceWindow = error_type("OutsideServiceWindow", 422)
ClassTooLong = error_type("ClassTooLong", 422)
ClassFull = error_type("ClassFull", 409)
WeeklyClassCap = error_type("WeeklyClassCap", 409)
NotEnrolled = error_type("NotEnrolled", 403)
RemovedFromClass = error_type("RemovedFromClass", 403)
ClassNotOpen = error_type("ClassNotOpen", 409)

OPEN_STATES = (ClassState.SCHEDULED, ClassState.LIVE)


async def get_class(db: AsyncSession, class_id: int) -> LiveClass:
    c = await db.get(LiveClass, class_id)
    if c is None:
        raise NotFound(f"no class {class_id}")
    return c


async def listing(db: AsyncSession, user: User, past: bool) -> list[LiveClass]:
    """Students: the upcoming and live classes of their band. Tutors: their own classes (with
    `past`, also the ended and cancelled ones, latest first)."""
    q = select(LiveClass)
    if user.role == Role.STUDENT:
        q = q.where(LiveClass.band == band_of(user.grade), LiveClass.state.in_(OPEN_STATES))
    elif user.role == Role.TUTOR:
        q = q.where(LiveClass.tutor_id == user.id)
        if not past:
            q = q.where(LiveClass.state.in_(OPEN_STATES))
    else:
        raise Forbidden("students and tutors list classes; admins see them in the statistics")
    return list((await db.execute(q.order_by(LiveClass.starts_at.desc() if past else LiveClass.starts_at).limit(200))).scalars().all())


async def admin_over_tutor(db: AsyncSession, user: User, c: LiveClass) -> bool:
    """Whether `user` is an admin whose scope holds the class's tutor."""
    if not user.is_admin:
        return False
    tutor = await db.get(User, c.tutor_id)
    return tutor is not None and await user_in_scope(db, user, tutor)


async def records(db: AsyncSession, c: LiveClass) -> tuple[list[EnrolmentOut], list[AttendanceOut], Decimal | None]:
    """What a class's tutor sees beside it: the enrolments, the attendances and the points booked."""
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
    return enrolments, attendances, points


async def out(db: AsyncSession, classes: Sequence[LiveClass], me: User | None = None) -> list[ClassOut]:
    """Classes as the API shows them: with their tutor's name, knowledge points, the number
    enrolled and, for a student, whether they are."""
    ids = [c.id for c in classes]
    kps = await knowledge_points(db, ids)
    counts = (
        dict(
            (
                await db.execute(
                    select(ClassEnrolment.live_class_id, func.count())
                    .where(ClassEnrolment.live_class_id.in_(ids), ClassEnrolment.state == EnrolmentState.ENROLLED)
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
                        ClassEnrolment.student_id == me.id, ClassEnrolment.state == EnrolmentState.ENROLLED, ClassEnrolment.live_class_id.in_(ids)
                    )
                )
            ).scalars()
        )
        if me is not None and me.role == Role.STUDENT and ids
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


def own(c: LiveClass, tutor: User) -> LiveClass:
    if c.tutor_id != tutor.id:
        raise Forbidden("this class is another tutor's")
    return c


async def schedule(db: AsyncSession, settings: Settings, tutor: User, body: ClassCreate, now: float) -> LiveClass:
    profile = await db.get(TutorProfile, tutor.id)
    if profile is None or profile.status != ApplicationStatus.APPROVED:
        raise Forbidden("only an approved tutor schedules classes")
    await check_subjects(db, [body.subject])
    teaches = set((await db.execute(select(TutorSubject.subject_code).where(TutorSubject.user_id == tutor.id))).scalars())
    if body.subject not in teaches:
        raise InvalidInput(f"you do not teach {body.subject}", field="subject")
    if not (profile.teaches_junior if body.band == "junior" else profile.teaches_senior):
        raise InvalidInput(f"you do not teach the {body.band} band", field="band")
    kps = await check_knowledge_points(db, body.knowledge_point_ids, [body.subject])
    length = body.minutes * 60
    if length > settings.class_cap_s:
        raise ClassTooLong(f"a class lasts at most {settings.class_cap_s // 60} minutes", cap_minutes=settings.class_cap_s // 60)
    if body.capacity > settings.class_capacity_max:
        raise InvalidInput(f"a class holds at most {settings.class_capacity_max} students", field="capacity")
    if body.starts_at.tzinfo is None:
        raise InvalidInput("starts_at needs a time zone (e.g. +08:00)", field="starts_at")
    start = body.starts_at.timestamp()
    if start <= now:
        raise InvalidInput("a class starts in the future", field="starts_at")
    window = await service_window(db, settings, start)
    closes = window.closes_at(start)
    if not window.is_open(start) or (closes is not None and start + length > closes):
        nxt = window.next_opening(start - 1) if not window.is_open(start) else None
        raise OutsideServiceWindow(
            f"classes are held inside the service window {settings.service_window} ({settings.timezone}) and must end before it closes",
            next_opening=nxt.isoformat() if nxt else None,
        )
    c = LiveClass(
        tutor_id=tutor.id,
        subject_code=body.subject,
        band=body.band,
        title=body.title.strip(),
        description=body.description.strip(),
        starts_at=ts(start),
        length_s=length,
        capacity=body.capacity,
        recording=body.recording,
        state=ClassState.SCHEDULED,
    )
    db.add(c)
    await db.flush()
    db.add_all([ClassKnowledgePoint(live_class_id=c.id, knowledge_point_id=k) for k in kps])
    await db.flush()
    return c


def week_of(settings: Settings, at: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday in the service's time zone."""
    local = at.astimezone(ZoneInfo(settings.timezone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + timedelta(days=7)


async def week_load_s(db: AsyncSession, settings: Settings, student_id: int, c: LiveClass) -> int:
    """The student's class time in the week of `c`, other than `c`: attended seconds of held
    classes, and the planned length of the open classes they are enrolled in."""
    f, t = week_of(settings, c.starts_at)
    attended = (
        await db.execute(
            select(func.coalesce(func.sum(ClassAttendance.seconds), 0))
            .join(LiveClass, LiveClass.id == ClassAttendance.live_class_id)
            .where(
                ClassAttendance.student_id == student_id,
                LiveClass.id != c.id,
                LiveClass.starts_at >= f,
                LiveClass.starts_at < t,
                LiveClass.state.not_in(OPEN_STATES),
            )
        )
    ).scalar_one()
    planned = (
        await db.execute(
            select(func.coalesce(func.sum(LiveClass.length_s), 0))
            .join(ClassEnrolment, ClassEnrolment.live_class_id == LiveClass.id)
            .where(
                ClassEnrolment.student_id == student_id,
                ClassEnrolment.state == EnrolmentState.ENROLLED,
                LiveClass.id != c.id,
                LiveClass.starts_at >= f,
                LiveClass.starts_at < t,
                LiveClass.state.in_(OPEN_STATES),
            )
        )
    ).scalar_one()
    return int(attended) + int(planned)


async def check_weekly_cap(db: AsyncSession, settings: Settings, student_id: int, c: LiveClass, wanted_s: int) -> None:
    used = await week_load_s(db, settings, student_id, c)
    if used + wanted_s > settings.class_weekly_cap_s:
        cap_h = settings.class_weekly_cap_s / 3600
        raise WeeklyClassCap(
            f"at most {cap_h:g} hours of classes a week: {used // 60} minutes are taken this week, this class needs {wanted_s // 60} more",
            used_minutes=used // 60,
            cap_minutes=settings.class_weekly_cap_s // 60,
        )


async def enrolled_count(db: AsyncSession, class_id: int) -> int:
    return int(
        (
            await db.execute(select(func.count()).where(ClassEnrolment.live_class_id == class_id, ClassEnrolment.state == EnrolmentState.ENROLLED))
        ).scalar_one()
    )


async def enrol(db: AsyncSession, settings: Settings, student: User, class_id: int, now: float) -> Outbox:
    c = await get_class(db, class_id)
    if c.state not in OPEN_STATES or (c.state == ClassState.SCHEDULED and now >= c.starts_at.timestamp() + c.length_s):
        raise ClassNotOpen("this class is no longer open for enrolment", state=c.state)
    if band_of(student.grade) != c.band:
        raise Forbidden(f"this class is for the {c.band} band")
    e = await db.get(ClassEnrolment, (c.id, student.id))
    if e is not None and e.state == EnrolmentState.REMOVED:
        raise RemovedFromClass("the tutor removed you from this class")
    if e is not None and e.state == EnrolmentState.ENROLLED:
        return []
    if await enrolled_count(db, c.id) >= c.capacity:
        raise ClassFull(f"this class is full ({c.capacity} students)")
    await check_weekly_cap(db, settings, student.id, c, c.length_s)
    if e is None:
        db.add(ClassEnrolment(live_class_id=c.id, student_id=student.id, state=EnrolmentState.ENROLLED, enrolled_at=ts(now)))
    else:
        e.state, e.enrolled_at = EnrolmentState.ENROLLED, ts(now)
    await db.flush()
    return [
        (
            c.tutor_id,
            "class_enrolled",
            {"class_id": c.id, "student_id": student.id, "name": student.real_name, "enrolled": await enrolled_count(db, c.id)},
        )
    ]


async def withdraw(db: AsyncSession, student: User, class_id: int) -> Outbox:
    c = await get_class(db, class_id)
    e = await db.get(ClassEnrolment, (c.id, student.id))
    if e is None or e.state != EnrolmentState.ENROLLED:
        raise NotEnrolled("you are not enrolled in this class")
    e.state = EnrolmentState.WITHDRAWN
    await db.flush()
    return [(c.tutor_id, "class_withdrawn", {"class_id": c.id, "student_id": student.id, "enrolled": await enrolled_count(db, c.id)})]


async def enrolled_ids(db: AsyncSession, class_id: int) -> list[int]:
    return list(
        (
            await db.execute(
                select(ClassEnrolment.student_id).where(ClassEnrolment.live_class_id == class_id, ClassEnrolment.state == EnrolmentState.ENROLLED)
            )
        ).scalars()
    )


async def cancel(db: AsyncSession, tutor: User, class_id: int, now: float) -> Outbox:
    c = own(await get_class(db, class_id), tutor)
    done = await db.execute(
        update(LiveClass)
        .where(LiveClass.id == c.id, LiveClass.state == ClassState.SCHEDULED)
        .values(state=ClassState.CANCELLED, ended_at=ts(now), end_reason="cancelled")
    )
    if rowcount(done) != 1:
        raise InvalidState("only a class that has not started can be cancelled", state=c.state)
    await db.refresh(c)
    data = {"class_id": c.id, "title": c.title, "starts_at": c.starts_at.timestamp()}
    return [(s, "class_cancelled", data) for s in await enrolled_ids(db, c.id)]


async def remove_student(db: AsyncSession, tutor: User, class_id: int, student_id: int) -> Outbox:
    """The tutor removes a student (e.g. for disrupting the class): they cannot join again."""
    c = own(await get_class(db, class_id), tutor)
    e = await db.get(ClassEnrolment, (c.id, student_id))
    if e is None:
        raise NotFound("this student is not enrolled in the class")
    e.state, e.hand_at = EnrolmentState.REMOVED, None
    if c.floor_id == student_id:
        c.floor_id = None
    await db.flush()
    return [(student_id, "class_removed", {"class_id": c.id})]


def class_points(settings: Settings, held_s: int, attendees: int) -> Decimal:
    minutes = held_s / 60
    if minutes < settings.class_points_min_minutes or attendees == 0:
        return Decimal("0.00")
    raw = min(minutes * settings.class_points_per_minute + attendees * settings.class_points_per_attendee, settings.class_points_max)
    return Decimal(str(raw)).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def book_points(db: AsyncSession, settings: Settings, c: LiveClass) -> None:
    """Once per class (a conditional update and the ledger's unique key guard a second booking)."""
    done = await db.execute(update(LiveClass).where(LiveClass.id == c.id, LiveClass.points_booked.is_(False)).values(points_booked=True))
    if rowcount(done) != 1 or c.live_at is None or c.ended_at is None:
        return
    attendees = int((await db.execute(select(func.count()).where(ClassAttendance.live_class_id == c.id))).scalar_one())
    held = int((c.ended_at - c.live_at).total_seconds())
    points = class_points(settings, held, attendees)
    tutor = await db.get(User, c.tutor_id)
    if points > 0 and tutor is not None and tutor.district_id is not None:
        db.add(
            PointsEntry(
                tutor_id=c.tutor_id,
                district_id=tutor.district_id,
                source_kind="class",
                source_id=c.id,
                points=points,
                note=f"{held // 60} min, {attendees} attended",
            )
        )
    await db.flush()


async def knowledge_points(db: AsyncSession, class_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {i: [] for i in class_ids}
    if class_ids:
        for cid, kid, name in (
            await db.execute(
                select(ClassKnowledgePoint.live_class_id, KnowledgePoint.id, KnowledgePoint.name)
                .join(KnowledgePoint, KnowledgePoint.id == ClassKnowledgePoint.knowledge_point_id)
                .where(ClassKnowledgePoint.live_class_id.in_(class_ids))
            )
        ).all():
            out[cid].append((kid, name))
    return out


async def reminders(db: AsyncSession, settings: Settings, now: float) -> Outbox:
    """Tell the enrolled students once, `class_remind_before_s` before the start."""
    out: Outbox = []
    due = (
        (
            await db.execute(
                select(LiveClass).where(
                    LiveClass.state == ClassState.SCHEDULED,
                    LiveClass.reminded.is_(False),
                    LiveClass.starts_at <= ts(now + settings.class_remind_before_s),
                )
            )
        )
        .scalars()
        .all()
    )
    for c in due:
        done = await db.execute(update(LiveClass).where(LiveClass.id == c.id, LiveClass.reminded.is_(False)).values(reminded=True))
        if rowcount(done) == 1 and now < c.starts_at.timestamp() + c.length_s:
            data: dict[str, Any] = {
                "class_id": c.id,
                "title": c.title,
                "starts_at": c.starts_at.timestamp(),
                "starts_in_s": max(0, int(c.starts_at.timestamp() - now)),
            }
            out += [(s, "class_reminder", data) for s in await enrolled_ids(db, c.id)]
    return out
