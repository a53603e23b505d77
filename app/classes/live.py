"""The live room's rules: join and leave (attendance), chat, the tutor's board, hands, the floor,
muting, the end at the cap. One database session per inbound message (dispatch.py); the events
go out after the commit, and the media actions (the floor, closing the room) after them.

Cost per message: a handful of primary-key reads and one indexed read of who is present; the
fan-out is one event append per present participant (the event log carries it to every instance).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.service import service_window
from app.config import Settings
from app.kit.clock import ts
from app.kit.db import rowcount
from app.kit.errors import Forbidden, error_type
from app.kit.safety import screen
from app.live.service import Outbox
from app.models import ClassAttendance, ClassEnrolment, ClassEvent, ClassState, EnrolmentState, LiveClass, Role, User
from signaling.protocol import ClassBoard, ClassChat, ClassEnd, ClassFloor, ClassHand, ClassJoin, ClassLeave, ClassMute, ClassStroke

from . import service
from .service import ClassNotOpen, NotEnrolled, OutsideServiceWindow, RemovedFromClass

NotInClass = error_type("NotInClass", 409)
ChatMuted = error_type("ChatMuted", 403)


@dataclass
class Result:
    events: Outbox = field(default_factory=list)
    reply: dict[str, Any] | None = None
    media: list[tuple[Any, ...]] = field(default_factory=list)  # ("floor", class_id, user|None) | ("close", class_id)


async def present_ids(db: AsyncSession, class_id: int) -> list[int]:
    return list(
        (
            await db.execute(
                select(ClassAttendance.student_id).where(ClassAttendance.live_class_id == class_id, ClassAttendance.present_since.is_not(None))
            )
        ).scalars()
    )


async def _everyone(db: AsyncSession, c: LiveClass, kind: str, data: dict[str, Any], but: int | None = None) -> Outbox:
    return [(u, kind, data) for u in [c.tutor_id, *await present_ids(db, c.id)] if u != but]


async def _record(
    db: AsyncSession, c: LiveClass, kind: str, sender: int, body: dict[str, Any], now: float, raw: str | None = None, flagged: bool = False
) -> int:
    await db.execute(update(LiveClass).where(LiveClass.id == c.id).values(transcript_seq=LiveClass.transcript_seq + 1))
    seq = (await db.execute(select(LiveClass.transcript_seq).where(LiveClass.id == c.id))).scalar_one()
    db.add(
        ClassEvent(
            live_class_id=c.id,
            seq=seq,
            kind=kind,
            sender_id=sender,
            created_at=ts(now),
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            raw=raw,
            flagged=flagged,
        )
    )
    return int(seq)


async def board_state(db: AsyncSession, class_id: int) -> list[dict[str, Any]]:
    """The board as it is: the strokes since the last clear, less those undone."""
    strokes: dict[str, dict[str, Any]] = {}
    for kind, body in (
        await db.execute(
            select(ClassEvent.kind, ClassEvent.body)
            .where(ClassEvent.live_class_id == class_id, ClassEvent.kind.in_(("stroke", "board")))
            .order_by(ClassEvent.seq)
        )
    ).all():
        data = json.loads(body)
        if kind == "stroke":
            strokes[data["id"]] = data
        elif data["action"] == "clear":
            strokes.clear()
        elif data.get("stroke_id"):
            strokes.pop(data["stroke_id"], None)
    return list(strokes.values())


async def roster(db: AsyncSession, c: LiveClass) -> list[dict[str, Any]]:
    rows = (
        await db.execute(
            select(User.id, User.real_name, ClassEnrolment.hand_at, ClassEnrolment.muted, ClassEnrolment.audio_muted)
            .join(ClassEnrolment, ClassEnrolment.student_id == User.id)
            .join(ClassAttendance, (ClassAttendance.student_id == User.id) & (ClassAttendance.live_class_id == c.id))
            .where(ClassEnrolment.live_class_id == c.id, ClassAttendance.present_since.is_not(None))
        )
    ).all()
    return [{"id": i, "name": n, "hand": h is not None, "muted": m, "audio_muted": a} for i, n, h, m, a in rows]


async def voice_heard(db: AsyncSession, c: LiveClass) -> int | None:
    """Whose voice the media room forwards: the floor holder, unless their voice is muted."""
    if c.floor_id is None:
        return None
    e = await db.get(ClassEnrolment, (c.id, c.floor_id))
    return None if e is None or e.audio_muted else c.floor_id


async def _window_open(db: AsyncSession, settings: Settings, now: float) -> None:
    window = await service_window(db, settings, now)
    if not window.is_open(now):
        nxt = window.next_opening(now)
        raise OutsideServiceWindow(
            f"classes are held inside the service window {settings.service_window} "
            f"({settings.timezone}); next opening {nxt.isoformat() if nxt else '-'}",
            next_opening=nxt.isoformat() if nxt else None,
        )


async def _state(db: AsyncSession, c: LiveClass, me: User) -> dict[str, Any]:
    return {
        "type": "class_state",
        "class_id": c.id,
        "title": c.title,
        "tutor_id": c.tutor_id,
        "state": c.state,
        "role": Role.TUTOR if me.id == c.tutor_id else Role.STUDENT,
        "ends_at": c.live_at.timestamp() + c.length_s if c.live_at else None,
        "floor": c.floor_id,
        "chat_muted": c.chat_muted,
        "recording": c.recording,
        "participants": await roster(db, c),
        "board": await board_state(db, c.id),
    }


async def join(db: AsyncSession, settings: Settings, user: User, c: LiveClass, now: float) -> Result:
    res = Result()
    if user.id == c.tutor_id:
        if c.state == ClassState.SCHEDULED:
            if now < c.starts_at.timestamp() - settings.class_open_before_s or now >= c.starts_at.timestamp() + c.length_s:
                raise ClassNotOpen("the room opens shortly before the class starts", starts_at=c.starts_at.timestamp())
            await _window_open(db, settings, now)
            started = await db.execute(
                update(LiveClass).where(LiveClass.id == c.id, LiveClass.state == ClassState.SCHEDULED).values(state=ClassState.LIVE, live_at=ts(now))
            )
            await db.refresh(c)
            if rowcount(started) == 1:
                data = {"class_id": c.id, "title": c.title, "ends_at": now + c.length_s, "recording": c.recording}
                res.events += [(s, "class_started", data) for s in await service.enrolled_ids(db, c.id)]
        elif c.state != ClassState.LIVE:
            raise ClassNotOpen("this class is over", state=c.state)
    else:
        e = await db.get(ClassEnrolment, (c.id, user.id))
        if e is None or e.state == EnrolmentState.WITHDRAWN:
            raise NotEnrolled("enrol in the class first")
        if e.state == EnrolmentState.REMOVED:
            raise RemovedFromClass("the tutor removed you from this class")
        if c.state != ClassState.LIVE:
            raise ClassNotOpen(
                "the class has not started yet" if c.state == ClassState.SCHEDULED else "this class is over",
                state=c.state,
                starts_at=c.starts_at.timestamp(),
            )
        await _window_open(db, settings, now)
        a = (
            await db.execute(select(ClassAttendance).where(ClassAttendance.live_class_id == c.id, ClassAttendance.student_id == user.id))
        ).scalar_one_or_none()
        if a is None:
            remaining = int(c.live_at.timestamp() + c.length_s - now) if c.live_at else c.length_s
            await service.check_weekly_cap(db, settings, user.id, c, remaining)
            db.add(ClassAttendance(live_class_id=c.id, student_id=user.id, joined_at=ts(now), seconds=0, present_since=ts(now)))
        elif a.present_since is None:
            a.present_since = ts(now)
        await db.flush()
        res.events += await _everyone(db, c, "class_joined", {"class_id": c.id, "user_id": user.id, "name": user.real_name}, but=user.id)
    res.reply = await _state(db, c, user)
    return res


async def leave_student(db: AsyncSession, c: LiveClass, student_id: int, now: float) -> Result:
    res = Result()
    a = (
        await db.execute(select(ClassAttendance).where(ClassAttendance.live_class_id == c.id, ClassAttendance.student_id == student_id))
    ).scalar_one_or_none()
    if a is None or a.present_since is None:
        return res
    a.seconds += max(0, int(now - a.present_since.timestamp()))
    a.present_since, a.left_at = None, ts(now)
    await db.execute(update(ClassEnrolment).where(ClassEnrolment.live_class_id == c.id, ClassEnrolment.student_id == student_id).values(hand_at=None))
    if c.floor_id == student_id:
        c.floor_id = None
        res.media.append(("floor", c.id, None))
        res.events += await _everyone(db, c, "class_floor", {"class_id": c.id, "student_id": None})
    await db.flush()
    res.events += await _everyone(db, c, "class_left", {"class_id": c.id, "user_id": student_id})
    return res


async def end(db: AsyncSession, settings: Settings, c: LiveClass, reason: str, now: float) -> Result:
    """End once (a conditional update: two instances' timers cannot both end it), close every
    attendance still open, book the tutor's points, close the media room."""
    present = await present_ids(db, c.id)
    done = await db.execute(
        update(LiveClass)
        .where(LiveClass.id == c.id, LiveClass.state == ClassState.LIVE)
        .values(state=ClassState.ENDED, ended_at=ts(now), end_reason=reason, floor_id=None)
    )
    if rowcount(done) != 1:
        return Result()
    for a in (
        await db.execute(select(ClassAttendance).where(ClassAttendance.live_class_id == c.id, ClassAttendance.present_since.is_not(None)))
    ).scalars():
        since = a.present_since.timestamp() if a.present_since else now  # never None: selected by it
        a.seconds += max(0, int(now - since))
        a.present_since, a.left_at = None, ts(now)
    await db.flush()
    await db.refresh(c)
    await service.book_points(db, settings, c)
    data = {"class_id": c.id, "reason": reason, "minutes": int((now - c.live_at.timestamp()) // 60) if c.live_at else 0}
    everyone = {c.tutor_id, *present, *await service.enrolled_ids(db, c.id)}
    return Result(events=[(u, "class_ended", data) for u in sorted(everyone)], media=[("close", c.id)])


async def _is_present(db: AsyncSession, c: LiveClass, user_id: int) -> bool:
    return user_id in await present_ids(db, c.id)


async def handle(db: AsyncSession, settings: Settings, user: User, msg: Any, now: float) -> Result:
    c = await service.get_class(db, msg.class_id)
    tutor = user.id == c.tutor_id
    if isinstance(msg, ClassJoin):
        joined = await join(db, settings, user, c, now)
        if joined.reply is not None:
            joined.reply["ref"] = msg.ref
        return joined
    if c.state != ClassState.LIVE:
        raise ClassNotOpen("this class is not live", state=c.state)
    if not tutor and not await _is_present(db, c, user.id):
        raise NotInClass("join the class first")
    res = Result(reply={"type": "ack", "ref": msg.ref, "class_id": c.id})
    if isinstance(msg, ClassLeave):
        if not tutor:
            left = await leave_student(db, c, user.id, now)
            res.events, res.media = left.events, left.media
    elif isinstance(msg, ClassChat):
        e = None if tutor else await db.get(ClassEnrolment, (c.id, user.id))
        if e is not None and (c.chat_muted or e.muted):
            raise ChatMuted("the tutor has muted the chat" if c.chat_muted else "the tutor has muted you")
        clean = screen(msg.text)
        body: dict[str, Any] = {"class_id": c.id, "from": user.id, "name": user.real_name, "text": clean.text}
        if clean.flagged:
            body["masked"] = True
        body["seq"] = await _record(db, c, "chat", user.id, body, now, raw=msg.text if clean.flagged else None, flagged=clean.flagged)
        res.events += await _everyone(db, c, "class_chat", body)
    elif isinstance(msg, (ClassStroke, ClassBoard)):
        if not tutor:
            raise Forbidden("only the tutor writes on the class board")
        if isinstance(msg, ClassStroke):
            body = {"class_id": c.id, "id": msg.id, "tool": msg.tool, "color": msg.color, "width": msg.width, "points": msg.points}
            kind = "stroke"
        else:
            body, kind = {"class_id": c.id, "action": msg.action, "stroke_id": msg.stroke_id}, "board"
        body["seq"] = await _record(db, c, kind, user.id, body, now)
        res.events += await _everyone(db, c, f"class_{kind}", body, but=user.id)
    elif isinstance(msg, ClassHand):
        if tutor:
            raise Forbidden("students raise their hands")
        await db.execute(
            update(ClassEnrolment)
            .where(ClassEnrolment.live_class_id == c.id, ClassEnrolment.student_id == user.id)
            .values(hand_at=ts(now) if msg.up else None)
        )
        res.events += [(u, "class_hand", {"class_id": c.id, "user_id": user.id, "name": user.real_name, "up": msg.up}) for u in (c.tutor_id, user.id)]
    elif isinstance(msg, (ClassFloor, ClassMute, ClassEnd)):
        if not tutor:
            raise Forbidden("only the tutor does that")
        if isinstance(msg, ClassEnd):
            ended = await end(db, settings, c, "ended_by_tutor", now)
            res.events, res.media = ended.events, ended.media
        elif isinstance(msg, ClassFloor):
            await _floor(db, c, msg.student_id, res)
        else:
            await _mute(db, c, msg, res)
    return res


async def _floor(db: AsyncSession, c: LiveClass, student_id: int | None, res: Result) -> None:
    """One floor at a time: giving it to another student takes it from the holder."""
    if student_id is not None:
        e = await db.get(ClassEnrolment, (c.id, student_id))
        if e is None or e.state != EnrolmentState.ENROLLED or not await _is_present(db, c, student_id):
            raise NotInClass(f"user {student_id} is not a student present in this class")
        if e.muted:
            raise InvalidMuted("unmute the student before giving them the floor")
        e.hand_at = None
    c.floor_id = student_id
    await db.flush()
    res.media.append(("floor", c.id, await voice_heard(db, c)))  # a muted voice holds the floor unheard
    res.events += await _everyone(db, c, "class_floor", {"class_id": c.id, "student_id": student_id})


InvalidMuted = error_type("StudentMuted", 409)
InvalidMute = error_type("InvalidMute", 422)


async def _mute_voice(db: AsyncSession, c: LiveClass, msg: ClassMute, res: Result) -> None:
    """One student's voice, at once: if they hold the floor they keep it, but the room stops
    forwarding them (and starts again on unmuting). Students' audio is heard only on the floor,
    so the floor holder is the only one whose media changes."""
    if msg.student_id is None:
        raise InvalidMute("the voice is muted one student at a time (student_id)")
    e = await db.get(ClassEnrolment, (c.id, msg.student_id))
    if e is None or e.state != EnrolmentState.ENROLLED:
        raise NotInClass(f"user {msg.student_id} is not a student of this class")
    e.audio_muted = msg.muted
    await db.flush()
    if c.floor_id == msg.student_id:
        res.media.append(("floor", c.id, await voice_heard(db, c)))
    res.events += await _everyone(db, c, "class_muted", {"class_id": c.id, "student_id": msg.student_id, "muted": msg.muted, "audio": True})


async def _mute(db: AsyncSession, c: LiveClass, msg: ClassMute, res: Result) -> None:
    if msg.audio:
        await _mute_voice(db, c, msg, res)
        return
    if msg.student_id is None:
        c.chat_muted = msg.muted
    else:
        e = await db.get(ClassEnrolment, (c.id, msg.student_id))
        if e is None or e.state != EnrolmentState.ENROLLED:
            raise NotInClass(f"user {msg.student_id} is not a student of this class")
        e.muted = msg.muted
        if msg.muted and c.floor_id == msg.student_id:
            c.floor_id = None
            res.media.append(("floor", c.id, None))
            res.events += await _everyone(db, c, "class_floor", {"class_id": c.id, "student_id": None})
    await db.flush()
    res.events += await _everyone(db, c, "class_muted", {"class_id": c.id, "student_id": msg.student_id, "muted": msg.muted})


async def tick(db: AsyncSession, settings: Settings, now: float) -> Result:
    """Reminders before the start; the end at the cap; a class its tutor never started lapses."""
    res = Result(events=await service.reminders(db, settings, now))
    for c in (await db.execute(select(LiveClass).where(LiveClass.state.in_(service.OPEN_STATES)))).scalars().all():
        if c.state == ClassState.LIVE and c.live_at is not None and now >= c.live_at.timestamp() + c.length_s:
            ended = await end(db, settings, c, "time_cap", now)
            res.events += ended.events
            res.media += ended.media
        elif c.state == ClassState.SCHEDULED and now >= c.starts_at.timestamp() + c.length_s:
            done = await db.execute(
                update(LiveClass)
                .where(LiveClass.id == c.id, LiveClass.state == ClassState.SCHEDULED)
                .values(state=ClassState.LAPSED, ended_at=ts(now), end_reason="not_started")
            )
            if rowcount(done) == 1:
                res.events += [(s, "class_lapsed", {"class_id": c.id}) for s in await service.enrolled_ids(db, c.id)]
    return res
