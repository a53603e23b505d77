"""aiortc peers of a class: one connection each to the service's media room, a tone to send,
and what they hear (frames, and frames loud enough to be a voice rather than silence)."""
from __future__ import annotations

import asyncio
import audioop
import contextlib
import math

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

LOUD = 2000  # peak amplitude (s16) that a tone reaches and Opus-coded silence never does


class Tone(AudioStreamTrack):
    """A sine at `freq` Hz, paced like a microphone (20 ms frames)."""

    def __init__(self, freq: float = 440.0) -> None:
        super().__init__()
        self.freq, self.n = freq, 0

    async def recv(self) -> AudioFrame:
        silent = await super().recv()  # keeps the pacing and the timestamps
        samples = silent.samples
        pcm = bytearray()
        for i in range(samples):
            v = int(8000 * math.sin(2 * math.pi * self.freq * (self.n + i) / silent.sample_rate))
            pcm += v.to_bytes(2, "little", signed=True)
        self.n += samples
        frame = AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate, frame.pts, frame.time_base = silent.sample_rate, silent.pts, silent.time_base
        return frame


class ClassPeer:
    def __init__(self, client, class_id: int, tone: float | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client, self.class_id = client, class_id
        self.pc = RTCPeerConnection()
        if tone:
            self.pc.addTrack(Tone(tone))
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.frames = 0
        self.loud = 0
        self.pc.on("track", lambda track: asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.frames += 1
                if audioop.max(bytes(frame.planes[0]), 2) > LOUD:
                    self.loud += 1

    async def connect(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        before = {id(f) for f in self.client.frames}  # an earlier connection's answer is not this one's
        await self.client.send(type="class_signal", class_id=self.class_id, kind="offer", sdp=self.pc.localDescription.sdp)
        answer = await self.client.wait_for(lambda f: id(f) not in before and f.get("type") == "event"
                                            and f["kind"] == "class_signal" and f["data"].get("class_id") == self.class_id
                                            and f["data"].get("kind") == "answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["data"]["sdp"], "answer"))

    async def close(self) -> None:
        await self.pc.close()


async def until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), timeout)
