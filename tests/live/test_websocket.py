"""The websocket: authentication, the closed protocol, relaying, masking, resume."""
import json
import logging

import pytest
import websockets
from sqlalchemy import func, select

from app.kit.logs import RedactSecrets
from app.models import SessionEvent, TutoringSession



async def live(student, tutor, session_id):  # type: ignore[no-untyped-def]
    for c in (student, tutor):
        await c.send(type="media", session_id=session_id, state="connected")
    try:
        await student.event("session_live", session_id=session_id)
    except TimeoutError:
        raise AssertionError(f"not live: student saw {student.frames}, tutor saw {tutor.frames}") from None


async def test_signaling_is_relayed_only_to_the_other_participant(matched):
    student, tutor, sid, *_ = matched
    await student.send(type="signal", session_id=sid, kind="offer", sdp="v=0 fake offer", ref="o1")
    got = await tutor.event("signal", session_id=sid)
    assert got["kind"] == "offer" and got["sdp"] == "v=0 fake offer"
    ack = await student.wait_for(lambda f: f.get("ref") == "o1")
    assert ack["type"] == "ack"
    assert "signal" not in student.kinds()


async def test_chat_is_masked_stored_and_flagged(matched, factory, clock):
    student, tutor, sid, student_user, _ = matched
    await student.send(type="chat", session_id=sid, text="老师加我微信 abc_12345 吧")
    got = await tutor.event("chat", session_id=sid)
    assert "abc_12345" not in got["text"] and got["masked"] is True
    mine = await student.event("chat", session_id=sid)
    assert mine["text"] == got["text"]  # the sender sees the masked text too
    await factory.app.state.transcript.flush()  # the relay's rows reach the database in batches
    async with factory.session() as db:
        s = await db.get(TutoringSession, sid)
        row = (await db.execute(select(SessionEvent).where(SessionEvent.session_id == sid))).scalar_one()
    assert s.flagged and row.flagged and row.raw == "老师加我微信 abc_12345 吧"
    # The writer's batched rows (app/live/transcript.py) hold what the ORM would have written.
    assert (row.kind, row.seq, row.sender_id) == ("chat", 1, student_user.id)
    assert json.loads(row.body)["text"] == got["text"] and row.created_at.tzinfo is not None
    assert abs(row.created_at.timestamp() - clock.now()) < 5


async def test_a_shared_item_answers_its_sender_with_one_frame(matched):
    """A chat comes back to its sender once: its own masked copy, carrying the ref (no separate
    ack). A stroke goes to the other side only: with a ref it gets an ack, without one nothing."""
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await student.send(type="chat", session_id=sid, text="加我QQ 12345678", ref="c1")
    mine = await student.wait_for(lambda f: f.get("ref") == "c1")
    assert mine["type"] == "event" and mine["kind"] == "chat" and "12345678" not in mine["data"]["text"]
    assert (await tutor.event("chat", session_id=sid))["text"] == mine["data"]["text"]
    await student.send(type="stroke", session_id=sid, id="s1", points=[[1, 2], [3, 4]], ref="s1")
    assert (await student.wait_for(lambda f: f.get("ref") == "s1"))["type"] == "ack"
    await student.send(type="stroke", session_id=sid, id="s2", points=[[1, 2], [3, 4]])
    await student.send(type="chat", session_id=sid, text="第二句")
    await tutor.event("chat", text="第二句")
    await student.event("chat", text="第二句")
    await student.send(type="ping", ref="sync")
    await student.wait_for(lambda f: f.get("ref") == "sync")
    answers = [f for f in student.frames if f.get("ref") is not None or f.get("type") == "error"]
    assert [(f["type"], f.get("ref")) for f in answers] == [("event", "c1"), ("ack", "s1"), ("pong", "sync")]
    assert (await tutor.event("stroke", id="s2"))["points"] == [[1, 2], [3, 4]]  # passed on, silently


async def test_a_third_user_cannot_relay_into_the_session(matched, factory, server, clients):
    student, tutor, sid, *_ = matched
    org = await factory.org()
    intruder = await (await clients(server.base, await factory.user("student", org))).connect()
    attempts = [{"type": "signal", "kind": "offer", "sdp": "x"}, {"type": "chat", "text": "hi"}, {"type": "hangup"}]
    for n, msg in enumerate(attempts):
        await intruder.send(session_id=sid, ref=f"try{n}", **msg)
        err = await intruder.wait_for(lambda f, r=f"try{n}": f.get("ref") == r)
        assert err["type"] == "error" and err["error"] == "NotYourSession"
    await student.send(type="ping", ref="sync")
    await student.wait_for(lambda f: f.get("ref") == "sync")
    assert "signal" not in tutor.kinds() and "chat" not in tutor.kinds()
    async with factory.session() as db:
        assert (await db.get(TutoringSession, sid)).state != "ended"


