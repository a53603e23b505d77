"""The app's side of the websocket: tickets, presence, and the message path.

Per shared item (chat, stroke, board action — nearly all the traffic): parse and validate
(pydantic, in signaling/ws.py), the participant check against a per-instance cache of the
session's two users (the database is read once per session per instance), masking, and one
relay call — on production a single Redis round trip (Lua: ended? next seq, transcript row onto
the stream, the event onto each recipient's stream), on embedded a few dict operations. The
transcript reaches the database in batches (app/live/transcript.py). Measured before this path
(`python -m loadtest.signaling`): ~7-10 ms of CPU per chat, nearly all the ORM session, two
statements and a commit per message; see the README for the figures after.
Messages that change the session (signal, media, hangup) still take one transaction each."""
from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import timedelta
from typing import Any

import jwt
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.kit.errors import AppError
from app.models import AuthSession, Image, TutoringSession, User, utcnow
from matching import Event
from signaling.protocol import Board, Chat, Ping, Pong, ProtocolError, ShareImage, Stroke
from signaling.relay import SessionClosed

from . import service


def make_ticket(secret: str, user: User, sid: str, ttl_s: int) -> str:
    now = utcnow()
    return jwt.encode({"sub": str(user.id), "sid": sid, "typ": "ws", "jti": secrets.token_hex(8),
                       "iat": now, "exp": now + timedelta(seconds=ttl_s)}, secret, algorithm="HS256")


class EventLogSink:
    """Matching's events go into the users' event streams."""

    def __init__(self, log) -> None:  # type: ignore[no-untyped-def]
        self.log = log

    async def publish(self, event: Event) -> None:
        await self.log.append(event.user_id, event.kind, event.data)


