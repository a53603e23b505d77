"""The app's side of the websocket: tickets, presence, and the message path.

Per shared item (chat, stroke, board action — nearly all the traffic): parse and validate
(pydantic, in signaling/ws.py), the participant check against a per-instance cache of the
session's two users (the database is read once per session per instance), masking, and one
relay call — on production a single Redis round trip (Lua: ended? next seq, transcript row onto
the stream, the event onto each recipient's stream), on embedded a few dict operations. The
transcript reaches the database in batches (app/live/transcript.py). Measured before this path
(`python -m loadtest.signaling`): ~7-10 ms of CPU per chat, nearly all the ORM session, two
statements and a commit per message; see the README for the figures after.
Messages that change the session (signal, media, hangup) still take one transaction each.

Tickets are single use on every instance; presence is shared by every instance (signaling/
presence.py, app/live/presence.py); a user's sockets are closed everywhere when they are
suspended or signed out."""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import jwt
from fastapi import FastAPI
from redis.exceptions import RedisError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.kit.clock import Clock
from app.kit.errors import AppError
from app.models import AuthSession, Image, Role, SessionEvent, SessionState, TutoringSession, User, UserStatus, utcnow
from matching import Event, Matcher
from signaling.eventlog import EventLog
from signaling.presence import Kick, Presence
from signaling.protocol import CLASS_MESSAGES, Board, Chat, Ping, Pong, ProtocolError, ShareImage, Stroke
from signaling.relay import Relay, SessionClosed
from signaling.ws import Closer, Shared

from . import service
from .presence import settle, settle_next

log = logging.getLogger(__name__)


def make_ticket(secret: str, user: User, sid: str, ttl_s: int) -> str:
    now = utcnow()
    return jwt.encode(
        {"sub": str(user.id), "sid": sid, "typ": "ws", "jti": secrets.token_hex(8), "iat": now, "exp": now + timedelta(seconds=ttl_s)},
        secret,
        algorithm="HS256",
    )


