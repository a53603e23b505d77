"""The class media room in this process, with aiortc.

Every participant's single RTCPeerConnection carries one audio track each way. The two voices
that may be heard are the tutor and the floor holder; each mix is encoded once: everything for
the listeners, the floor for the tutor, the tutor for the floor holder (nobody hears themselves).
The room sends each encoded packet to every listener itself (_Outlet): a listener costs an RTP
header, one SRTP encryption (libsrtp, in C) and one sendto — not an Opus encode, and not aiortc's
sender machinery (a task, a queue and Python packetising per packet per listener, which was ~2 ms
of CPU per listener-second). aiortc still does the rest: ICE, DTLS, the answer, the RTCP reports
and the inbound audio. Students' audio is decoded only while they hold the floor: their page
attaches the microphone only then.

Delay: the room mixes when the tutor's frame arrives (the tutor's microphone is the room's
clock), not on a timer of its own, so a frame never waits for the next tick or in a standing
backlog; a 20 ms timer takes over only while no tutor frame comes (the tutor gone or stalled),
so the floor is heard all the same. Inbound audio is released to the decoder as each packet
arrives (an audio packet is a whole frame) instead of aiortc's four-packet prefetch.
"""

from __future__ import annotations

import asyncio
import audioop  # stdlib until 3.13; one C call mixes two frames (no numpy dependency for this)
import contextlib
import logging
import secrets
import struct
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.clock import current_ntp_time
from aiortc.codecs.opus import OpusEncoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from aiortc.utils import uint16_add
from av import AudioFrame
from av.frame import Frame

log = logging.getLogger(__name__)

RATE, SAMPLES, PTIME = 48_000, 960, 0.020
TIME_BASE = Fraction(1, RATE)
MAX_BACKLOG = 3  # frames kept per voice: more means the speaker's clock runs ahead; drop the oldest
CATCH_UP_AFTER = 10  # steps (200 ms) of a standing backlog before a frame is dropped to cut the delay
TUTOR_CLOCK_S = 0.060  # no tutor frame for this long: the room's own 20 ms timer drives the mix


class HeldTrack(MediaStreamTrack):
    """The outgoing track aiortc negotiates (so the answer says sendrecv) but never reads from:
    the room sends the packets itself (_Outlet)."""

    kind = "audio"

    async def recv(self) -> Frame:
        await asyncio.Event().wait()  # aiortc's sender waits here until the connection closes
        raise MediaStreamError


