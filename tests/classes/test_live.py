"""A class over real sockets: the tutor and students on the websocket, their audio through the
service's aiortc room (the floor heard by the tutor and the class), and a class whose students
are on two instances sharing PostgreSQL and Redis."""
from __future__ import annotations

import pytest

from app.main import create_app

from ..live.helpers import Server
from .conftest import class_body
from .peers import ClassPeer, until


async def _class_with(server_base, clients, clock, tutor_user, student_users, tutor_base=None,  # type: ignore[no-untyped-def]
                      recording=False):
    tutor = await (await clients(tutor_base or server_base, tutor_user)).connect()
    r = await tutor.http.post("/api/classes", json={**class_body, "recording": recording})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    students = []
    for u in student_users:
        s = await (await clients(server_base, u)).connect()
        assert (await s.http.post(f"/api/classes/{cid}/enrolment")).status_code == 200
        students.append(s)
    clock.advance(30 * 60)
    await tutor.send(type="class_join", class_id=cid, ref="j")
    assert (await tutor.wait_for(lambda f: f.get("type") == "class_state"))["state"] == "live"
    for s in students:
        await s.event("class_started", class_id=cid)
        await s.send(type="class_join", class_id=cid)
        state = await s.wait_for(lambda f: f.get("type") == "class_state")
        assert state["recording"] is recording  # the students are told on joining
    return cid, tutor, students


async def test_the_tutor_is_heard_by_all_and_the_floor_by_the_tutor_and_the_class(factory, server, clients, clock):
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=1) for _ in range(2)]
    cid, tutor, (a, b) = await _class_with(server.base, clients, clock, tutor_user, users, recording=True)
    peers = [ClassPeer(tutor, cid, tone=440), ClassPeer(a, cid, tone=660), ClassPeer(b, cid)]
    t_peer, a_peer, b_peer = peers
    try:
        for p in peers:
            await p.connect()
        await until(lambda: a_peer.loud > 25 and b_peer.loud > 25)  # half a second of the tutor, at each student
        assert t_peer.loud == 0  # the tutor hears nobody yet: a's microphone is not forwarded without the floor
        await tutor.send(type="class_floor", class_id=cid, student_id=users[0].id)
        await b.event("class_floor", class_id=cid, student_id=users[0].id)
        await until(lambda: t_peer.loud > 25)  # now the tutor hears a …
        heard = b_peer.loud
        await until(lambda: b_peer.loud > heard + 25)  # … and b hears the tutor and a together
        await tutor.send(type="class_floor", class_id=cid, student_id=None)
        await a.event("class_floor", class_id=cid, student_id=None)
        media = server.app.state.classes.media  # the room follows the records right after the commit
        await until(lambda: media.stats(cid)["floor"] is None)
        assert media.stats(cid)["participants"] == 3
        await tutor.send(type="class_end", class_id=cid)
        assert (await b.event("class_ended", class_id=cid))["reason"] == "ended_by_tutor"
        await until(lambda: media.stats(cid) == {})  # the room is closed with the class (right after the events)
        recording = server.app.state.settings.data_dir / "recordings" / f"class-{cid}.ogg"
        await until(lambda: recording.stat().st_size > 4000)  # seconds of audio, finished as the room closes
        assert recording.read_bytes()[:4] == b"OggS"
    finally:
        for p in peers:
            await p.close()


async def test_a_muted_voice_on_the_floor_stops_at_once_and_comes_back_on_unmuting(factory, server, clients, clock):
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=1) for _ in range(2)]
    cid, tutor, (a, b) = await _class_with(server.base, clients, clock, tutor_user, users)
    peers = [ClassPeer(tutor, cid), ClassPeer(a, cid, tone=660), ClassPeer(b, cid)]
    t_peer, a_peer, b_peer = peers
    try:
        for p in peers:
            await p.connect()
        await tutor.send(type="class_floor", class_id=cid, student_id=users[0].id)
        await until(lambda: t_peer.loud > 25 and b_peer.loud > 25)  # a is heard by the tutor and by b
        await tutor.send(type="class_mute", class_id=cid, student_id=users[0].id, muted=True, audio=True)
        assert (await a.event("class_muted", class_id=cid))["audio"] is True
        media = server.app.state.classes.media
        await until(lambda: media.stats(cid)["floor"] is None)
        frames = t_peer.frames
        await until(lambda: t_peer.frames > frames + 25)  # the frames already on their way play out …
        heard_t, heard_b, frames = t_peer.loud, b_peer.loud, t_peer.frames
        await until(lambda: t_peer.frames > frames + 100 and b_peer.frames > frames + 100)  # … then two seconds …
        assert t_peer.loud - heard_t <= 1 and b_peer.loud - heard_b <= 1  # … without a's voice
        await b.send(type="class_join", class_id=cid, ref="again")
        state = await b.wait_for(lambda f: f.get("type") == "class_state" and f.get("ref") == "again")
        assert state["floor"] == users[0].id  # a still holds the floor
        await tutor.send(type="class_mute", class_id=cid, student_id=users[0].id, muted=False, audio=True)
        heard_t = t_peer.loud
        await until(lambda: t_peer.loud > heard_t + 25)  # heard again without reconnecting
    finally:
        for p in peers:
            await p.close()