class EventLogSink:
    """Matching's events go into the users' event streams."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    async def publish(self, event: Event) -> None:
        await self.log.append(event.user_id, event.kind, event.data)


UNAVAILABLE = "the service could not handle this just now (nothing was sent or stored); send it again"

KICK_DETAIL = {"TokenRevoked": "signed out; sign in again", "AccountSuspended": "this account is suspended"}


@dataclass
class Conn:
    """One open websocket on this instance."""

    user_id: int
    sid: str  # the signed-in device (auth session) whose ticket opened it
    close: Closer


class ClassHook(Protocol):
    """What the live connection hands to one-to-many classes (app/classes/dispatch.py)."""

    async def message(self, user: User, msg: Any) -> dict[str, Any] | None: ...

    async def disconnected(self, user: User) -> None: ...


class LiveHandler:
    """The app's side of every socket. It gets its collaborators, not the app: the settings, the
    one clock, a session maker, the event log, the relay, presence and the matcher; the class
    dispatcher is attached once it exists (it sends through this handler's sockets)."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: EventLog,
        relay: Relay,
        presence: Presence,
        matcher: Matcher,
    ) -> None:
        self.settings, self.clock, self.sessionmaker = settings, clock, sessionmaker
        self.events, self.relay, self.presence, self.matcher = events, relay, presence, matcher
        self.classes: ClassHook | None = None
        self.conns: dict[str, Conn] = {}  # this instance's sockets, by connection id
        self._conn_of: WeakKeyDictionary[User, str] = WeakKeyDictionary()  # the user object a socket holds
        self._sid_of: WeakKeyDictionary[User, str] = WeakKeyDictionary()
        self._refreshed = self._rechecked = self._swept = float("-inf")
        self._round = 0  # where the sweep's round through the active sessions goes on (settle_next)
        self._recheck_after = ""  # where the recheck's round through the sockets' sign-ins goes on
        self.presence.on_kick(self._on_kick)
        self.pairs: dict[int, tuple[int, int]] = {}  # session → (student, tutor): they never change
        self.beats: dict[int, float] = {}  # tutor → when the last message renewed their duty presence
        self.loading: dict[int, asyncio.Future[tuple[int, int] | str | None]] = {}
        self._wanted: list[int] = []  # sessions to read in the next query (_loaded)
        self._loader: asyncio.Task[None] | None = None
        self._unsettled: tuple[set[int], asyncio.Future[None]] | None = None  # users for the next settle (_settle)
        self._settler: asyncio.Task[None] | None = None

    @property
    def now(self) -> float:
        return self.clock.now()

    async def publish(self, outbox: service.Outbox) -> None:
        for user_id, kind, data in outbox:
            await self.events.append(user_id, kind, data)

    async def deliver(self, result: service.Result) -> None:
        """After the commit: send the events, and free the tutors whose session ended. Goes on
        from where a failed call stopped (`result.sent`): each event is sent once; closing a
        session in the relay and freeing a tutor are idempotent."""
        while result.sent < len(result.events):
            user_id, kind, data = result.events[result.sent]
            await self.events.append(user_id, kind, data)
            result.sent += 1
        for sid in {data["session_id"] for _, kind, data in result.events if kind == "session_ended"}:
            self.pairs.pop(sid, None)
            await self.relay.close_session(sid)  # on every instance: the relay refuses more
        for tutor_id in result.ended_tutors:
            await self.matcher.session_ended(tutor_id)

    async def announce(self, result: service.Result) -> None:
        """`deliver`, for a change already committed: if the event log or the matcher does not
        answer (Redis's connections all busy, a reconnect), the change stands and what is left
        of its delivery is retried in the background (REDELIVER_AFTER_S) rather than failing
        the message that made it. At 3,000 live pairs 102 hangups that had ended their session
        were answered ServerError this way, and their other side never heard (loadtest.signaling)."""
        try:
            await self.deliver(result)
        except (RedisError, OSError, TimeoutError):
            log.warning("announcing a committed change failed; retrying in the background", exc_info=True)
            task = asyncio.create_task(self._redeliver(result))
            _redelivering.add(task)
            task.add_done_callback(_redelivering.discard)

    async def _redeliver(self, result: service.Result) -> None:
        for wait_s in REDELIVER_AFTER_S:
            await asyncio.sleep(wait_s)
            try:
                await self.deliver(result)
                return
            except (RedisError, OSError, TimeoutError):
                continue
        # who was not told what (not the events' data: a signal carries network addresses)
        untold = [(user_id, kind) for user_id, kind, _ in result.events[result.sent :]]
        log.error("gave up announcing a committed change after %d tries; not sent: %s", len(REDELIVER_AFTER_S), untold)

    async def authenticate(self, ticket: str | None) -> User:
        if not ticket:
            raise ProtocolError("NotAuthenticated", "connect with ?ticket= from POST /api/live/ticket")
        try:
            claims = jwt.decode(ticket, self.settings.secret(), algorithms=["HS256"])
        except jwt.ExpiredSignatureError:
            raise ProtocolError("TokenExpired", "the ticket has expired; get a new one") from None
        except jwt.PyJWTError:
            raise ProtocolError("NotAuthenticated", "invalid ticket") from None
        if claims.get("typ") != "ws" or not claims.get("jti"):
            raise ProtocolError("NotAuthenticated", "not a websocket ticket")
        # Single use, on every instance: the jti is remembered until the ticket would expire
        # anyway (PyJWT checked `exp` against the wall clock, so the remaining life is too).
        try:
            if not await self.presence.claim_once(f"jti:{claims['jti']}", int(claims["exp"]) - time.time() + 1, self.now):
                raise ProtocolError("TicketUsed", "this ticket was used already; get a new one")
            async with self.sessionmaker() as db:
                row = (
                    await db.execute(
                        select(User, AuthSession.revoked_at)
                        .join(AuthSession, AuthSession.user_id == User.id)
                        .where(User.id == int(claims["sub"]), AuthSession.id == claims["sid"])
                    )
                ).first()
        except (SQLAlchemyError, RedisError):
            log.warning("a websocket could not be authenticated just now", exc_info=True)
            raise ProtocolError("Unavailable", "the service is busy; get a new ticket and connect again shortly") from None
        if row is None or row[1] is not None:
            raise ProtocolError("TokenRevoked", "signed out; sign in again")
        if row[0].status == UserStatus.SUSPENDED:
            raise ProtocolError("AccountSuspended", "this account is suspended")
        self._sid_of[row[0]] = claims["sid"]
        return row[0]

    async def connected(self, user: User, close: Closer) -> None:
        conn = secrets.token_hex(8)
        self.conns[conn] = Conn(user.id, self._sid_of.get(user, ""), close)
        self._conn_of[user] = conn
        await self.presence.register(user.id, conn, self.now)
        if user.role == Role.TUTOR:
            await self.matcher.heartbeat(user.id)
        try:
            await self._settle({user.id})
        except (SQLAlchemyError, RedisError):
            # The socket works without it: the other side hears `back` from the timer's round
            # (settle_next) instead of at once.
            log.warning("settling a returning user failed; the timer's round will", exc_info=True)

    async def disconnected(self, user: User) -> None:
        conn = self._conn_of.pop(user, None)
        if conn is None:
            return
        self.conns.pop(conn, None)
        await self.presence.unregister(user.id, conn)
        await self._settle({user.id})  # `lost` only if no other socket of theirs is alive anywhere
        if self.classes is not None and not any(c.user_id == user.id for c in self.conns.values()):
            await self.classes.disconnected(user)  # their last socket on this instance

    async def _settle(self, users: set[int]) -> None:
        """Gone/back recorded for `users` (a socket of theirs opened, closed or lapsed), with
        every other user asked for in the same moment: the sockets of an evening closing or
        reconnecting together (an instance restarted, a network blip) were one transaction
        each. At 3,000 live pairs on two instances, 6,000 of them queued for a pool of 20
        connections, and those that waited past the pool's 30 s failed (loadtest.signaling,
        2026-11-27). Returns once these users' batch is recorded and announced; raises what
        that batch raised."""
        if self._unsettled is None:
            self._unsettled = (set(), asyncio.get_running_loop().create_future())
            if self._settler is None or self._settler.done():
                self._settler = asyncio.create_task(self._settle_batches())
        wanted, done = self._unsettled
        wanted |= users
        await asyncio.shield(done)

    async def _settle_batches(self) -> None:
        done: asyncio.Future[None] | None = None
        try:
            while self._unsettled is not None:
                await asyncio.sleep(0)  # let the sockets that closed together ask too
                (users, done), self._unsettled = self._unsettled, None  # asked from now on: the next batch
                try:
                    ordered = sorted(users)
                    for start in range(0, len(ordered), SETTLE_STEP):
                        await self._settle_step(set(ordered[start : start + SETTLE_STEP]))
                except Exception as exc:  # noqa: BLE001 - every caller of this batch gets it
                    done.set_exception(exc)
                    done.exception()  # read here too: a caller cancelled meanwhile leaves nobody to read it
                else:
                    done.set_result(None)
        finally:  # cancelled (shutdown): nobody waits forever
            pending = [f for f in (done, self._unsettled[1] if self._unsettled else None) if f is not None and not f.done()]
            self._unsettled = None
            for future in pending:
                future.set_exception(ConnectionError("the live handler stopped before this was recorded"))
                future.exception()

    async def _settle_step(self, users: set[int]) -> None:
        now = self.now
        async with self.sessionmaker() as db:
            outbox = await settle(db, lambda ids: self.presence.present(ids, now), now, users)
            await db.commit()
        await self.publish(outbox)

    async def keep_alive(self) -> None:
        """This instance's sockets are alive: push their expiry forward (one round trip every
        `ws_presence_refresh_s`; an instance that stops doing this — killed, frozen — lets its
        sockets expire after `ws_presence_ttl_s`, and every other instance's sweep notices)."""
        now, s = self.now, self.settings
        if now - self._refreshed >= s.ws_presence_refresh_s:
            # a few hundred a step of the loop (REFRESH_STEP, signaling/presence.py)
            await self.presence.refresh([(c.user_id, conn) for conn, c in list(self.conns.items())], now)
            self._refreshed = now
        await self._recheck(now)

    async def sweep(self) -> None:
        """The timer's pass (every instance runs it; exactly one records each change). First
        the users whose sockets lapsed since the last pass (an instance killed or frozen: `lost`
        within a pass of their expiry), then the next SWEEP_STEP active sessions of a round
        through them all, for a change nobody recorded (an instance that died between a socket
        closing and its settle). Reading every active session each second instead held the
        SQLite thread and the loop for 25-70 ms a second at 1,000 live pairs, and overlapped
        a third of the relay's slowest percent of messages (loadtest.signaling, the sweep timed
        against the client's latencies)."""
        now = self.now
        lapsed = await self.presence.lapsed(self._swept, now)
        self._swept = now  # only once asked: a pass that failed leaves its interval to the next
        if lapsed:
            await self._settle(lapsed)
        async with self.sessionmaker() as db:
            outbox, self._round = await settle_next(db, lambda ids: self.presence.present(ids, now), now, self._round)
            await db.commit()
        await self.publish(outbox)

    # --- closing sockets: suspension, sign-out, password change -------------------------------
    async def kick(self, user_id: int, sid: str | None, reason: str) -> None:
        await self.presence.kick(Kick(user_id, sid, reason))

    async def _on_kick(self, kick: Kick) -> None:
        detail = KICK_DETAIL.get(kick.reason, "sign in again")
        for conn in [c for c in list(self.conns.values()) if c.user_id == kick.user_id and (kick.sid is None or c.sid == kick.sid)]:
            await conn.close(4401, kick.reason, detail)

    async def _recheck(self, now: float) -> None:
        """A kick is a pub/sub message and can be missed (a subscriber reconnecting): close the
        sockets whose sign-in was revoked or whose account was suspended, reading every socket's
        sign-in once per `ws_auth_recheck_s`. Each pass reads the share that came due since the
        last one, going round them in order: all of them at once every 15 s were 8 queries in
        60-100 ms at 2,000 sockets, 0.3-0.9 % of the messages but 5-11 % of the relay's slowest
        percent (loadtest.signaling)."""
        elapsed, self._rechecked = now - self._rechecked, now  # at once: a pass running meanwhile finds nothing due
        sids = sorted({c.sid for c in self.conns.values() if c.sid})
        if not sids:
            return
        due = len(sids) if elapsed >= self.settings.ws_auth_recheck_s else math.ceil(len(sids) * elapsed / self.settings.ws_auth_recheck_s)
        if due == 0:  # no time has passed (a test's clock)
            return
        if due < len(sids):  # from where the last pass stopped, round to the start
            at = bisect.bisect_right(sids, self._recheck_after)
            sids = (sids[at:] + sids[:at])[:due]
            self._recheck_after = sids[-1]
        rows: list[Any] = []
        async with self.sessionmaker() as db:
            # RECHECK_STEP sign-ins per query, not every socket's in one IN list: a statement's
            # parameters are bounded (SQLite: 32,766), and the loop gets a turn between queries.
            for start in range(0, len(sids), RECHECK_STEP):
                rows += (
                    await db.execute(
                        select(AuthSession.id, AuthSession.user_id, AuthSession.revoked_at, User.status)
                        .join(User, User.id == AuthSession.user_id)
                        # only the rows that close something: every socket's row, read through
                        # the ORM, was one ~50 ms stretch of the loop every 15 s at 2,000 sockets
                        .where(
                            AuthSession.id.in_(sids[start : start + RECHECK_STEP]),
                            or_(AuthSession.revoked_at.is_not(None), User.status == UserStatus.SUSPENDED),
                        )
                    )
                ).all()
        for sid, user_id, revoked_at, status in rows:
            if status == UserStatus.SUSPENDED:
                await self._on_kick(Kick(user_id, None, "AccountSuspended"))
            elif revoked_at is not None:
                await self._on_kick(Kick(user_id, sid, "TokenRevoked"))

    async def message(self, user: User, msg: Any) -> dict[str, Any] | Shared | None:
        # `user` is the ORM row the socket authenticated as: each attribute read goes through
        # SQLAlchemy's descriptor, so the id is read once per message. And `isinstance`, not
        # `hasattr(msg, "class_id")`: on a pydantic model a missing attribute raises and catches
        # an AttributeError inside pydantic's `__getattr__` (~4 µs, every chat and stroke).
        uid = user.id
        if user.role == Role.TUTOR:
            await self._keep_on_duty(uid)
        if isinstance(msg, (Ping, Pong)):
            return None
        if isinstance(msg, CLASS_MESSAGES) and self.classes is not None:  # one-to-many classes: app/classes/dispatch.py
            return await self.classes.message(user, msg)
        try:
            if isinstance(msg, (Chat, Stroke, Board, ShareImage)):
                return await self._share(uid, msg)
            async with self.sessionmaker() as db:
                try:
                    result = await service.handle(db, self.settings, user, msg, self.now)
                    await db.commit()
                except AppError as exc:
                    await db.rollback()
                    raise ProtocolError(exc.code, exc.detail, getattr(msg, "ref", None)) from None
                except ProtocolError:
                    await db.rollback()
                    raise
        except SQLAlchemyError:
            # A pool that ran dry under load, a lost connection (reading the session's pair, an
            # image, or the session message's transaction): nothing was relayed or announced,
            # and what a session message does is conditional (media marks, the switch to live,
            # the end of a session happen once), so sending again is safe. Not a ServerError:
            # at 3,000 live pairs 2,512 hangups waited past the pool's 30 s and were answered as
            # if the server were broken (loadtest.signaling).
            log.warning("a live message could not reach the database", exc_info=True)
            raise ProtocolError("Unavailable", UNAVAILABLE, getattr(msg, "ref", None)) from None
        await self.announce(result)  # committed: the reply says so even if the events go later
        return result.reply

    async def _keep_on_duty(self, tutor_id: int) -> None:
        """The live connection keeps a tutor's duty presence alive; renewing it once every few
        seconds is plenty (the presence lasts `match_presence_ttl_s`), not a round trip per frame."""
        now = self.now
        if now - self.beats.get(tutor_id, float("-inf")) >= 5.0:
            self.beats[tutor_id] = now
            await self.matcher.heartbeat(tutor_id)

    async def _share(self, uid: int, msg: Chat | Stroke | Board | ShareImage) -> Shared:
        """`uid`: the sender's `user.id`, read once by the caller."""
        student, tutor = await self._pair(msg.session_id, uid, msg.ref)
        image = None
        if isinstance(msg, ShareImage):
            async with self.sessionmaker() as db:  # a database error: Unavailable (see `message`)
                image = await db.get(Image, msg.image_id)
            if image is None or image.owner_id != uid:
                raise ProtocolError("InvalidMessage", "share your own uploaded image (POST /api/images)", msg.ref)
        item = service.shared(uid, student, tutor, msg, image)
        try:
            sent = await self.relay.send(msg.session_id, item.kind, uid, item.data, item.recipients, self.now, raw=item.raw, flagged=item.flagged)
        except SessionClosed:
            self.pairs.pop(msg.session_id, None)
            raise ProtocolError("SessionEnded", "this session has ended", msg.ref) from None
        # No ack frame: the sender's own copy (chat, image) carries the ref (signaling/ws.py)
        return Shared(msg.session_id, sent.events.get(uid))

    async def _pair(self, session_id: int, user_id: int, ref: str | None) -> tuple[int, int]:
        pair = self.pairs.get(session_id)
        if pair is None:
            got = await asyncio.shield(self._loaded(session_id))  # a database error: Unavailable (see `message`)
            if got == "ended":
                raise ProtocolError("SessionEnded", "this session has ended", ref)
            pair = got if isinstance(got, tuple) else None
        if pair is None or user_id not in pair:
            raise ProtocolError("NotYourSession", "you are not a participant of this session", ref)
        return pair

    def _loaded(self, session_id: int) -> asyncio.Future[tuple[int, int] | str | None]:
        """The session's participants as they will be read. One read per session however many
        of its messages arrive before it is cached, and one query for every session asked for
        in the same moment: when an evening's sockets all send their first message (or all
        reconnect to a restarted instance), 1,000 reads one after another on the database's
        one connection kept the first messages waiting for ~2 s (loadtest.signaling, 1,000
        pairs); sessions asked for while a query runs wait for the next one."""
        loading = self.loading.get(session_id)
        if loading is None:
            loading = self.loading[session_id] = asyncio.get_running_loop().create_future()
            self._wanted.append(session_id)
            if self._loader is None or self._loader.done():
                self._loader = asyncio.create_task(self._load_wanted())
        return loading

    async def _load_wanted(self) -> None:
        while self._wanted:
            await asyncio.sleep(0)  # let the messages that arrived together ask too
            batch, self._wanted = self._wanted[:LOAD_BATCH], self._wanted[LOAD_BATCH:]
            found: dict[int, tuple[int, int] | str] = {}
            failed: Exception | None = None
            try:
                found = await self._load(batch)
            except Exception as exc:  # noqa: BLE001 - every waiting message gets the failure (SQLAlchemyError: "Unavailable")
                failed = exc
            for sid in batch:
                future = self.loading.pop(sid, None)
                if future is None or future.done():
                    continue
                if failed is None:
                    future.set_result(found.get(sid))
                else:
                    future.set_exception(failed)
                    future.exception()  # read here too: a message that gave up waiting leaves nobody to read it

    async def _load(self, session_ids: list[int]) -> dict[int, tuple[int, int] | str]:
        t, e = TutoringSession, SessionEvent
        # The last seq written: one descent of the (session_id, seq) key per session.
        last = select(func.coalesce(func.max(e.seq), 0)).where(e.session_id == t.id).scalar_subquery()
        async with self.sessionmaker() as db:
            rows = (await db.execute(select(t.id, t.student_id, t.tutor_id, t.state, last.label("last_seq")).where(t.id.in_(session_ids)))).all()
        found: dict[int, tuple[int, int] | str] = {}
        for row in rows:
            if row.state == SessionState.ENDED:
                await self.relay.close_session(row.id)
                found[row.id] = "ended"
                continue
            await self.relay.start_seq(row.id, row.last_seq)
            if len(self.pairs) >= 100_000:  # sessions end; a long-running instance forgets old ones
                self.pairs.clear()
            found[row.id] = self.pairs[row.id] = (row.student_id, row.tutor_id)
        return found


LOAD_BATCH = 500  # sessions read by one query (_loaded)
REDELIVER_AFTER_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # waits before each retry of a failed announcement (announce)
_redelivering: set[asyncio.Task[None]] = set()  # strong references: a task only the loop knows may be collected
SETTLE_STEP = 500  # users settled by one transaction (_settle): two IN lists of this many
RECHECK_STEP = 250  # sign-ins read by one query (_recheck)


PURGE_EVERY_S = 3600.0


async def run_tick(app: FastAPI) -> None:
    """One pass of the session timers (every instance runs it; each step is conditional), and
    once an hour the purge of transcripts past their retention. Presence first: this
    instance's sockets are refreshed, then gone/back is settled, then the grace is applied."""
    handler: LiveHandler = app.state.live
    await handler.keep_alive()
    await handler.sweep()
    now = app.state.clock.now()
    async with app.state.sessionmaker() as db:
        result = await service.tick(db, app.state.settings, now)
        if now - getattr(app.state, "last_purge", 0.0) >= PURGE_EVERY_S:
            await service.purge_transcripts(db, app.state.settings, now)
            app.state.last_purge = now
        await db.commit()
    await handler.announce(result)