class _Outlet:
    """One participant's outgoing audio, sent by the room itself: the class's one encoded Opus
    packet per frame gets this connection's RTP header (its SSRC, sequence and timestamp), is
    encrypted with its SRTP session (libsrtp, C) and written to its ICE pair's socket — per
    listener one header, one encryption, one sendto, and no Python of aiortc's per packet.
    aiortc still negotiates the sender (SSRC, payload type, header extensions), runs DTLS and
    ICE, and sends the RTCP sender reports; the counters it reports are kept up to date here.
    It reads aiortc's and aioice's private attributes (the DTLS state and SRTP session, the
    selected pair, the sender's SSRC and counters): the class tests hear audio through them, so a
    change in aiortc shows."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self.sender = sender
        self.sent = 0
        self.header: bytearray | None = None  # set when the connection is up (the sender starts)
        self.parameters: RTCRtpSendParameters | None = None
        self.seq = secrets.randbelow(1 << 16)
        self.origin = secrets.randbelow(1 << 32)
        self.octets = 0
        start = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            await start(parameters)
            self.parameters = parameters
            self._start()

        sender.send = send  # type: ignore[method-assign]  # aiortc calls it once DTLS is up

    def _start(self) -> bool:
        """The connection's header, SRTP session and socket, once it has them all."""
        dtls, parameters = self.sender.transport, self.parameters
        if parameters is None or dtls._state is not DtlsState.CONNECTED or dtls._tx_srtp is None:
            return False
        pair = dtls.transport._connection._nominated.get(1)  # aioice's selected pair (component 1)
        payload_type = parameters.codecs[0].payloadType
        if pair is None or payload_type is None:
            return False
        extensions = HeaderExtensionsMap()
        extensions.configure(parameters)
        packet = RtpPacket(payload_type=payload_type, marker=1, ssrc=self.sender._ssrc)
        packet.extensions.mid = parameters.muxId
        self.dtls, self.srtp = dtls, dtls._tx_srtp
        self.socket, self.addr = pair.protocol.transport, pair.remote_addr
        self.header = bytearray(packet.serialize(extensions))
        return True

    def send(self, payload: bytes, timestamp: int, ntp: int) -> None:
        header = self.header
        if header is None:
            if self.parameters is None or not self._start():
                return
            header = self.header
            assert header is not None
        if self.dtls._state is not DtlsState.CONNECTED or self.socket.is_closing():
            return  # the connection is ending: the room drops the participant (connectionstatechange)
        self.seq = seq = (self.seq + 1) & 0xFFFF
        ts = (self.origin + timestamp) & 0xFFFFFFFF
        _SEQ_TS.pack_into(header, 2, seq, ts)
        try:
            self.socket.sendto(self.srtp.protect(bytes(header) + payload), self.addr)
        except (OSError, AttributeError, pylibsrtp.Error):  # the socket closed under us (asyncio drops it)
            return
        self.sent += 1
        self.octets += len(payload)
        sender = self.sender  # what its RTCP sender reports and getStats() say
        sender._RTCRtpSender__packet_count = self.sent  # type: ignore[attr-defined]  # aiortc keeps them private
        sender._RTCRtpSender__octet_count = self.octets  # type: ignore[attr-defined]  # private to aiortc, as above
        sender._RTCRtpSender__rtp_timestamp = ts  # type: ignore[attr-defined]  # private to aiortc, as above
        sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]  # private to aiortc, as above


_SEQ_TS = struct.Struct("!HI")


class _Mix:
    """One mix encoded once per 20 ms."""

    def __init__(self) -> None:
        self.encoder = OpusEncoder()
        self.pts = 0

    def encode(self, samples: bytes) -> tuple[bytes, int] | None:
        """The Opus payload and its RTP timestamp (48 kHz), or None while the encoder fills."""
        frame = _frame(samples, self.pts)
        self.pts += SAMPLES
        payloads, timestamp = self.encoder.encode(frame)
        if not payloads:
            return None
        return payloads[0], timestamp


class _Participant:
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.pc = RTCPeerConnection()
        self.track = HeldTrack()
        self.out: _Outlet | None = None
        self.reader: asyncio.Task[None] | None = None
        self.frames_in = 0


