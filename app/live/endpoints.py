"""Live sessions over HTTP: the websocket ticket, ICE servers, session records, rating, reports."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response, WebSocket
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import aliased

from app.accounts.deps import CurrentCaller, CurrentUser, Student
from app.accounts.scope import user_in_scope
from app.kit.db import DB, after_commit
from app.kit.errors import Forbidden, NotFound
from app.kit.jsonout import model_response
from app.kit.safety import screen
from app.models import SessionEvent, SessionReport, TutoringSession, User
from signaling.turn import ice_servers
from signaling.ws import serve

from . import service
from .socket import make_ticket

router = APIRouter(tags=["live sessions"])


class TicketOut(BaseModel):
    ticket: str
    expires_in: int
    url: str


class SessionOut(BaseModel):
    id: int
    request_id: int
    student_id: int
    tutor_id: int
    subject: str
    state: str
    matched_at: datetime
    live_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    end_reason: str | None
    cap_s: int | None
    rating: int | None
    rating_comment: str | None
    flagged: bool
    tutor_name: str | None = None  # tutors are adults and named; students (minors) are not


class RatingIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)


class ReportIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class TranscriptItem(BaseModel):
    seq: int
    kind: str
    sender_id: int | None
    body: dict[str, Any]
    raw: str | None = None  # admins only: the chat text before masking
    flagged: bool
    at: datetime


async def session_out(db: DB, s: TutoringSession) -> SessionOut:
    tutor = await db.get(User, s.tutor_id)
    return SessionOut(id=s.id, request_id=s.request_id, student_id=s.student_id, tutor_id=s.tutor_id,
                      subject=s.subject_code, state=s.state, matched_at=s.matched_at, live_at=s.live_at,
                      ended_at=s.ended_at, duration_s=s.duration_s, end_reason=s.end_reason, cap_s=s.cap_s,
                      rating=s.rating, rating_comment=s.rating_comment, flagged=s.flagged,
                      tutor_name=tutor.real_name if tutor else None)


async def _readable(db: DB, user: User, session_id: int) -> TutoringSession:
    s = await db.get(TutoringSession, session_id)
    if s is None:
        raise NotFound(f"no session {session_id}")
    if user.id in (s.student_id, s.tutor_id):
        return s
    student = await db.get(User, s.student_id)
    if user.role.endswith("_admin") and student is not None and await user_in_scope(db, user, student):
        return s
    raise Forbidden("this session is not yours")


@router.post("/api/live/ticket", response_model=TicketOut)
async def ticket(request: Request, user: CurrentUser) -> TicketOut:
    """A one-minute ticket to open the websocket: `GET /ws?ticket=…[&last_event_id=N]`."""
    s = request.app.state.settings
    t = make_ticket(s.secret(), user, request.state.sid, s.ws_ticket_ttl_s)
    return TicketOut(ticket=t, expires_in=s.ws_ticket_ttl_s, url=f"/ws?ticket={t}")


@router.get("/api/live/ice-servers")
async def ice(request: Request, user: CurrentUser) -> dict[str, Any]:
    """STUN and TURN servers for RTCPeerConnection; TURN credentials expire after `ttl_s`."""
    s = request.app.state.settings
    return ice_servers(s.stun_urls, s.turn_urls, s.turn_secret, user.id, request.app.state.matcher.clock.now(), s.turn_ttl_s)


_TUTOR = aliased(User)
# The listing reads only what SessionOut shows, as plain rows (no ORM identity map), with the
# statement built once: per request this is one round trip and no statement construction.
_LISTED = (TutoringSession.id, TutoringSession.request_id, TutoringSession.student_id, TutoringSession.tutor_id,
           TutoringSession.subject_code.label("subject"), TutoringSession.state, TutoringSession.matched_at,
           TutoringSession.live_at, TutoringSession.ended_at, TutoringSession.duration_s, TutoringSession.end_reason,
           TutoringSession.cap_s, TutoringSession.rating, TutoringSession.rating_comment, TutoringSession.flagged,
           _TUTOR.real_name.label("tutor_name"))
_MINE = (select(*_LISTED).join(_TUTOR, _TUTOR.id == TutoringSession.tutor_id)
         .where(or_(TutoringSession.student_id == bindparam("uid"), TutoringSession.tutor_id == bindparam("uid")))
         .order_by(TutoringSession.id.desc()).limit(bindparam("limit")))
_MINE_BEFORE = _MINE.where(TutoringSession.id < bindparam("before"))


_LISTED_OUT = TypeAdapter(list[SessionOut])


@router.get("/api/sessions", response_model=list[SessionOut])
async def my_sessions(request: Request, caller: CurrentCaller, limit: int = Query(50, ge=1, le=200),
                      before_id: int | None = None) -> Response:
    """Newest first. On every student's and tutor's home page: the lean caller check and one
    query through app.kit.reads (no ORM session), the rows validated and written once
    (app.kit.jsonout) — `python -m loadtest.http`."""
    q, params = (_MINE_BEFORE, {"before": before_id}) if before_id else (_MINE, {})
    rows = await request.app.state.reads.all(q, {"uid": caller.id, "limit": limit, **params})
    return model_response(_LISTED_OUT, [dict(r) for r in rows])


@router.get("/api/sessions/{session_id}", response_model=SessionOut)
async def read_session(session_id: int, user: CurrentUser, db: DB) -> SessionOut:
    return await session_out(db, await _readable(db, user, session_id))


@router.get("/api/sessions/{session_id}/transcript", response_model=list[TranscriptItem])
async def transcript(session_id: int, request: Request, user: CurrentUser, db: DB) -> list[TranscriptItem]:
    """Chat, strokes and images in order. Participants see what was delivered; admins reviewing
    a report also see the chat text as typed before masking."""
    await request.app.state.transcript.flush()  # rows still queued by the relay (written in batches)
    s = await _readable(db, user, session_id)
    admin = user.id not in (s.student_id, s.tutor_id)
    rows = (await db.execute(select(SessionEvent).where(SessionEvent.session_id == s.id)
                             .order_by(SessionEvent.seq))).scalars()
    return [TranscriptItem(seq=r.seq, kind=r.kind, sender_id=r.sender_id, body=json.loads(r.body),
                           raw=r.raw if admin else None, flagged=r.flagged, at=r.created_at) for r in rows]


@router.post("/api/sessions/{session_id}/rating", response_model=SessionOut)
async def rate(session_id: int, body: RatingIn, request: Request, student: Student, db: DB) -> SessionOut:
    """The student rates the ended session (1–5, a comment); its points are booked then."""
    s = await service.rate(db, request.app.state.settings, student, session_id, body.rating, body.comment,
                           request.app.state.matcher.clock.now())
    return await session_out(db, s)


@router.post("/api/sessions/{session_id}/hangup", response_model=SessionOut)
async def hangup(session_id: int, request: Request, user: CurrentUser, db: DB) -> SessionOut:
    """Hang up over HTTP (the same as the websocket `hangup`); only a participant may."""
    s = await _readable(db, user, session_id)
    if user.id not in (s.student_id, s.tutor_id):
        raise Forbidden("only a participant hangs up a session")
    role = "student" if user.id == s.student_id else "tutor"
    if s.state != "ended":
        result = await service.end(db, s, f"hangup_{role}", request.app.state.matcher.clock.now())
        after_commit(db, lambda: request.app.state.live.deliver(result))
    return await session_out(db, s)


@router.post("/api/sessions/{session_id}/report", status_code=201)
async def report(session_id: int, body: ReportIn, request: Request, user: CurrentUser, db: DB) -> dict[str, Any]:
    """Either side reports the session; admins review it with the transcript."""
    s = await _readable(db, user, session_id)
    if user.id not in (s.student_id, s.tutor_id):
        raise Forbidden("only a participant reports a session")
    # The service clock, as for Q&A reports: the admins' one list orders both kinds by this time.
    r = SessionReport(session_id=s.id, reporter_id=user.id, reason=screen(body.reason).text,
                      created_at=service.ts(request.app.state.matcher.clock.now()))
    s.flagged = True
    db.add(r)
    await db.flush()
    return {"id": r.id, "session_id": s.id, "status": r.status}


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    s = ws.app.state.settings
    await serve(ws, ws.app.state.live, ws.app.state.events, allowed_origins=s.ws_allowed_origins,
                ping_s=s.ws_ping_s, idle_s=s.ws_idle_s, rate=ws.app.state.socket_rate.for_socket())
