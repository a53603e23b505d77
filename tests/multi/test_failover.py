"""Two instances sharing PostgreSQL and Redis: a resume across instances, a killed instance,
suspension, single-use tickets, dependencies that go away. One pair of instances serves the
whole module (the kill comes last)."""
from __future__ import annotations

import asyncio

import websockets
from sqlalchemy import func, select

from app.models import HelpRequest, TutoringSession

from ..live.test_websocket import live


async def _pair(cluster, people, student_at, tutor_at):  # type: ignore[no-untyped-def]
    """A student and a tutor, connected where asked, in a live session."""
    f = cluster.factory
    org = await f.org()
    student_user = await f.user("student", org, school=1)
    tutor_user = await f.tutor(org, subjects=("physics",))
    tutor = await (await people(tutor_at, tutor_user)).connect()
    student = await (await people(student_at, student_user)).connect()
    assert (await tutor.http.post("/api/duty")).status_code == 200
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "电路"})).json()["id"]
    await tutor.event("offer", request_id=rid)
    sid = (await tutor.http.post(f"/api/offers/{rid}/accept")).json()["session_id"]
    await student.event("matched", session_id=sid)
    await live(student, tutor, sid)
    return student, tutor, sid, student_user, tutor_user


async def _state(cluster, sid):  # type: ignore[no-untyped-def]
    async with cluster.factory.session() as db:
        s = await db.get(TutoringSession, sid)
        return s.state, s.end_reason


async def test_a_ticket_opens_one_socket_on_any_instance_and_never_reaches_the_log(cluster, people):
    org = await cluster.factory.org()
    c = await people(cluster.a, await cluster.factory.user("student", org))
    ticket = (await c.http.post("/api/live/ticket")).json()["ticket"]
    async with websockets.connect(cluster.a.base.replace("http", "ws") + f"/ws?ticket={ticket}") as first:
        assert (await first.recv()).startswith('{"type":"hello"')
        async with websockets.connect(cluster.b.base.replace("http", "ws") + f"/ws?ticket={ticket}") as again:
            assert '"TicketUsed"' in await again.recv()
            await asyncio.wait_for(again.wait_closed(), 5)
            assert again.close_code == 4401
    logs = cluster.a.log() + cluster.b.log()
    assert "ticket=[redacted]" in logs and ticket not in logs and ticket.split(".")[2] not in logs


async def test_a_stale_socket_closing_after_a_resume_elsewhere_changes_nothing(cluster, people):
    student, tutor, sid, _, tutor_user = await _pair(cluster, people, cluster.a, cluster.a)
    # The tutor resumes on B while A still holds the old socket; then A's socket closes.
    moved = await people(cluster.b, tutor_user)
    moved.events = list(tutor.events)
    await moved.connect(resume=True)
    await tutor.drop()
    await asyncio.sleep(2)  # time for A to handle the close (and, before the fix, to announce `lost`)
    await moved.send(type="chat", session_id=sid, text="还在")
    await student.event("chat", session_id=sid, text="还在")
    assert ("peer_connection", "lost") not in [(e["kind"], e["data"].get("state")) for e in student.events]
    assert await _state(cluster, sid) == ("live", None)


async def test_suspension_closes_the_socket_on_the_other_instance_and_the_tutor_is_never_rung(cluster, people):
    student, tutor, sid, student_user, _ = await _pair(cluster, people, cluster.a, cluster.b)
    await student.send(type="hangup", session_id=sid)
    await tutor.event("session_ended", session_id=sid)
    assert (await student.http.post(f"/api/sessions/{sid}/report", json={"reason": "要联系方式"})).status_code == 201
    admin = await people(cluster.a, await cluster.factory.admin_of(student_user))
    report_id = (await admin.http.get("/api/reports")).json()[0]["id"]
    r = await admin.http.post(f"/api/reports/{report_id}/decision", json={"action": "suspend", "note": "违规"})
    assert r.status_code == 200
    await tutor.wait_for(lambda f: f.get("error") == "AccountSuspended")
    await asyncio.wait_for(tutor.reader, 5)
    assert tutor.ws.close_code == 4401
    assert (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json() == []
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "再问"})).json()["id"]
    assert (await student.http.get(f"/api/help-requests/{rid}/status")).json()["matching"] == "waiting"
    await student.http.post(f"/api/help-requests/{rid}/cancel")


async def test_kill_9_of_the_tutor_s_instance_lost_then_ended_at_the_grace(cluster, people):
    student, tutor, sid, *_ = await _pair(cluster, people, cluster.b, cluster.a)
    cluster.a.kill()
    await student.event("peer_connection", session_id=sid, state="lost", timeout=20)
    ended = await student.event("session_ended", session_id=sid, timeout=30)
    assert ended["reason"] == "disconnected"
    assert await _state(cluster, sid) == ("ended", "disconnected")


async def test_dependencies_down_answer_503_store_nothing_and_stranded_requests_are_reconciled(cluster, people):
    f = cluster.factory
    org = await f.org()
    student_user = await f.user("student", org, school=1)
    on_b = await people(cluster.b, student_user)
    body = {"subject": "physics", "text": "浮力"}

    async def stored() -> int:
        async with f.session() as db:
            return (await db.execute(select(func.count()).select_from(HelpRequest)
                                     .where(HelpRequest.student_id == student_user.id))).scalar_one()

    # A request stored but never handed to matching (a crash between the two) is found and rung
    # (by B: A was killed by the test before).
    tutor_user = await f.tutor(org, subjects=("physics",))
    tutor = await (await people(cluster.b, tutor_user)).connect()
    assert (await tutor.http.post("/api/duty")).status_code == 200
    async with f.session() as db:
        req = HelpRequest(student_id=student_user.id, subject_code="physics", text="没人知道的请求", status="open")
        db.add(req)
        await db.commit()
    await tutor.event("offer", request_id=req.id, timeout=30)
    await on_b.http.post(f"/api/help-requests/{req.id}/cancel")
    stranded = await stored()

    for proxy in (cluster.b_redis, cluster.b_db):
        proxy.cut()
        try:
            r = await on_b.http.post("/api/help-requests", json=body)
        finally:
            proxy.mend()
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "ServiceUnavailable" and int(r.headers["Retry-After"]) > 0
        assert await stored() == stranded  # nothing new
    # Both back: a socket opened on B now greets its user and delivers what happens next.
    again = await (await people(cluster.b, student_user)).connect()
    rid = (await again.http.post("/api/help-requests", json=body)).json()["id"]
    await again.event("queue", request_id=rid)