class Room:
    def __init__(self, room_id: int, record_to: Path | None) -> None:
        self.id = room_id
        self.tutor_id: int | None = None
        self.floor_id: int | None = None
        self.people: dict[int, _Participant] = {}
        self.voices: dict[int, deque[bytes]] = {}
        self.behind: dict[int, int] = {}  # consecutive ticks with more than one frame waiting, per voice
        self.mixes = {"all": _Mix(), "tutor": _Mix(), "floor": _Mix()}
        self.silence = bytes(SAMPLES * 4)
        self.ticks = 0
        self.tutor_clock = float("-inf")  # when the tutor's last frame drove a mix (loop time)
        self.recorder = _Recorder(record_to) if record_to else None
        self.clock = asyncio.create_task(self._run())

    async def connect(self, user_id: int, offer_sdp: str, tutor: bool) -> str:
        if tutor:
            self.tutor_id = user_id
        await self.drop(user_id)
        p = _Participant(user_id)
        self.people[user_id] = p
        p.pc.on("track", lambda track: self._inbound(p, track))

        @p.pc.on("connectionstatechange")
        async def _state() -> None:
            if p.pc.connectionState in ("failed", "closed") and self.people.get(user_id) is p:
                await self.drop(user_id)

        try:
            await p.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:  # aiortc raises several kinds for a malformed offer
            await self.drop(user_id)
            raise ValueError(str(exc) or type(exc).__name__) from None
        p.out = _Outlet(p.pc.addTrack(p.track))
        await p.pc.setLocalDescription(await p.pc.createAnswer())
        return str(p.pc.localDescription.sdp)

    def _inbound(self, p: _Participant, track: MediaStreamTrack) -> None:
        if track.kind != "audio":
            return
        shorten_jitter_buffer(p.pc)

        async def read() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    assert isinstance(frame, AudioFrame)  # an audio track's frames (recv() is typed for any media)
                    p.frames_in += 1
                    if p.user_id in (self.tutor_id, self.floor_id):
                        q = self.voices.setdefault(p.user_id, deque(maxlen=MAX_BACKLOG))
                        q.append(_samples(frame))
                        if p.user_id == self.tutor_id:
                            self.tutor_clock = asyncio.get_running_loop().time()
                            self._step_safely()

        p.reader = asyncio.create_task(read())

    async def drop(self, user_id: int) -> None:
        p = self.people.pop(user_id, None)
        self.voices.pop(user_id, None)
        if p is not None:
            p.track.stop()
            if p.reader:
                p.reader.cancel()
            await p.pc.close()

    def floor(self, user_id: int | None) -> None:
        if self.floor_id is not None:
            self.voices.pop(self.floor_id, None)
        self.floor_id = user_id

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            n += 1
            delay = start + n * PTIME - loop.time()
            if delay < -0.2:  # the process stalled: restart the clock rather than burst
                start, n = loop.time(), 0
            await asyncio.sleep(max(0.0, delay))
            if loop.time() - self.tutor_clock > TUTOR_CLOCK_S:
                self._step_safely()

    def _step_safely(self) -> None:
        try:
            self.step()
        except Exception:  # noqa: BLE001 - one bad frame must not stop the room
            log.exception("class room %s: mixing failed", self.id)

    def _take(self, user_id: int | None) -> bytes | None:
        """The voice's next frame. A backlog absorbs a burst; one that lasts (the speaker's clock
        runs ahead of the room's, or a burst never drains) is pure delay: drop a frame to catch up."""
        if user_id is None:
            return None
        q = self.voices.get(user_id)
        if not q:
            return None
        if len(q) > 1:
            self.behind[user_id] = self.behind.get(user_id, 0) + 1
            if self.behind[user_id] >= CATCH_UP_AFTER:
                q.popleft()
                self.behind[user_id] = 0
        else:
            self.behind[user_id] = 0
        return q.popleft()

    def step(self) -> None:
        """One 20 ms frame for everybody (a listener costs one queue push here)."""
        self.ticks += 1
        tutor, floor = self._take(self.tutor_id), self._take(self.floor_id)
        if tutor is not None and floor is not None:
            both = audioop.add(tutor, floor, 2)
        else:
            both = tutor if tutor is not None else floor if floor is not None else self.silence
        if self.recorder:
            self.recorder.write(both)
        everyone = self.mixes["all"].encode(both)
        ntp = current_ntp_time()
        for uid, p in self.people.items():
            if uid == self.tutor_id:
                packet = self.mixes["tutor"].encode(floor if floor is not None else self.silence)
            elif uid == self.floor_id:
                packet = self.mixes["floor"].encode(tutor if tutor is not None else self.silence)
            else:
                packet = everyone
            if packet is not None and p.out is not None:
                p.out.send(packet[0], packet[1], ntp)
        self.fanned_out(everyone)

    def fanned_out(self, packet: tuple[bytes, int] | None) -> None:
        """Called when every participant's packet of this frame is on its socket (a hook for the
        benchmark's clock)."""

    async def close(self) -> None:
        self.clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.clock
        try:
            for uid in list(self.people):
                await self.drop(uid)
        finally:
            if self.recorder:
                self.recorder.close()

    def stats(self) -> dict[str, Any]:
        return {
            "participants": len(self.people),
            "ticks": self.ticks,
            "floor": self.floor_id,
            "sent": {u: p.out.sent if p.out else 0 for u, p in self.people.items()},
            "received": {u: p.frames_in for u, p in self.people.items()},
        }