async def test_a_student_whose_network_vanishes_does_not_cost_the_others_the_tutor(factory, server, clients, clock):
    """The room writes every listener's packets itself: a listener whose socket is gone (a phone
    losing its network, no goodbye) must not stop the frames of those after it in the class."""
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=1) for _ in range(3)]
    cid, tutor, students = await _class_with(server.base, clients, clock, tutor_user, users)
    peers = [ClassPeer(tutor, cid, tone=440), *(ClassPeer(s, cid) for s in students)]
    try:
        for p in peers:
            await p.connect()
        await until(lambda: all(p.loud > 25 for p in peers[1:]))
        gone = peers[2].pc.getTransceivers()[0].receiver.transport.transport._connection._nominated[1]
        gone.protocol.transport.close()  # its socket closes; the service is told nothing
        heard = [p.loud for p in peers]
        await until(lambda: peers[1].loud > heard[1] + 50 and peers[3].loud > heard[3] + 50)  # a second more each
        assert peers[2].loud <= heard[2] + 2  # (a frame or two already read before the close)
    finally:
        for p in peers:
            await p.close()


@pytest.fixture
async def peers():  # type: ignore[no-untyped-def]
    made: list[ClassPeer] = []
    yield made
    for p in made:
        await p.close()


@pytest.fixture
async def second_instance(app_settings, clock):  # type: ignore[no-untyped-def]
    other = create_app(app_settings, clock=clock)
    async with other.router.lifespan_context(other):
        srv = await Server(other).start()
        yield srv
        await srv.stop()


@pytest.mark.parametrize("backend", ["postgres"])  # several instances need the production setup
async def test_a_class_whose_tutor_and_students_are_on_two_instances(factory, server, second_instance, clients, clock, peers):
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=i) for i in range(3)]
    cid, tutor, students = await _class_with(server.base, clients, clock, tutor_user, users[:2],
                                             tutor_base=second_instance.base)
    third = await (await clients(second_instance.base, users[2])).connect()  # a student on the tutor's instance
    assert (await third.http.post(f"/api/classes/{cid}/enrolment")).status_code == 200
    await third.send(type="class_join", class_id=cid)
    await third.wait_for(lambda f: f.get("type") == "class_state")
    # One room for the class: the tutor's instance holds it; a student whose websocket is on the
    # other instance is answered by it (the offer goes over Redis) and hears the tutor.
    t_peer, a_peer = ClassPeer(tutor, cid, tone=440), ClassPeer(students[0], cid, tone=660)
    peers.extend([t_peer, a_peer])
    await t_peer.connect()
    await a_peer.connect()
    await until(lambda: a_peer.loud > 25)
    assert server.app.state.classes.media.stats(cid) == {}  # no room on the students' instance
    assert second_instance.app.state.classes.media.stats(cid)["participants"] == 2
    await tutor.send(type="class_stroke", class_id=cid, id="t1", points=[[100, 100], [900, 900]])
    for s in (*students, third):
        assert (await s.event("class_stroke", class_id=cid))["id"] == "t1"
    await students[0].send(type="class_hand", class_id=cid, up=True)
    assert (await tutor.event("class_hand", class_id=cid))["user_id"] == users[0].id
    await tutor.send(type="class_floor", class_id=cid, student_id=users[0].id)
    for s in (*students, third):
        await s.event("class_floor", class_id=cid, student_id=users[0].id)
    await until(lambda: t_peer.loud > 25)  # the tutor hears the floor holder from the other instance
    await students[1].send(type="class_chat", class_id=cid, text="明白了")
    assert (await third.event("class_chat", class_id=cid))["text"] == "明白了"
    await students[1].drop()  # the last socket of a student closes: they leave the class
    assert (await tutor.event("class_left", class_id=cid))["user_id"] == users[1].id
    await students[1].connect(resume=True)
    await students[1].send(type="class_join", class_id=cid, ref="rejoin")
    state = await students[1].wait_for(lambda f: f.get("type") == "class_state" and f.get("ref") == "rejoin")
    assert [s["id"] for s in state["board"]] == ["t1"] and state["floor"] == users[0].id
