"""When the database cannot be had in time (its pool run dry under load, a connection lost), the
live socket answers `Unavailable`: nothing was stored, and sending again is safe. Not a server
error: at 3,000 live pairs on two instances the `media` reports that waited past the pool's
timeout were answered `ServerError` (loadtest.signaling, 2026-11-27)."""
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
import websockets
from sqlalchemy.ext.asyncio import create_async_engine

from app.kit.db import make_sessionmaker
from app.models import SessionState, TutoringSession


@contextlib.asynccontextmanager
async def dry_pool(app, monkeypatch) -> AsyncIterator[contextlib.AsyncExitStack]:  # type: ignore[no-untyped-def]
    """The live handler's sessions drawn from a pool of one connection that the test holds (the
    same database): every transaction of the handler waits 0.3 s and gives up. Closing the
    yielded stack gives the connection back."""
    url = app.state.engine.url.render_as_string(hide_password=False)
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    monkeypatch.setattr(app.state.live, "sessionmaker", make_sessionmaker(engine))
    try:
        async with contextlib.AsyncExitStack() as held:
            await held.enter_async_context(engine.connect())
            yield held
    finally:
        await engine.dispose()


async def test_a_session_message_the_database_cannot_take_now_is_unavailable_and_stores_nothing(matched, factory, monkeypatch):  # type: ignore[no-untyped-def]
    student, tutor, sid, *_ = matched
    async with dry_pool(factory.app, monkeypatch) as held:
        await student.send(type="media", session_id=sid, state="connected", ref="m1")
        refused = await student.wait_for(lambda f: f.get("ref") == "m1")
        assert (refused["type"], refused["error"]) == ("error", "Unavailable")
        assert "send it again" in refused["detail"]
        async with factory.session() as db:
            assert (await db.get(TutoringSession, sid)).student_media_at is None
        assert "peer_media" not in tutor.kinds()
        await held.aclose()  # the pool has its connection again
        await student.send(type="media", session_id=sid, state="connected", ref="m2")
        assert (await student.wait_for(lambda f: f.get("ref") == "m2"))["type"] == "ack"
    assert (await tutor.event("peer_media", session_id=sid))["state"] == "connected"
    async with factory.session() as db:
        assert (await db.get(TutoringSession, sid)).student_media_at is not None


async def test_a_chat_whose_session_cannot_be_read_now_is_unavailable_and_relays_nothing(matched, factory, monkeypatch):  # type: ignore[no-untyped-def]
    """The first chat of a session this instance has not read yet: its participants cannot be
    read, so it answers `Unavailable` and the other side gets nothing; sent again, it goes."""
    student, tutor, sid, *_ = matched
    async with dry_pool(factory.app, monkeypatch) as held:
        await student.send(type="chat", session_id=sid, text="第一题", ref="c1")
        refused = await student.wait_for(lambda f: f.get("ref") == "c1")
        assert (refused["type"], refused["error"]) == ("error", "Unavailable")
        assert "chat" not in tutor.kinds()
        await held.aclose()
        await student.send(type="chat", session_id=sid, text="第一题", ref="c2")
        assert (await student.wait_for(lambda f: f.get("ref") == "c2"))["kind"] == "chat"
    assert (await tutor.event("chat", session_id=sid))["text"] == "第一题"
    assert tutor.kinds().count("chat") == 1


async def test_a_socket_that_cannot_be_checked_now_is_told_to_come_back(server, factory, clients, monkeypatch):  # type: ignore[no-untyped-def]
    """Its ticket cannot be checked against the sign-in: an `Unavailable` frame, then close 1013
    (try again later), not the 4401 that tells a client its sign-in is gone."""
    org = await factory.org()
    c = await clients(server.base, await factory.user("student", org))
    ticket = (await c.http.post("/api/live/ticket")).json()["ticket"]
    async with dry_pool(factory.app, monkeypatch):
        async with websockets.connect(server.base.replace("http", "ws") + f"/ws?ticket={ticket}") as ws:
            frame = json.loads(await ws.recv())
            assert (frame["error"], frame["detail"]) == ("Unavailable", "the service is busy; get a new ticket and connect again shortly")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1013
    await c.connect()  # a new ticket once the database answers: the socket opens


async def test_a_hangup_whose_announcement_fails_is_acknowledged_and_announced_once_later(matched, factory, monkeypatch):  # type: ignore[no-untyped-def]
    """The session ended (committed) but the event log did not answer: the hangup is
    acknowledged, both sides hear `session_ended` once when a retry gets through, and the
    relay refuses the session's messages from then on."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from app.live import socket as live_socket

    student, tutor, sid, *_ = matched
    monkeypatch.setattr(live_socket, "REDELIVER_AFTER_S", (0.2, 0.2))
    events = factory.app.state.events
    real = events.append
    failures = [1]

    async def flaky(user_id, kind, data, body=None):  # type: ignore[no-untyped-def]
        if kind == "session_ended" and failures[0]:
            failures[0] -= 1
            raise RedisConnectionError("No connection available.")
        return await real(user_id, kind, data, body)

    monkeypatch.setattr(events, "append", flaky)
    await student.send(type="hangup", session_id=sid, ref="h1")
    assert (await student.wait_for(lambda f: f.get("ref") == "h1"))["type"] == "ack"
    async with factory.session() as db:
        assert (await db.get(TutoringSession, sid)).state == SessionState.ENDED
    await tutor.event("session_ended", session_id=sid)
    await student.event("session_ended", session_id=sid)
    await tutor.send(type="chat", session_id=sid, text="还在吗", ref="c1")
    assert (await tutor.wait_for(lambda f: f.get("ref") == "c1"))["error"] == "SessionEnded"
    assert (tutor.kinds().count("session_ended"), student.kinds().count("session_ended")) == (1, 1)


async def test_an_announcement_that_never_gets_through_is_logged_without_its_data(matched, factory, monkeypatch, caplog):  # type: ignore[no-untyped-def]
    """After the last retry the service gives up and logs who was not told what: the users and
    the kinds of event, not their data (a signal's SDP carries the participants' addresses)."""
    import asyncio

    from redis.exceptions import ConnectionError as RedisConnectionError

    from app.live import socket as live_socket

    student, tutor, sid, student_user, tutor_user = matched
    monkeypatch.setattr(live_socket, "REDELIVER_AFTER_S", (0.05, 0.05))
    events = factory.app.state.events
    real = events.append

    async def down(user_id, kind, data, body=None):  # type: ignore[no-untyped-def]
        if kind == "signal":
            raise RedisConnectionError("No connection available.")
        return await real(user_id, kind, data, body)

    monkeypatch.setattr(events, "append", down)
    await student.send(type="signal", session_id=sid, kind="offer", sdp="v=0 c=IN IP4 192.0.2.7", ref="o1")
    assert (await student.wait_for(lambda f: f.get("ref") == "o1"))["type"] == "ack"
    for _ in range(100):
        if any("gave up" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up == [f"gave up announcing a committed change after 2 tries; not sent: [({tutor_user.id}, 'signal')]"]
    assert "192.0.2.7" not in caplog.text
    assert "signal" not in tutor.kinds()
