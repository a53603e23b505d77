"""Classes on Janus (TUTORING_CLASS_MEDIA=janus), over real sockets: the service passes each
participant's offer to the run's Janus (scripts/ensure-janus.sh) and back; the tutor is heard by
the students, the floor holder by the tutor and the class; a Janus that is down is a clear error
code on connecting, within the timeout; rooms of classes that are no longer live are destroyed
when an instance starts."""
from __future__ import annotations

import asyncio
import socket

import pytest

from app.main import create_app
from classroom.janus import JanusBackend

from ..janus import janus_server, janus_settings, start_janus, stop_janus  # noqa: F401 - the run's Janus
from .peers import ClassPeer, until
from .test_live import _class_with


@pytest.fixture
def app_settings(app_settings, janus_server, tmp_path, request):  # type: ignore[no-untyped-def]  # noqa: F811
    settings = janus_settings(app_settings, janus_server, f"t-{tmp_path.name}:")
    if request.node.get_closest_marker("janus_down"):  # nobody listens where the service looks for Janus
        settings = settings.model_copy(update={"janus_url": f"ws://127.0.0.1:{_closed_port()}", "janus_timeout_s": 2.0})
    return settings


@pytest.fixture
async def peers():  # type: ignore[no-untyped-def]
    made: list[ClassPeer] = []
    yield made
    for p in made:
        await p.close()


def _janus(app):  # type: ignore[no-untyped-def]
    media = app.state.classes.media
    return getattr(media, "local", media)  # under RoutedMedia with Redis


async def test_the_tutor_is_heard_by_all_and_the_floor_holder_by_the_tutor_and_the_class(factory, server, clients, clock, peers):
    """… and nothing a page receives carries Janus's API secret."""
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=1) for _ in range(2)]
    cid, tutor, (a, b) = await _class_with(server.base, clients, clock, tutor_user, users)
    t_peer, a_peer, b_peer = ClassPeer(tutor, cid, tone=440), ClassPeer(a, cid, tone=660), ClassPeer(b, cid)
    peers.extend([t_peer, a_peer, b_peer])
    for p in peers:
        await p.connect()
    janus = _janus(server.app)
    assert janus.name == "janus"
    await until(lambda: a_peer.loud > 25 and b_peer.loud > 25)  # half a second of the tutor, at each student
    assert t_peer.loud == 0  # a's microphone is not forwarded without the floor
    assert (await janus.room_stats(cid))["participants"] == 3
    await tutor.send(type="class_floor", class_id=cid, student_id=users[0].id)
    await b.event("class_floor", class_id=cid, student_id=users[0].id)
    await until(lambda: t_peer.loud > 25)  # the tutor hears a …
    heard = b_peer.loud
    await until(lambda: b_peer.loud > heard + 25)  # … and so does the class
    assert (await janus.room_stats(cid))["floor"] == users[0].id
    await tutor.send(type="class_floor", class_id=cid, student_id=None)
    await a.event("class_floor", class_id=cid, student_id=None)
    await until(lambda: b_peer.loud > heard + 50)  # the tutor again
    await b.send(type="class_leave", class_id=cid, ref="bye")  # a student leaving drops their connection in Janus
    await b.wait_for(lambda f: f.get("ref") == "bye")
    for _ in range(100):
        if (await janus.room_stats(cid))["participants"] == 2:
            break
        await asyncio.sleep(0.05)
    assert (await janus.room_stats(cid))["participants"] == 2
    await tutor.send(type="class_end", class_id=cid)
    assert (await a.event("class_ended", class_id=cid))["reason"] == "ended_by_tutor"
    for _ in range(100):
        if await janus.room_stats(cid) == {}:
            break
        await asyncio.sleep(0.05)
    assert await janus.room_stats(cid) == {}  # the room is destroyed in Janus with the class
    assert cid not in await janus.list_rooms()
    import json

    seen = json.dumps([c.frames for c in (tutor, a, b)])  # everything the three websockets carried
    assert "a=candidate" in seen and janus.api.secret and janus.api.secret not in seen  # Janus's SDP, never its secret


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()  # nobody listens there now
    return port


@pytest.mark.janus_down
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_janus_that_is_down_is_a_clear_error_on_connecting_never_a_hang(factory, server, clients, clock, peers):
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    cid, tutor, _ = await _class_with(server.base, clients, clock, tutor_user, [])  # the class itself goes on
    peer = ClassPeer(tutor, cid, tone=440)
    peers.append(peer)
    await peer.pc.setLocalDescription(await peer.pc.createOffer())
    await tutor.send(type="class_signal", class_id=cid, kind="offer", sdp=peer.pc.localDescription.sdp, ref="o")
    err = await tutor.wait_for(lambda f: f.get("type") == "error" and f.get("ref") == "o", timeout=8)
    assert err["error"] == "MediaUnavailable" and "Janus" in err["detail"]
    await tutor.send(type="class_chat", class_id=cid, text="没有声音，先打字", ref="c")  # the rest of the class still works
    assert (await tutor.event("class_chat", class_id=cid))["text"] == "没有声音，先打字"


