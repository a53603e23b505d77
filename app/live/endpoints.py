"""Live sessions over HTTP: the websocket ticket, ICE servers, session records, rating, reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response, WebSocket
from pydantic import TypeAdapter

from app.accounts.deps import Bearer, CurrentUser, Student, caller_and_rows
from app.kit.clock import ClockDep, ts
from app.kit.db import DB, after_commit
from app.kit.deps import ReadsDep, SettingsDep
from app.kit.jsonout import model_response
from app.models import SessionState
from signaling.turn import ice_servers
from signaling.ws import serve

from . import records, service
from .deps import LiveDep, TranscriptDep
from .schemas import RatingIn, ReportIn, SessionOut, SessionReportOut, TicketOut, TranscriptItem
from .socket import make_ticket

router = APIRouter(tags=["live sessions"])


@router.post("/api/live/ticket", response_model=TicketOut)
async def ticket(request: Request, user: CurrentUser, s: SettingsDep) -> TicketOut:
    """A one-minute ticket to open the websocket: `GET /ws?ticket=…[&last_event_id=N]`."""
    t = make_ticket(s.secret(), user, request.state.sid, s.ws_ticket_ttl_s)
    return TicketOut(ticket=t, expires_in=s.ws_ticket_ttl_s, url=f"/ws?ticket={t}")


@router.get("/api/live/ice-servers")
async def ice(user: CurrentUser, clock: ClockDep, s: SettingsDep) -> dict[str, Any]:
    """STUN and TURN servers for RTCPeerConnection; TURN credentials expire after `ttl_s`."""
    return ice_servers(s.stun_urls, s.turn_urls, s.turn_secret, user.id, clock.now(), s.turn_ttl_s)


_LISTED_OUT = TypeAdapter(list[SessionOut])


@router.get("/api/sessions", response_model=list[SessionOut])
async def my_sessions(
    request: Request, settings: SettingsDep, reads: ReadsDep, creds: Bearer, limit: int = Query(50, ge=1, le=200), before_id: int | None = None
) -> Response:
    """Newest first. On every student's and tutor's home page: the caller check and the list in
    one query through app.kit.reads (no ORM session; app.accounts.deps.with_caller), the rows
    validated and written once (app.kit.jsonout) — `python -m loadtest.http`."""
    q, params = (records.MINE_BEFORE_AS_CALLER, {"before": before_id}) if before_id else (records.MINE_AS_CALLER, {})
    _, rows = await caller_and_rows(request, settings, reads, creds, q, {"limit": limit, **params}, key="id")
    return model_response(_LISTED_OUT, [dict(r) for r in rows])


@router.get("/api/sessions/{session_id}", response_model=SessionOut)
async def read_session(session_id: int, user: CurrentUser, db: DB) -> SessionOut:
    return await records.session_out(db, await records.readable(db, user, session_id))


@router.get("/api/sessions/{session_id}/transcript", response_model=list[TranscriptItem])
async def transcript(session_id: int, writer: TranscriptDep, user: CurrentUser, db: DB) -> list[TranscriptItem]:
    """Chat, strokes and images in order. Participants see what was delivered; admins reviewing
    a report also see the chat text as typed before masking."""
    await writer.flush()  # rows still queued by the relay (written in batches)
    return await records.transcript(db, user, session_id)


@router.post("/api/sessions/{session_id}/rating", response_model=SessionOut)
async def rate(session_id: int, body: RatingIn, student: Student, db: DB, clock: ClockDep, settings: SettingsDep) -> SessionOut:
    """The student rates the ended session (1–5, a comment); its points are booked then."""
    s = await service.rate(db, settings, student, session_id, body.rating, body.comment, clock.now())
    return await records.session_out(db, s)


@router.post("/api/sessions/{session_id}/hangup", response_model=SessionOut)
async def hangup(session_id: int, live: LiveDep, user: CurrentUser, db: DB, clock: ClockDep) -> SessionOut:
    """Hang up over HTTP (the same as the websocket `hangup`); only a participant may."""
    s = await records.participant(db, user, session_id, "hangs up")
    role = "student" if user.id == s.student_id else "tutor"
    if s.state != SessionState.ENDED:
        result = await service.end(db, s, f"hangup_{role}", clock.now())
        after_commit(db, lambda: live.deliver(result))
    return await records.session_out(db, s)


@router.post("/api/sessions/{session_id}/report", status_code=201, response_model=SessionReportOut)
async def report(session_id: int, body: ReportIn, user: CurrentUser, db: DB, clock: ClockDep) -> SessionReportOut:
    """Either side reports the session; admins review it with the transcript."""
    return await records.report(db, user, session_id, body.reason, ts(clock.now()))


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    s = ws.app.state.settings
    await serve(
        ws,
        ws.app.state.live,
        ws.app.state.events,
        allowed_origins=s.ws_allowed_origins,
        ping_s=s.ws_ping_s,
        idle_s=s.ws_idle_s,
        rate=ws.app.state.socket_rate.for_socket(),
    )
