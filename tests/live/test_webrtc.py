"""End to end with two real aiortc peers: a student and a tutor sign in over HTTP, the student
asks, the tutor accepts the offer that rings on its websocket, both negotiate WebRTC through
the signaling server, a data channel opens, audio flows both ways, chat and a whiteboard stroke
round-trip, the student hangs up and rates, and the records are in the database. Then the same
with the student and the tutor on two instances sharing PostgreSQL and Redis."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from sqlalchemy import select

from app.main import create_app
from app.models import PointsEntry, SessionEvent, TutoringSession

from ..images import png
from .helpers import Client, Server


class Peer:
    def __init__(self, client: Client, session_id: int) -> None:
        self.client, self.session_id = client, session_id
        self.pc = RTCPeerConnection()
        self.pc.addTrack(AudioStreamTrack())  # 20 ms frames of audio, like a microphone
        self.frames_in = 0
        self.messages: list[str] = []
        self.channel = None
        self.channel_open = asyncio.Event()
        self.pc.on("track", lambda track: asyncio.ensure_future(self._consume(track)))
        self.pc.on("datachannel", self._adopt)

    def _adopt(self, channel) -> None:  # type: ignore[no-untyped-def]
        self.channel = channel
        channel.on("message", self.messages.append)
        if channel.readyState == "open":
            self.channel_open.set()
        channel.on("open", self.channel_open.set)

    async def _consume(self, track) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                await track.recv()
                self.frames_in += 1
        except MediaStreamError:
            pass

    async def call(self) -> None:
        """The student's side: create the data channel and the SDP offer."""
        self._adopt(self.pc.createDataChannel("board"))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.client.send(type="signal", session_id=self.session_id, kind="offer", sdp=self.pc.localDescription.sdp)
        answer = await self.client.event("signal", kind="answer", session_id=self.session_id)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def answer(self) -> None:
        offer = await self.client.event("signal", kind="offer", session_id=self.session_id)
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.client.send(type="signal", session_id=self.session_id, kind="answer", sdp=self.pc.localDescription.sdp)

    async def connected(self) -> None:
        while self.pc.connectionState != "connected":
            assert self.pc.connectionState not in ("failed", "closed")
            await asyncio.sleep(0.05)
        await self.client.send(type="media", session_id=self.session_id, state="connected")


async def until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), timeout)


async def full_session(student: Client, tutor: Client, factory, clock, tutor_user) -> None:  # type: ignore[no-untyped-def]
    assert (await tutor.http.post("/api/duty")).status_code == 200
    image = (await student.http.post("/api/images", files={"file": ("q.png", png(), "image/png")})).json()
    r = await student.http.post("/api/help-requests", json={"subject": "physics", "text": "滑动变阻器怎么接？",
                                                            "image_ids": [image["id"]]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    offer = await tutor.event("offer", request_id=rid)
    assert offer["images"] == [image["url"]]
    sid = (await tutor.http.post(f"/api/offers/{rid}/accept")).json()["session_id"]
    assert (await student.event("matched", request_id=rid))["session_id"] == sid

    s_peer, t_peer = Peer(student, sid), Peer(tutor, sid)
    try:
        await asyncio.gather(s_peer.call(), t_peer.answer())
        await asyncio.gather(s_peer.connected(), t_peer.connected())
        live = await student.event("session_live", session_id=sid)
        assert live["cap_s"] == 1800
        await asyncio.wait_for(asyncio.gather(s_peer.channel_open.wait(), t_peer.channel_open.wait()), 10)
        s_peer.channel.send("ping from the student")
        t_peer.channel.send("pong from the tutor")
        await until(lambda: s_peer.messages and t_peer.messages)
        assert t_peer.messages == ["ping from the student"] and s_peer.messages == ["pong from the tutor"]
        await until(lambda: s_peer.frames_in > 25 and t_peer.frames_in > 25)  # half a second of audio each way

        await student.send(type="chat", session_id=sid, text="老师好，我不会接变阻器")
        assert (await tutor.event("chat", session_id=sid))["text"] == "老师好，我不会接变阻器"
        await tutor.send(type="chat", session_id=sid, text="先看电路图")
        assert (await student.event("chat", text="先看电路图"))["from"] == tutor_user.id
        await tutor.send(type="stroke", session_id=sid, id="t-1", color="#0050ff", width=5,
                         points=[[1000, 1000], [9000, 9000]])
        assert (await student.event("stroke", session_id=sid))["points"] == [[1000, 1000], [9000, 9000]]

        clock.advance(12 * 60)
        await student.send(type="hangup", session_id=sid)
        assert (await tutor.event("session_ended", session_id=sid))["reason"] == "hangup_student"
        r = await student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 4, "comment": "谢谢老师"})
        assert r.status_code == 200
    finally:
        await s_peer.pc.close()
        await t_peer.pc.close()

    await factory.app.state.transcript.flush()  # the relay's rows reach the database in batches
    async with factory.session() as db:
        s = await db.get(TutoringSession, sid)
        transcript = (await db.execute(select(SessionEvent.kind).where(SessionEvent.session_id == sid)
                                       .order_by(SessionEvent.seq))).scalars().all()
        points = (await db.execute(select(PointsEntry.points).where(PointsEntry.source_id == sid))).scalars().all()
    assert (s.state, s.end_reason, s.duration_s, s.rating) == ("ended", "hangup_student", 720, 4)
    assert transcript == ["chat", "chat", "stroke"]
    assert points == [Decimal("1.20")]  # 12 minutes × 0.1 × 1.0 for four stars


