"""Suspension, sign-out and a password change close the user's live connection, take a tutor
off duty and out of the lists, and end or cancel what they had going."""
import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import HelpRequest

from .test_websocket import live


async def closed_with(c, error):  # type: ignore[no-untyped-def]
    frame = await c.wait_for(lambda f: f.get("type") == "error" and f.get("error") == error)
    await asyncio.wait_for(c.reader, 5)
    assert c.ws.close_code == 4401
    return frame


async def test_a_tutor_signing_out_is_disconnected_and_off_duty(factory, server, clients):
    org = await factory.org()
    student = await (await clients(server.base, await factory.user("student", org, school=1))).connect()
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await (await clients(server.base, tutor_user)).connect()
    assert (await tutor.http.post("/api/duty")).status_code == 200
    listed = (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json()
    assert [t["id"] for t in listed] == [tutor_user.id]
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "浮力"})).json()["id"]
    await tutor.event("offer", request_id=rid)

    assert (await tutor.http.post("/api/auth/sign-out")).status_code == 204
    await closed_with(tutor, "TokenRevoked")
    assert (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json() == []
    status = (await student.http.get(f"/api/help-requests/{rid}/status")).json()
    assert status["matching"] == "waiting"  # the offer to the signed-out tutor was withdrawn


async def test_a_password_change_closes_every_socket_and_a_student_s_request(factory, server, clients):
    org = await factory.org()
    user = await factory.user("student", org, school=1)
    phone = await (await clients(server.base, user)).connect()
    laptop = await (await clients(server.base, user)).connect()
    rid = (await phone.http.post("/api/help-requests", json={"subject": "physics", "text": "浮力"})).json()["id"]
    r = await phone.http.post("/api/auth/password", json={"old_password": "password123", "new_password": "a-new-password"})
    assert r.status_code == 204
    await closed_with(phone, "TokenRevoked")
    await closed_with(laptop, "TokenRevoked")
    async with factory.session() as db:
        assert (await db.execute(select(HelpRequest.status).where(HelpRequest.id == rid))).scalar_one() == "cancelled"


async def test_suspension_ends_the_session_and_the_tutor_is_never_rung_again(matched, factory, client):
    student, tutor, sid, student_user, tutor_user = matched
    await live(student, tutor, sid)
    await student.http.post(f"/api/sessions/{sid}/report", json={"reason": "老师要我的联系方式"})
    a = await factory.sign_in(await factory.admin_of(student_user))
    report_id = (await client.get("/api/reports", headers=a)).json()[0]["id"]
    r = await client.post(f"/api/reports/{report_id}/decision", headers=a, json={"action": "suspend", "note": "违规"})
    assert r.status_code == 200
    ended = await student.event("session_ended", session_id=sid)
    assert ended["reason"] == "suspended"
    await closed_with(tutor, "AccountSuspended")
    assert (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json() == []
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "再问"})).json()["id"]
    assert (await student.http.get(f"/api/help-requests/{rid}/status")).json()["matching"] == "waiting"
    assert not [e for e in tutor.events if e["data"].get("request_id") == rid]


@pytest.mark.parametrize("step", [None, 1], ids=["one query", "a query per sign-in"])
async def test_a_missed_kick_still_closes_revoked_and_suspended_sockets_at_the_recheck_and_no_other(factory, server, clients, clock, monkeypatch, step):
    """A kick is a pub/sub message and can be missed: the periodic recheck closes the sockets of
    revoked sign-ins and suspended accounts anyway, reading only those rows — however many
    queries the sign-ins take (RECHECK_STEP)."""
    from app.live import socket as live_socket
    from app.models import AuthSession, User, UserStatus

    if step is not None:
        monkeypatch.setattr(live_socket, "RECHECK_STEP", step)

    org = await factory.org()
    revoked_user, suspended_user, fine_user = [await factory.user("student", org, school=1) for _ in range(3)]
    revoked, suspended, fine = [await (await clients(server.base, u)).connect() for u in (revoked_user, suspended_user, fine_user)]
    async with factory.session() as db:  # behind the service's back: no kick goes out
        sid = (await db.execute(select(AuthSession.id).where(AuthSession.user_id == revoked_user.id))).scalars().first()
        (await db.get(AuthSession, sid)).revoked_at = datetime.now(UTC)
        (await db.get(User, suspended_user.id)).status = UserStatus.SUSPENDED
        await db.commit()
    clock.advance(factory.app.state.settings.ws_auth_recheck_s + 1)
    await factory.app.state.live.keep_alive()
    await closed_with(revoked, "TokenRevoked")
    await closed_with(suspended, "AccountSuspended")
    await fine.send(type="ping", ref="still")
    assert (await fine.wait_for(lambda f: f.get("ref") == "still"))["type"] == "pong"


async def test_the_recheck_reads_a_share_of_the_sign_ins_each_pass_and_each_once_per_period(factory, clock):  # type: ignore[no-untyped-def]
    """The recheck goes round the sockets' sign-ins: each pass reads the share that came due
    since the last (all of them once per `ws_auth_recheck_s`), so a revoked sign-in's socket
    is closed within the period however many sockets there are, a few at a time."""
    import secrets
    from datetime import timedelta

    from app.live.socket import Conn
    from app.models import AuthSession

    org = await factory.org()
    users = [await factory.user("student", org, school=1) for _ in range(6)]
    closed: list[str] = []
    handler = factory.app.state.live
    async with factory.session() as db:
        for n, user in enumerate(users):
            sid = f"s{n}{secrets.token_hex(4)}"
            db.add(AuthSession(id=sid, user_id=user.id, refresh_hash=secrets.token_hex(16),
                               expires_at=datetime.now(UTC) + timedelta(days=1), revoked_at=datetime.now(UTC)))

            async def close(code: int, error: str, detail: str, sid: str = sid) -> None:
                closed.append(sid)

            handler.conns[f"c{n}"] = Conn(user.id, sid, close)  # revoked behind the service's back
        await db.commit()
    period = factory.app.state.settings.ws_auth_recheck_s
    handler._rechecked = clock.now()  # a pass just ran
    seen: list[int] = []
    for _ in range(3):
        clock.advance(period / 3)
        await handler.keep_alive()
        seen.append(len(closed))
    assert seen == [2, 4, 6]
    assert sorted(closed) == sorted(c.sid for c in handler.conns.values())  # each once