class LiveHandler:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.local = Counter[int]()  # open sockets per user on this instance
        self.pairs: dict[int, tuple[int, int]] = {}  # session → (student, tutor): they never change
        self.beats: dict[int, float] = {}  # tutor → when the last message renewed their duty presence
        self.loading: dict[int, asyncio.Future[tuple[int, int] | str | None]] = {}

    @property
    def now(self) -> float:
        return self.app.state.matcher.clock.now()

    async def publish(self, outbox: service.Outbox) -> None:
        for user_id, kind, data in outbox:
            await self.app.state.events.append(user_id, kind, data)

    async def deliver(self, result: service.Result) -> None:
        """After the commit: send the events, and free the tutors whose session ended."""
        await self.publish(result.events)
        for sid in {data["session_id"] for _, kind, data in result.events if kind == "session_ended"}:
            self.pairs.pop(sid, None)
            await self.app.state.relay.close_session(sid)  # on every instance: the relay refuses more
        for tutor_id in result.ended_tutors:
            await self.app.state.matcher.session_ended(tutor_id)

    async def authenticate(self, ticket: str | None) -> User:
        if not ticket:
            raise ProtocolError("NotAuthenticated", "connect with ?ticket= from POST /api/live/ticket")
        try:
            claims = jwt.decode(ticket, self.app.state.settings.secret(), algorithms=["HS256"])
        except jwt.ExpiredSignatureError:
            raise ProtocolError("TokenExpired", "the ticket has expired; get a new one") from None
        except jwt.PyJWTError:
            raise ProtocolError("NotAuthenticated", "invalid ticket") from None
        if claims.get("typ") != "ws":
            raise ProtocolError("NotAuthenticated", "not a websocket ticket")
        async with self.app.state.sessionmaker() as db:
            row = (await db.execute(select(User, AuthSession.revoked_at).join(AuthSession, AuthSession.user_id == User.id)
                                    .where(User.id == int(claims["sub"]), AuthSession.id == claims["sid"]))).first()
        if row is None or row[1] is not None:
            raise ProtocolError("TokenRevoked", "signed out; sign in again")
        if row[0].status == "suspended":
            raise ProtocolError("AccountSuspended", "this account is suspended")
        return row[0]

    async def connected(self, user: User) -> None:
        self.local[user.id] += 1
        if user.role == "tutor":
            await self.app.state.matcher.heartbeat(user.id)
        await self._presence(user, True)

    async def disconnected(self, user: User) -> None:
        self.local[user.id] -= 1
        if self.local[user.id] <= 0:
            del self.local[user.id]
            await self._presence(user, False)
            await self.app.state.classes.disconnected(user)

    async def _presence(self, user: User, connected: bool) -> None:
        async with self.app.state.sessionmaker() as db:
            outbox = await service.presence(db, user.id, connected, self.now)
            await db.commit()
        await self.publish(outbox)

    async def message(self, user: User, msg: Any) -> dict[str, Any] | None:
        if user.role == "tutor":
            await self._keep_on_duty(user.id)
        if isinstance(msg, (Ping, Pong)):
            return None
        if hasattr(msg, "class_id"):  # one-to-many classes: app/classes/dispatch.py
            return await self.app.state.classes.message(user, msg)  # type: ignore[no-any-return]
        if isinstance(msg, (Chat, Stroke, Board, ShareImage)):
            return await self._share(user, msg)
        async with self.app.state.sessionmaker() as db:
            try:
                result = await service.handle(db, self.app.state.settings, user, msg, self.now)
                await db.commit()
            except AppError as exc:
                await db.rollback()
                raise ProtocolError(exc.code, exc.detail, getattr(msg, "ref", None)) from None
            except ProtocolError:
                await db.rollback()
                raise
        await self.deliver(result)
        return result.reply

    async def _keep_on_duty(self, tutor_id: int) -> None:
        """The live connection keeps a tutor's duty presence alive; renewing it once every few
        seconds is plenty (the presence lasts `match_presence_ttl_s`), not a round trip per frame."""
        now = self.now
        if now - self.beats.get(tutor_id, float("-inf")) >= 5.0:
            self.beats[tutor_id] = now
            await self.app.state.matcher.heartbeat(tutor_id)

    async def _share(self, user: User, msg: Chat | Stroke | Board | ShareImage) -> dict[str, Any]:
        student, tutor = await self._pair(msg.session_id, user.id, msg.ref)
        image = None
        if isinstance(msg, ShareImage):
            async with self.app.state.sessionmaker() as db:
                image = await db.get(Image, msg.image_id)
            if image is None or image.owner_id != user.id:
                raise ProtocolError("InvalidMessage", "share your own uploaded image (POST /api/images)", msg.ref)
        item = service.shared(user.id, student, tutor, msg, image)
        try:
            await self.app.state.relay.send(msg.session_id, item.kind, user.id, item.data, item.recipients, self.now,
                                            raw=item.raw, flagged=item.flagged)
        except SessionClosed:
            self.pairs.pop(msg.session_id, None)
            raise ProtocolError("SessionEnded", "this session has ended", msg.ref) from None
        return {"type": "ack", "ref": msg.ref, "session_id": msg.session_id}

    async def _pair(self, session_id: int, user_id: int, ref: str | None) -> tuple[int, int]:
        pair = self.pairs.get(session_id)
        if pair is None:
            # One read per session however many of its messages arrive before it is cached (at
            # the start of an evening every socket's first message misses at once).
            loading = self.loading.get(session_id)
            if loading is None:
                loading = self.loading[session_id] = asyncio.ensure_future(self._load(session_id))
                loading.add_done_callback(lambda _: self.loading.pop(session_id, None))
            try:
                pair = await asyncio.shield(loading)
            except SQLAlchemyError:
                raise ProtocolError("Unavailable", "the session could not be read just now; send again", ref) from None
            if pair == "ended":
                raise ProtocolError("SessionEnded", "this session has ended", ref)
        if pair is None or user_id not in pair:
            raise ProtocolError("NotYourSession", "you are not a participant of this session", ref)
        return pair  # type: ignore[return-value]

    async def _load(self, session_id: int) -> tuple[int, int] | str | None:
        async with self.app.state.sessionmaker() as db:
            row = (await db.execute(select(TutoringSession.student_id, TutoringSession.tutor_id, TutoringSession.state,
                                           TutoringSession.transcript_seq).where(TutoringSession.id == session_id))).first()
        if row is None:
            return None
        if row.state == "ended":
            await self.app.state.relay.close_session(session_id)
            return "ended"
        await self.app.state.relay.start_seq(session_id, row.transcript_seq)
        if len(self.pairs) >= 100_000:  # sessions end; a long-running instance forgets old ones
            self.pairs.clear()
        self.pairs[session_id] = (row.student_id, row.tutor_id)
        return self.pairs[session_id]


PURGE_EVERY_S = 3600.0


async def run_tick(app: FastAPI) -> None:
    """One pass of the session timers (every instance runs it; each step is conditional), and
    once an hour the purge of transcripts past their retention."""
    now = app.state.matcher.clock.now()
    async with app.state.sessionmaker() as db:
        result = await service.tick(db, app.state.settings, now)
        if now - getattr(app.state, "last_purge", 0.0) >= PURGE_EVERY_S:
            await service.purge_transcripts(db, app.state.settings, now)
            app.state.last_purge = now
        await db.commit()
    handler: LiveHandler = app.state.live
    await handler.deliver(result)