async def test_malformed_and_oversized_frames_get_errors_and_store_nothing(matched, factory):
    student, tutor, sid, *_ = matched
    await student.ws.send("this is not json")
    await student.wait_for(lambda f: f.get("error") == "InvalidMessage")
    await student.send(type="teleport", session_id=sid)
    await student.send(type="chat", session_id=sid, text="x" * 1001, ref="long")
    err = await student.wait_for(lambda f: f.get("ref") == "long")
    assert err["error"] == "InvalidMessage" and "text" in err["detail"]
    await student.ws.send(json.dumps({"type": "chat", "session_id": sid, "text": "y" * 70_000}))
    await student.wait_for(lambda f: f.get("error") == "FrameTooLarge")
    await student.send(type="stroke", session_id=sid, id="s1", points=[[1, 2, 3]], ref="bad-stroke")
    assert (await student.wait_for(lambda f: f.get("ref") == "bad-stroke"))["error"] == "InvalidMessage"
    # The connection is still usable, and nothing reached the transcript.
    await student.send(type="ping", ref="still-there")
    assert (await student.wait_for(lambda f: f.get("ref") == "still-there"))["type"] == "pong"
    await factory.app.state.transcript.flush()
    async with factory.session() as db:
        assert (await db.execute(select(func.count()).select_from(SessionEvent))).scalar() == 0


async def test_bad_or_missing_ticket_is_refused(server):
    async with websockets.connect(server.base.replace("http", "ws") + "/ws?ticket=forged") as ws:
        frame = json.loads(await ws.recv())
        assert frame["error"] == "NotAuthenticated"
        try:
            await ws.recv()
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd.code == 4401


async def test_a_ticket_opens_one_socket_only(server, factory, clients):
    org = await factory.org()
    c = await clients(server.base, await factory.user("student", org))
    ticket = (await c.http.post("/api/live/ticket")).json()["ticket"]
    url = server.base.replace("http", "ws") + f"/ws?ticket={ticket}"
    async with websockets.connect(url) as first:
        assert json.loads(await first.recv())["type"] == "hello"
        async with websockets.connect(url) as again:
            assert json.loads(await again.recv())["error"] == "TicketUsed"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await again.recv()
            assert closed.value.rcvd.code == 4401


def test_tickets_are_redacted_from_the_access_log():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/ws?ticket=eyJhbGci.secret.sig&last_event_id=4", "1.1", 101), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /ws?ticket=[redacted]&last_event_id=4 HTTP/1.1" 101'


async def test_foreign_origin_is_refused(server, factory, clients):
    org = await factory.org()
    c = await clients(server.base, await factory.user("student", org))
    ticket = (await c.http.post("/api/live/ticket")).json()["ticket"]
    try:
        async with websockets.connect(server.base.replace("http", "ws") + f"/ws?ticket={ticket}",
                                      origin="http://evil.example") as ws:
            await ws.recv()
        raise AssertionError("connected from a foreign origin")
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 403


async def test_whiteboard_strokes_and_undo_reach_the_other_side(matched, factory):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await tutor.send(type="stroke", session_id=sid, id="t1", tool="pen", color="#ff0000", width=6,
                     points=[[100, 100], [2000, 2500], [5000, 5000]])
    got = await student.event("stroke", session_id=sid)
    assert got["points"] == [[100, 100], [2000, 2500], [5000, 5000]] and got["color"] == "#ff0000"
    await tutor.send(type="board", session_id=sid, action="undo", stroke_id="t1")
    assert (await student.event("board", session_id=sid))["action"] == "undo"
    transcript = (await tutor.http.get(f"/api/sessions/{sid}/transcript")).json()
    assert [t["kind"] for t in transcript] == ["stroke", "board"] and [t["seq"] for t in transcript] == [1, 2]


async def test_reconnect_receives_every_missed_event_once_in_order(matched):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await tutor.event("session_live", session_id=sid)
    last = tutor.last_event_id
    await tutor.drop()
    lost = await student.event("peer_connection", session_id=sid, state="lost")
    assert lost
    for n in range(12):
        await student.send(type="chat", session_id=sid, text=f"第{n}句")
    for n in range(12):
        await student.event("chat", text=f"第{n}句")
    seen_before = len(tutor.events)
    await tutor.connect(resume=True)
    await tutor.event("chat", text="第11句")
    replayed = tutor.events[seen_before:]
    ids = [e["id"] for e in replayed]
    assert ids == list(range(last + 1, last + 1 + len(ids)))  # no gap, no repeat, in order
    chats = [e["data"]["text"] for e in replayed if e["kind"] == "chat"]
    assert chats == [f"第{n}句" for n in range(12)]
    assert (await student.event("peer_connection", session_id=sid, state="back"))
    await tutor.send(type="chat", session_id=sid, text="我回来了")  # the session continues
    assert (await student.event("chat", text="我回来了"))["session_id"] == sid


async def test_resume_from_too_far_back_is_a_clear_error(matched, app):
    student, tutor, sid, student_user, tutor_user = matched
    await tutor.drop()
    for n in range(1005):  # more than a stream keeps
        await app.state.events.append(tutor_user.id, "note", {"n": n})
    tutor.events.clear()  # the client lost its place: it resumes from 0
    await tutor.connect(resume=True)
    err = await tutor.wait_for(lambda f: f.get("error") == "ResumeGap")
    assert err["latest"] >= 1005
    await student.send(type="chat", session_id=sid, text="after the gap")
    assert (await tutor.event("chat", text="after the gap"))["session_id"] == sid