class AudioJitterBuffer(JitterBuffer):
    """Each audio packet is a whole Opus frame: hand it to the decoder as it arrives. aiortc's
    buffer holds four packets (80 ms), and even with `prefetch=1` waits for the next packet to
    know a frame is complete (20 ms) — pure delay, added once per hop. A packet older than one
    already released is dropped (the decoder cannot go back); a gap is skipped (the lost frame
    is simply not heard)."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._next: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._next is not None and 0 < uint16_add(self._next, -seq) < 0x8000:
            return False, None  # late or duplicate
        self._next = uint16_add(seq, 1)
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]  # the packet's payload, private in aiortc


def shorten_jitter_buffer(pc: RTCPeerConnection) -> None:
    """Release inbound audio without a prefetch (AudioJitterBuffer). A private attribute of
    aiortc's receiver: the class tests hear audio through it, so a change in aiortc shows."""
    for receiver in pc.getReceivers():
        if receiver.track is not None and receiver.track.kind == "audio":
            receiver._RTCRtpReceiver__jitter_buffer = AudioJitterBuffer()  # type: ignore[attr-defined]  # aiortc keeps it private


def _samples(frame: AudioFrame) -> bytes:
    """Interleaved s16 stereo, 960 samples (what aiortc's Opus decoder produces)."""
    data = bytes(frame.planes[0])
    if frame.format.name != "s16":
        return bytes(SAMPLES * 4)
    if frame.layout.name == "mono":
        data = audioop.tostereo(data[: frame.samples * 2], 2, 1, 1)
    data = data[: SAMPLES * 4]
    return data + bytes(SAMPLES * 4 - len(data))


def _frame(samples: bytes, pts: int) -> AudioFrame:
    frame = AudioFrame(format="s16", layout="stereo", samples=SAMPLES)
    frame.planes[0].update(samples)
    frame.sample_rate, frame.pts, frame.time_base = RATE, pts, TIME_BASE
    return frame


class _Recorder:
    """The class's audio (what the listeners hear) as Ogg/Opus next to the board's transcript.
    A room taken over from a dead instance records its part beside the first (class-3.2.ogg …)."""

    def __init__(self, path: Path) -> None:
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, part = path.with_suffix(".ogg"), 1
        while self.path.exists():
            part += 1
            self.path = path.with_suffix(f".{part}.ogg")
        self.container = av.open(str(self.path), "w", format="ogg")
        self.stream = self.container.add_stream("libopus", rate=RATE, layout="stereo")
        self.pts = 0

    def write(self, samples: bytes) -> None:
        frame = _frame(samples, self.pts)
        self.pts += SAMPLES
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        self.container.close()


class AiortcBackend:
    name = "aiortc"

    def __init__(self) -> None:
        self.rooms: dict[int, Room] = {}

    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        if room_id not in self.rooms:
            self.rooms[room_id] = Room(room_id, record_to)

    def _room(self, room_id: int) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise KeyError(f"no media room {room_id} here")
        return room

    async def publish(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._room(room_id).connect(user_id, offer_sdp, tutor=True)

    async def subscribe(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        return await self._room(room_id).connect(user_id, offer_sdp, tutor=False)

    async def give_floor(self, room_id: int, user_id: int) -> None:
        if room_id in self.rooms:
            self.rooms[room_id].floor(user_id)

    async def take_floor(self, room_id: int) -> None:
        if room_id in self.rooms:
            self.rooms[room_id].floor(None)

    async def leave(self, room_id: int, user_id: int) -> None:
        if room_id in self.rooms:
            await self.rooms[room_id].drop(user_id)

    async def close_room(self, room_id: int) -> None:
        room = self.rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    def stats(self, room_id: int) -> dict[str, Any]:
        room = self.rooms.get(room_id)
        return room.stats() if room else {}

    async def aclose(self) -> None:
        for room_id in list(self.rooms):
            await self.close_room(room_id)
