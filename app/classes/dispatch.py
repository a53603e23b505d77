"""Class messages on the websocket: the one hook `LiveHandler.message` calls for any message
with a `class_id`, and `LiveHandler.disconnected` when a user's last socket closes.

One database session per message; events after the commit; then the media actions (the room
is in this process for the aiortc backend, so they run only after the database agrees).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from app.kit.errors import AppError
from app.models import ClassAttendance, ClassState, LiveClass, Role, User
from classroom import MediaBackend, MediaUnavailable, make_backend
from classroom.routing import RoutedMedia
from signaling.protocol import ClassLeave, ClassSignal, ProtocolError

from . import live

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0


def media_options(settings: Any) -> dict[str, Any]:
    """What the configured media backend needs from the settings (only Janus needs any)."""
    if settings.class_media != "janus":
        return {}
    return {
        "url": settings.janus_url,
        "api_secret": settings.janus_api_secret,
        "timeout_s": settings.janus_timeout_s,
        "room_prefix": settings.janus_room_prefix or f"{settings.redis_prefix}class-",
    }


class ClassDispatch:
    def __init__(self, app: FastAPI, media: MediaBackend | None = None) -> None:
        self.app = app
        self.media = media or make_backend(app.state.settings.class_media, **media_options(app.state.settings))
        if media is None and getattr(app.state, "redis", None) is not None and self.media.name != "janus":
            # An in-process room lives in one instance: the others route to it. Janus's rooms are
            # shared by every instance (each drives its own participants' connections), so no routing.
            self.media = RoutedMedia(self.media, app.state.redis, app.state.settings.redis_prefix)
            self.media.on_takeover = self.media_moved
        self._gone: dict[tuple[int, int], float] = {}  # (class, student) → first seen without a socket anywhere
        self._swept = float("-inf")

    async def start(self) -> None:
        start = getattr(self.media, "start", None)
        if start is not None:
            await start()
        await self.reconcile()

    async def reconcile(self) -> list[int]:
        """A media server outside this process (Janus) may hold rooms of classes that ended while
        no instance was there to close them (a crash): destroy the rooms of classes not live."""
        local = getattr(self.media, "local", self.media)
        if not hasattr(local, "reconcile"):
            return []
        async with self.app.state.sessionmaker() as db:
            live_ids = set((await db.execute(select(LiveClass.id).where(LiveClass.state == ClassState.LIVE))).scalars())
        try:
            orphans: list[int] = await local.reconcile(live_ids)
        except MediaUnavailable as exc:  # the service starts; joining a class says the media is unavailable
            log.warning("class media not reconciled at start-up: %s", exc)
            return []
        if orphans:
            log.info("class media: destroyed %d orphan room(s) of classes no longer live: %s", len(orphans), orphans)
        return orphans

    @property
    def now(self) -> float:
        return float(self.app.state.clock.now())

    async def deliver(self, result: live.Result) -> None:
        for user_id, kind, data in result.events:
            await self.app.state.events.append(user_id, kind, data)
        for action in result.media:
            try:
                if action[0] == "floor":
                    if action[2] is None:
                        await self.media.take_floor(action[1])
                    else:
                        await self.media.give_floor(action[1], action[2])
                elif action[0] == "leave":
                    await self.media.leave(action[1], action[2])
                elif action[0] == "close":
                    await self.media.close_room(action[1])
            except Exception:  # noqa: BLE001 - the records are committed; a media hiccup must not undo them
                log.exception("class media action %s failed", action)

    async def message(self, user: User, msg: Any) -> dict[str, Any] | None:
        settings = self.app.state.settings
        async with self.app.state.sessionmaker() as db:
            try:
                if isinstance(msg, ClassSignal):
                    c = await self._connectable(db, user, msg.class_id)
                    heard = await live.voice_heard(db, c)
                    result = live.Result(reply={"type": "ack", "ref": msg.ref, "class_id": c.id})
                else:
                    c, heard = None, None
                    result = await live.handle(db, settings, user, msg, self.now)
                await db.commit()
            except AppError as exc:
                await db.rollback()
                raise ProtocolError(exc.code, exc.detail, getattr(msg, "ref", None)) from None
        if isinstance(msg, ClassLeave):
            result.media.append(("leave", msg.class_id, user.id))
        if c is not None:
            await self._signal(user, c, msg, heard)
        await self.deliver(result)
        return result.reply

    async def _connectable(self, db: Any, user: User, class_id: int) -> LiveClass:
        c = await live.service.get_class(db, class_id)
        if c.state != ClassState.LIVE:
            raise live.ClassNotOpen("this class is not live", state=c.state)
        if user.id != c.tutor_id and not await live._is_present(db, c, user.id):
            raise live.NotInClass("join the class before connecting its media")
        return c

    async def _signal(self, user: User, c: LiveClass, msg: ClassSignal, heard: int | None) -> None:
        if msg.kind == "candidate" or not msg.sdp:
            return  # the service answers with all its candidates and reads the client's from its offer
        record = self._record_to(c)
        try:
            await self.media.create_room(c.id, record_to=record)
            if user.id == c.tutor_id:
                answer = await self.media.publish(c.id, user.id, msg.sdp)
            else:
                answer = await self.media.subscribe(c.id, user.id, msg.sdp)
                if heard == user.id:  # reconnected while holding the floor (and not muted)
                    await self.media.give_floor(c.id, user.id)
        except MediaUnavailable as exc:
            raise ProtocolError("MediaUnavailable", str(exc), msg.ref) from None
        except ValueError as exc:
            raise ProtocolError("InvalidMessage", f"sdp: {exc}", msg.ref) from None
        await self.app.state.events.append(user.id, "class_signal", {"class_id": c.id, "kind": "answer", "sdp": answer})

    async def disconnected(self, user: User) -> None:
        """The user's last socket closed: they leave the classes they were in."""
        if user.role != Role.STUDENT:
            return
        async with self.app.state.sessionmaker() as db:
            ids = list(
                (
                    await db.execute(
                        select(ClassAttendance.live_class_id).where(ClassAttendance.student_id == user.id, ClassAttendance.present_since.is_not(None))
                    )
                ).scalars()
            )
            results = []
            for class_id in ids:
                c = await db.get(LiveClass, class_id)
                if c is not None and c.state == ClassState.LIVE:
                    r = await live.leave_student(db, c, user.id, self.now)
                    r.media.append(("leave", class_id, user.id))
                    results.append(r)
            await db.commit()
        for r in results:
            await self.deliver(r)

    def _record_to(self, c: LiveClass) -> Any:
        return self.app.state.settings.data_dir / "recordings" / f"class-{c.id}.wav" if c.recording else None

    async def media_moved(self, class_id: int) -> None:
        """This instance took the class's room over from a dead one: everyone in the class connects
        their media again (the offer reaches this room; the floor is set from the records then)."""
        async with self.app.state.sessionmaker() as db:
            c = await db.get(LiveClass, class_id)
            if c is None or c.state != ClassState.LIVE:
                return
            people = [c.tutor_id, *await live.present_ids(db, class_id)]
        for user_id in people:
            await self.app.state.events.append(user_id, "class_media_moved", {"class_id": class_id})

    async def _sweep(self, db: Any, now: float) -> list[live.Result]:
        """Students present in a live class with no socket anywhere for `session_grace_s` leave it,
        as of when they were first seen gone. A closing socket makes them leave at once
        (`disconnected`); this is for those whose socket died with its instance and who did not
        come back through another. Every SWEEP_EVERY_S: one indexed read and one pipelined presence
        lookup for the students present in live classes."""
        if now - self._swept < SWEEP_EVERY_S:
            return []
        self._swept = now
        rows = (
            await db.execute(
                select(ClassAttendance.live_class_id, ClassAttendance.student_id)
                .join(LiveClass, LiveClass.id == ClassAttendance.live_class_id)
                .where(LiveClass.state == ClassState.LIVE, ClassAttendance.present_since.is_not(None))
            )
        ).all()
        here = await self.app.state.presence.present({s for _, s in rows}, now) if rows else set()
        keys = {(c, s) for c, s in rows}
        self._gone = {k: t for k, t in self._gone.items() if k in keys and k[1] not in here}
        results = []
        for class_id, student_id in rows:
            if student_id in here:
                continue
            since = self._gone.setdefault((class_id, student_id), now)
            if now - since >= self.app.state.settings.session_grace_s:
                c = await db.get(LiveClass, class_id)
                r = await live.leave_student(db, c, student_id, since)
                r.media.append(("leave", class_id, student_id))
                results.append(r)
                del self._gone[(class_id, student_id)]
        return results

    async def tick(self) -> None:
        async with self.app.state.sessionmaker() as db:
            result = await live.tick(db, self.app.state.settings, self.now)
            for gone in await self._sweep(db, self.now):
                result.events += gone.events
                result.media += gone.media
            await db.commit()
            adopt = getattr(self.media, "adopt", None)
            rooms = [] if adopt is None else list((await db.execute(select(LiveClass).where(LiveClass.state == ClassState.LIVE))).scalars())
        await self.deliver(result)
        for c in rooms:  # a room whose instance died is taken over (classroom/routing.py)
            try:
                assert adopt is not None  # rooms is empty without it
                await adopt(c.id, record_to=self._record_to(c))
            except Exception:  # noqa: BLE001 - Redis down: the next tick tries again
                log.warning("class %s: checking its media room's owner failed", c.id, exc_info=True)


async def run_tick(app: FastAPI) -> None:
    await app.state.classes.tick()