async def test_rooms_of_classes_no_longer_live_are_destroyed_when_an_instance_starts(app_settings, janus_server, clock):  # noqa: F811
    prefix = app_settings.janus_room_prefix
    other = JanusBackend(janus_server.url, janus_server.api_secret, room_prefix=prefix)
    stranger = JanusBackend(janus_server.url, janus_server.api_secret, room_prefix=prefix + "other:")
    try:
        await other.create_room(424242)  # a crashed instance's room: no such class is live
        await stranger.create_room(7)  # another deployment's room on the same Janus
        other.rooms.clear()  # the "crashed" instance does not close it
        assert 424242 in await other.list_rooms()
        app = create_app(app_settings, clock=clock)
        async with app.router.lifespan_context(app):
            assert 424242 not in await other.list_rooms()
        assert await stranger.list_rooms() == [7]  # another prefix is not this service's business
    finally:
        await stranger.close_room(7)
        await stranger.aclose()
        await other.aclose()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_media_server_gets_the_services_turn_credentials_and_browsers_do_not(client, app, monkeypatch):
    """Janus's own side uses the TURN servers the service hands browsers: it asks the service per
    connection (turn_rest_api, keyed by its API secret); nobody else gets an answer."""
    settings = app.state.settings
    monkeypatch.setattr(settings, "turn_urls", ["turn:turn.example.org:3478"])
    monkeypatch.setattr(settings, "turn_secret", "coturn-static-auth-secret")
    r = await client.get("/api/classes/media/turn", params={"service": "turn", "key": settings.janus_api_secret, "username": "janus"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uris"] == ["turn:turn.example.org:3478"] and body["ttl"] == settings.turn_ttl_s
    from signaling.turn import credentials_valid

    assert credentials_valid("coturn-static-auth-secret", body["username"], body["password"], app.state.matcher.clock.now())
    for key in ("", "wrong", settings.janus_api_secret[:-1]):
        r = await client.get("/api/classes/media/turn", params={"service": "turn", "key": key})
        assert r.status_code == 403 and r.json()["error"] == "Forbidden"


def test_ensure_janus_points_janus_at_the_services_turn_endpoint(tmp_path):  # type: ignore[no-untyped-def]
    url = "http://127.0.0.1:9/api/classes/media/turn"
    janus = start_janus(tmp_path / "janus", TUTORING_JANUS_TURN_REST_API=url, TUTORING_JANUS_API_SECRET="the-api-secret")
    try:
        assert janus.api_secret == "the-api-secret"
        assert f"TURN REST API backend: {url}" in (janus.folder / "janus.log").read_text()
    finally:
        stop_janus(janus)


@pytest.fixture
async def second_instance(app_settings, clock):  # type: ignore[no-untyped-def]
    from ..live.helpers import Server

    other = create_app(app_settings, clock=clock)
    async with other.router.lifespan_context(other):
        srv = await Server(other).start()
        yield srv
        await srv.stop()


@pytest.mark.parametrize("backend", ["postgres"])  # several instances need the production setup
async def test_a_class_on_janus_across_two_instances_needs_no_routing(factory, server, second_instance, clients, clock, peers):
    """The room is Janus's: the tutor's instance and the students' instance each attach their own
    participants, and the floor moved on one is heard through the other."""
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=i) for i in range(2)]
    cid, tutor, (a, b) = await _class_with(server.base, clients, clock, tutor_user, users, tutor_base=second_instance.base)
    t_peer, a_peer, b_peer = ClassPeer(tutor, cid, tone=440), ClassPeer(a, cid, tone=660), ClassPeer(b, cid)
    peers.extend([t_peer, a_peer, b_peer])
    for p in peers:
        await p.connect()
    await until(lambda: a_peer.loud > 25 and b_peer.loud > 25)  # the tutor, attached by the other instance
    janus_a, janus_b = _janus(server.app), _janus(second_instance.app)
    assert janus_a is not janus_b and janus_a.name == janus_b.name == "janus"
    assert (await janus_a.room_stats(cid))["participants"] == 3  # one room, whichever instance asks
    await tutor.send(type="class_floor", class_id=cid, student_id=users[0].id)
    await b.event("class_floor", class_id=cid, student_id=users[0].id)
    await until(lambda: t_peer.loud > 25)  # the tutor hears a, whose connection the students' instance made
    await b.send(type="class_leave", class_id=cid, ref="bye")
    await b.wait_for(lambda f: f.get("ref") == "bye")
    for _ in range(100):
        if (await janus_b.room_stats(cid))["participants"] == 2:
            break
        await asyncio.sleep(0.05)
    assert (await janus_b.room_stats(cid))["participants"] == 2
