"""A live one-to-one session: matched → connecting → live → ended, with its transcript.

A message that changes the session (signal, media, hangup) is handled in one database session;
the events it causes are returned as a list and published by the caller only after the commit.
Shared items (chat, strokes, board actions, images) change nothing but the transcript: they
take the relay (signaling/relay.py), which delivers them and queues their rows for a batched
writer (app/live/transcript.py) — no transaction per message. Timestamps come from the
injected clock, so caps and timeouts are tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit.clock import ts
from app.kit.db import rowcount
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound
from app.kit.safety import Recent, screen
from app.models import Image, PointsEntry, Role, SessionEvent, SessionState, TutoringSession, User
from signaling.protocol import Board, Chat, Hangup, Media, ProtocolError, ShareImage, Signal, Stroke

ACTIVE = (SessionState.MATCHED, SessionState.CONNECTING, SessionState.LIVE)
Outbox = list[tuple[int, str, dict[str, Any]]]  # (user, kind, data), published after commit

# The last few chat lines of each sender in each session (contact details typed over several messages).
RECENT_CHAT = Recent()


@dataclass
class Result:
    events: Outbox = field(default_factory=list)
    ended_tutors: list[int] = field(default_factory=list)  # whose session ended: free for matching again
    reply: dict[str, Any] | None = None
    sent: int = 0  # events appended so far (LiveHandler.deliver goes on from here after a failure)


def _both(s: TutoringSession, kind: str, data: dict[str, Any]) -> Outbox:
    return [(s.student_id, kind, data), (s.tutor_id, kind, data)]


async def participant(db: AsyncSession, session_id: int, user_id: int, ref: str | None = None) -> tuple[TutoringSession, str, int]:
    s = await db.get(TutoringSession, session_id)
    if s is None or user_id not in (s.student_id, s.tutor_id):
        raise ProtocolError("NotYourSession", "you are not a participant of this session", ref)
    role = "student" if user_id == s.student_id else "tutor"
    return s, role, s.tutor_id if role == Role.STUDENT else s.student_id


async def end(db: AsyncSession, s: TutoringSession, reason: str, now: float) -> Result:
    """End once (a conditional update: two instances' timers cannot both end it)."""
    live_s = int(now - s.live_at.timestamp()) if s.live_at else 0
    done = await db.execute(
        update(TutoringSession)
        .where(TutoringSession.id == s.id, TutoringSession.state != SessionState.ENDED)
        .values(state=SessionState.ENDED, ended_at=ts(now), duration_s=max(live_s, 0), end_reason=reason)
    )
    if rowcount(done) != 1:
        return Result()
    await db.refresh(s)
    return Result(events=_both(s, "session_ended", {"session_id": s.id, "reason": reason, "duration_s": s.duration_s}), ended_tutors=[s.tutor_id])


async def continuous_live_s(db: AsyncSession, student_id: int, now: float, gap_s: int) -> tuple[int, float | None]:
    """The student's current run of live time (sessions separated by pauses shorter than
    `gap_s`), and when the last of them ended."""
    rows = (
        await db.execute(
            select(TutoringSession.live_at, TutoringSession.ended_at)
            .where(TutoringSession.student_id == student_id, TutoringSession.live_at.is_not(None), TutoringSession.live_at >= ts(now - 86400))
            .order_by(TutoringSession.live_at.desc())
        )
    ).all()
    total, edge, last_end = 0.0, now, None
    for live_at, ended_at in rows:
        if live_at is None:  # filtered out above; says so to the type checker
            continue
        end_t = ended_at.timestamp() if ended_at else now
        if edge - end_t >= gap_s:
            break
        last_end = max(last_end or 0.0, end_t)
        started = live_at.timestamp()
        total += end_t - started
        edge = started
    return int(total), last_end


async def rest_until(db: AsyncSession, settings: Settings, student_id: int, now: float) -> float | None:
    run, last_end = await continuous_live_s(db, student_id, now, settings.rest_gap_s)
    if run >= settings.rest_after_s and last_end is not None and now - last_end < settings.rest_gap_s:
        return last_end + settings.rest_gap_s
    return None


@dataclass
class Shared:
    """A shared item (chat, stroke, board action, image) ready for the relay: masked already."""

    kind: str
    data: dict[str, Any]  # the event, without its seq (the relay allocates it)
    recipients: list[int]
    raw: str | None = None  # the chat as typed, when masking changed it
    flagged: bool = False


def shared(user_id: int, student_id: int, tutor_id: int, msg: Chat | Stroke | Board | ShareImage, image: Image | None = None) -> Shared:
    """What a shared item becomes. No database: the caller has checked the participant (and the
    image); the relay records it. Chat and images go to both sides (the sender sees the masked
    text), strokes and board actions to the other side only."""
    other = [tutor_id if user_id == student_id else student_id]
    both = [other[0], user_id]  # the other side's copy first: the sender's own copy waits, not theirs
    sid = msg.session_id
    if isinstance(msg, Chat):
        clean = RECENT_CHAT.screen((sid, user_id), msg.text)  # also across the sender's last messages
        data: dict[str, Any] = {"session_id": sid, "from": user_id, "text": clean.text}
        if clean.flagged:
            data["masked"] = True
            return Shared("chat", data, both, raw=msg.text, flagged=True)
        return Shared("chat", data, both)
    if isinstance(msg, Stroke):
        return Shared(
            "stroke",
            {"session_id": sid, "from": user_id, "id": msg.id, "tool": msg.tool, "color": msg.color, "width": msg.width, "points": msg.points},
            other,
        )
    if isinstance(msg, Board):
        return Shared("board", {"session_id": sid, "from": user_id, "action": msg.action, "stroke_id": msg.stroke_id}, other)
    assert image is not None
    return Shared(
        "image",
        {"session_id": sid, "from": user_id, "image_id": image.id, "url": f"/api/images/{image.id}", "width": image.width, "height": image.height},
        both,
    )


async def handle(db: AsyncSession, settings: Settings, user: User, msg: Signal | Media | Hangup, now: float) -> Result:
    """The messages that change the session's state (one transaction each); shared items take
    the relay instead (see `shared` and app/live/socket.py)."""
    s, role, other = await participant(db, msg.session_id, user.id, msg.ref)
    if s.state == SessionState.ENDED:
        raise ProtocolError("SessionEnded", "this session has ended", msg.ref)
    res = Result(reply={"type": "ack", "ref": msg.ref, "session_id": s.id})
    if isinstance(msg, Signal):
        await _connecting(db, s, now)
        res.events.append((other, "signal", {"session_id": s.id, "from": user.id, "kind": msg.kind, "sdp": msg.sdp, "candidate": msg.candidate}))
    elif isinstance(msg, Media):
        await _media(db, settings, s, role, other, msg, now, res)
    elif isinstance(msg, Hangup):
        ended = await end(db, s, f"hangup_{role}", now)
        res.events, res.ended_tutors = ended.events, ended.ended_tutors
    return res


async def _connecting(db: AsyncSession, s: TutoringSession, now: float) -> None:
    await db.execute(
        update(TutoringSession)
        .where(TutoringSession.id == s.id, TutoringSession.state == SessionState.MATCHED)
        .values(state=SessionState.CONNECTING, connecting_at=ts(now))
    )


async def _media(db: AsyncSession, settings: Settings, s: TutoringSession, role: str, other: int, msg: Media, now: float, res: Result) -> None:
    if msg.state in ("disconnected", "muted", "unmuted"):  # told to the other side, nothing stored
        res.events.append((other, "peer_media", {"session_id": s.id, "state": msg.state}))
        return
    # Both sides report at nearly the same moment, each in its own transaction: the switch to
    # live is one conditional update, which only the second report can satisfy.
    run, _ = await continuous_live_s(db, s.student_id, now, settings.rest_gap_s)
    cap = max(60, min(settings.session_cap_s, settings.rest_after_s - run))  # the eyesight rule may cut it
    column = TutoringSession.student_media_at if role == Role.STUDENT else TutoringSession.tutor_media_at
    await db.execute(update(TutoringSession).where(TutoringSession.id == s.id).values({column: ts(now)}))
    await _connecting(db, s, now)
    res.events.append((other, "peer_media", {"session_id": s.id, "state": "connected"}))
    went_live = await db.execute(
        update(TutoringSession)
        .where(
            TutoringSession.id == s.id,
            TutoringSession.state.in_((SessionState.MATCHED, SessionState.CONNECTING)),
            TutoringSession.student_media_at.is_not(None),
            TutoringSession.tutor_media_at.is_not(None),
        )
        .values(state=SessionState.LIVE, live_at=ts(now), cap_s=cap)
    )
    if rowcount(went_live) == 1:
        res.events += _both(s, "session_live", {"session_id": s.id, "live_at": now, "cap_s": cap, "ends_at": now + cap})


def _epoch(db: AsyncSession, column: Any) -> Any:
    """A timestamp column as seconds since 1970, in SQL (SQLite keeps naive UTC text)."""
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _due(db: AsyncSession, settings: Settings, now: float) -> Any:
    """Active sessions for which some rule below may be due now — a necessary condition (2 s of
    margin for rounding), so that the timer loads a few sessions, not every live one, every
    second on every instance: at 1,000 live pairs loading them all took tens of ms of the event
    loop each second (loadtest.signaling --profile)."""
    t = TutoringSession
    margin = 2.0
    live = (t.state == SessionState.LIVE) & t.live_at.is_not(None)
    ends = _epoch(db, t.live_at) + func.coalesce(t.cap_s, settings.session_cap_s)
    grace = ts(now - settings.session_grace_s + margin)
    return t.state.in_(ACTIVE) & or_(
        live & (ends - max(settings.session_warnings_s) - margin <= now),
        ~live & (t.matched_at <= ts(now - settings.session_no_show_s + margin)),
        t.student_gone_at <= grace,
        t.tutor_gone_at <= grace,
    )


async def tick(db: AsyncSession, settings: Settings, now: float) -> Result:
    """Server-enforced rules: warnings before the cap, the cap, no-shows, lost connections."""
    res = Result()
    rows = (await db.execute(select(TutoringSession).where(_due(db, settings, now)))).scalars().all()
    first, second = settings.session_warnings_s
    for s in rows:
        reason = None
        if s.state == SessionState.LIVE and s.live_at is not None:
            ends = s.live_at.timestamp() + (s.cap_s or settings.session_cap_s)
            if now >= ends:
                reason = "time_cap"
            else:
                for n, before in ((1, first), (2, second)):
                    if now >= ends - before and s.warnings_sent < n:
                        sent = await db.execute(
                            update(TutoringSession).where(TutoringSession.id == s.id, TutoringSession.warnings_sent < n).values(warnings_sent=n)
                        )
                        if rowcount(sent) == 1:
                            res.events += _both(s, "session_warning", {"session_id": s.id, "seconds_left": int(ends - now)})
        elif now >= s.matched_at.timestamp() + settings.session_no_show_s:
            reason = "no_show"
        gone = [g.timestamp() for g in (s.student_gone_at, s.tutor_gone_at) if g is not None]
        if reason is None and gone and now >= min(gone) + settings.session_grace_s:
            reason = "disconnected"
        if reason:
            ended = await end(db, s, reason, now)
            res.events += ended.events
            res.ended_tutors += ended.ended_tutors
    await book_unrated(db, settings, now)
    return res


def points_for(settings: Settings, duration_s: int, rating: int | None) -> Decimal:
    minutes = duration_s / 60
    if minutes < settings.points_min_minutes:
        return Decimal("0.00")
    factor = settings.points_rating_factors[rating - 1] if rating else 1.0
    return Decimal(str(minutes * settings.points_per_minute * factor)).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def book(db: AsyncSession, settings: Settings, s: TutoringSession) -> None:
    """Book the session's points once, for exactly the rating stored: the conditional update
    matches only while the row still carries `s.rating`, so a rating racing the unrated booking
    cannot leave the ledger and the session disagreeing (the ledger's unique key guards a
    second booking)."""
    same_rating = TutoringSession.rating.is_(None) if s.rating is None else TutoringSession.rating == s.rating
    done = await db.execute(
        update(TutoringSession).where(TutoringSession.id == s.id, TutoringSession.points_booked.is_(False), same_rating).values(points_booked=True)
    )
    if rowcount(done) != 1:
        return
    tutor = await db.get(User, s.tutor_id)
    points = points_for(settings, s.duration_s or 0, s.rating)
    if points > 0 and tutor is not None and tutor.district_id is not None:
        db.add(
            PointsEntry(
                tutor_id=s.tutor_id,
                district_id=tutor.district_id,
                source_kind="one_to_one",
                source_id=s.id,
                points=points,
                note=f"rating {s.rating or '-'}, {s.duration_s}s",
            )
        )
    await db.flush()


async def book_unrated(db: AsyncSession, settings: Settings, now: float) -> None:
    rows = (
        (
            await db.execute(
                select(TutoringSession)
                .where(
                    TutoringSession.state == SessionState.ENDED,
                    TutoringSession.points_booked.is_(False),
                    TutoringSession.rating.is_(None),
                    TutoringSession.ended_at <= ts(now - settings.unrated_booking_after_s),
                )
                .limit(200)
            )
        )
        .scalars()
        .all()
    )
    for s in rows:
        await book(db, settings, s)


async def rate(db: AsyncSession, settings: Settings, student: User, session_id: int, rating: int, comment: str | None, now: float) -> TutoringSession:
    s = await db.get(TutoringSession, session_id)
    if s is None:
        raise NotFound(f"no session {session_id}")
    if s.student_id != student.id:
        raise Forbidden("only the student of the session rates it")
    if s.state != SessionState.ENDED:
        raise InvalidState("rate the session after it has ended", state=s.state)
    if not 1 <= rating <= 5:
        raise InvalidInput("rating is 1 to 5")
    # One conditional update: of concurrent ratings exactly one matches (check-then-set let
    # several through), and none once the points were booked unrated.
    done = await db.execute(
        update(TutoringSession)
        .where(TutoringSession.id == s.id, TutoringSession.rating.is_(None), TutoringSession.points_booked.is_(False))
        .values(rating=rating, rated_at=ts(now), rating_comment=screen(comment).text if comment else None)
    )
    await db.refresh(s)
    if rowcount(done) != 1:
        if s.rating is None:
            raise InvalidState("the session's points were booked unrated; it can no longer be rated")
        raise InvalidState("this session is rated already", rating=s.rating)
    await book(db, settings, s)
    return s


async def purge_transcripts(db: AsyncSession, settings: Settings, now: float) -> int:
    """Transcripts are kept for review for `transcript_retention_days`, then deleted."""
    cutoff = ts(now) - timedelta(days=settings.transcript_retention_days)
    done = await db.execute(delete(SessionEvent).where(SessionEvent.created_at < cutoff))
    return rowcount(done) or 0
