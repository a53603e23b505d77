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
from app.models import ClassAttendance, LiveClass, User
from classroom import MediaBackend, MediaUnavailable, make_backend
from classroom.routing import RoutedMedia
from signaling.protocol import ClassLeave, ClassSignal, ProtocolError

from . import live

log = logging.getLogger(__name__)


def media_options(settings: Any) -> dict[str, Any]:
    """What the configured media backend needs from the settings (only Janus needs any)."""
    if settings.class_media != "janus":
        return {}
    return {"url": settings.janus_url, "api_secret": settings.janus_api_secret, "timeout_s": settings.janus_timeout_s,
            "room_prefix": settings.janus_room_prefix or f"{settings.redis_prefix}class-"}


class ClassDispatch:
    def __init__(self, app: FastAPI, media: MediaBackend | None = None) -> None:
        self.app = app
        self.media = media or make_backend(app.state.settings.class_media, **media_options(app.state.settings))
        if media is None and getattr(app.state, "redis", None) is not None and self.media.name != "janus":
            # An in-process room lives in one instance: the others route to it. Janus's rooms are
            # shared by every instance (each drives its own participants' connections), so no routing.
            self.media = RoutedMedia(self.media, app.state.redis, app.state.settings.redis_prefix)

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
            live_ids = set((await db.execute(select(LiveClass.id).where(LiveClass.state == "live"))).scalars())
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
        return float(self.app.state.matcher.clock.now())

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
                    result = live.Result(reply={"type": "ack", "ref": msg.ref, "class_id": c.id})
                else:
                    c = None
                    result = await live.handle(db, settings, user, msg, self.now)
                await db.commit()
            except AppError as exc:
                await db.rollback()
                raise ProtocolError(exc.code, exc.detail, getattr(msg, "ref", None)) from None
        if isinstance(msg, ClassLeave):
            result.media.append(("leave", msg.class_id, user.id))
        if c is not None:
            await self._signal(user, c, msg)
        await self.deliver(result)
        return result.reply

    async def _connectable(self, db: Any, user: User, class_id: int) -> LiveClass:
        c = await live.service.get_class(db, class_id)
        if c.state != "live":
            raise live.ClassNotOpen("this class is not live", state=c.state)
        if user.id != c.tutor_id and not await live._is_present(db, c, user.id):
            raise live.NotInClass("join the class before connecting its media")
        return c

    async def _signal(self, user: User, c: LiveClass, msg: ClassSignal) -> None:
        if msg.kind == "candidate" or not msg.sdp:
            return  # the service answers with all its candidates and reads the client's from its offer
        record = self.app.state.settings.data_dir / "recordings" / f"class-{c.id}.wav" if c.recording else None
        try:
            await self.media.create_room(c.id, record_to=record)
            if user.id == c.tutor_id:
                answer = await self.media.publish(c.id, user.id, msg.sdp)
            else:
                answer = await self.media.subscribe(c.id, user.id, msg.sdp)
                if c.floor_id == user.id:  # reconnected while holding the floor
                    await self.media.give_floor(c.id, user.id)
        except MediaUnavailable as exc:
            raise ProtocolError("MediaUnavailable", str(exc), msg.ref) from None
        except ValueError as exc:
            raise ProtocolError("InvalidMessage", f"sdp: {exc}", msg.ref) from None
        await self.app.state.events.append(user.id, "class_signal", {"class_id": c.id, "kind": "answer", "sdp": answer})

    async def disconnected(self, user: User) -> None:
        """The user's last socket closed: they leave the classes they were in."""
        if user.role != "student":
            return
        async with self.app.state.sessionmaker() as db:
            ids = list((await db.execute(select(ClassAttendance.live_class_id).where(
                ClassAttendance.student_id == user.id, ClassAttendance.present_since.is_not(None)))).scalars())
            results = []
            for class_id in ids:
                c = await db.get(LiveClass, class_id)
                if c is not None and c.state == "live":
                    r = await live.leave_student(db, c, user.id, self.now)
                    r.media.append(("leave", class_id, user.id))
                    results.append(r)
            await db.commit()
        for r in results:
            await self.deliver(r)

    async def tick(self) -> None:
        async with self.app.state.sessionmaker() as db:
            result = await live.tick(db, self.app.state.settings, self.now)
            await db.commit()
        await self.deliver(result)


async def run_tick(app: FastAPI) -> None:
    await app.state.classes.tick()