async def test_a_whole_session_between_two_real_peers(factory, server, clients, clock):
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await (await clients(server.base, tutor_user)).connect()
    student = await (await clients(server.base, student_user)).connect()
    await full_session(student, tutor, factory, clock, tutor_user)


@pytest.fixture
async def second_instance(app_settings, clock):  # type: ignore[no-untyped-def]
    """Another instance of the service: its own process state, the same PostgreSQL and Redis."""
    other = create_app(app_settings, clock=clock)
    async with other.router.lifespan_context(other):
        srv = await Server(other).start()
        yield srv
        if not srv.server.should_exit:
            await srv.stop()


@pytest.mark.parametrize("backend", ["postgres"])  # several instances need the production setup
async def test_the_same_session_across_two_instances(factory, server, second_instance, clients, clock):
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await (await clients(second_instance.base, tutor_user)).connect()
    student = await (await clients(server.base, student_user)).connect()
    await full_session(student, tutor, factory, clock, tutor_user)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_tutor_instance_stops_mid_session_and_nothing_is_lost(factory, server, second_instance, clients, clock):
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await (await clients(second_instance.base, tutor_user)).connect()
    student = await (await clients(server.base, student_user)).connect()
    assert (await tutor.http.post("/api/duty")).status_code == 200
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "?"})).json()["id"]
    await tutor.event("offer", request_id=rid)
    sid = (await tutor.http.post(f"/api/offers/{rid}/accept")).json()["session_id"]
    for c in (student, tutor):
        await c.send(type="media", session_id=sid, state="connected")
    await tutor.event("session_live", session_id=sid)
    last = tutor.last_event_id

    await second_instance.stop()  # the tutor's instance goes away; its socket is closed
    await tutor.reader
    for n in range(8):
        await student.send(type="chat", session_id=sid, text=f"消息{n}")
        await student.event("chat", text=f"消息{n}")
    before = len(tutor.events)
    await tutor.connect(base=server.base, resume=True)  # the load balancer sends it elsewhere
    await tutor.event("chat", text="消息7")
    replayed = tutor.events[before:]
    assert [e["id"] for e in replayed] == list(range(last + 1, last + 1 + len(replayed)))
    assert [e["data"]["text"] for e in replayed if e["kind"] == "chat"] == [f"消息{n}" for n in range(8)]
    await tutor.send(type="chat", session_id=sid, text="继续")
    assert (await student.event("chat", text="继续"))["from"] == tutor_user.id
