"""What a lesson's file really is, and the file every phone plays, with PyAV (FFmpeg's libraries,
installed with aiortc; its wheels carry libx264 and AAC, so no ffmpeg binary is needed).

Everything here is blocking CPU work: callers run it in a thread, off the request path.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image as PILImage

# Containers accepted (FFmpeg's demuxer names): MP4/MOV/3GP are "mov,mp4,…", WebM is "matroska,webm".
CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "webm"}
OUTPUT_MAX_HEIGHT = 720  # a transcoded lesson: 720p is sharp on a phone and a fraction of 1080p's bytes


class MediaRejected(Exception):
    """The file is not a lesson we can serve; the message says why, for the tutor."""


@dataclass(frozen=True)
class Probe:
    container: str  # mp4 | webm
    video_codec: str
    audio_codec: str | None
    duration_s: float
    width: int
    height: int
    faststart: bool  # MP4 with its index (moov) before the media data: playable while downloading

    @property
    def phone_ready(self) -> bool:
        """H.264 (+ AAC or no sound) in an MP4 with the index first: served as uploaded."""
        return self.container == "mp4" and self.video_codec == "h264" and self.audio_codec in (None, "aac") and self.faststart


def _moov_first(path: Path) -> bool:
    """Walk the top-level MP4 boxes: is `moov` before `mdat`?"""
    with path.open("rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return False
            size, kind = struct.unpack(">I4s", head)
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                f.seek(size - 16, 1)
            elif size == 0:
                return False
            else:
                f.seek(size - 8, 1)


def probe(path: Path) -> Probe:
    """Open the container and read its streams (cheap: headers only). Raises MediaRejected."""
    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            container = CONTAINERS.get(c.format.name)
            if container is None:
                raise MediaRejected(f"only MP4, MOV and WebM videos are accepted (this is {c.format.long_name or c.format.name})")
            if not c.streams.video:
                raise MediaRejected("the file has no video track")
            v = c.streams.video[0]
            a = c.streams.audio[0] if c.streams.audio else None
            duration = None
            if c.duration:
                duration = c.duration / av.time_base
            elif v.duration and v.time_base:
                duration = float(v.duration * v.time_base)
            if not duration or duration <= 0:
                raise MediaRejected("the video's length cannot be read")
            width, height = v.codec_context.width, v.codec_context.height
            if not width or not height:
                raise MediaRejected("the video's picture size cannot be read")
            return Probe(
                container,
                v.codec_context.name,
                a.codec_context.name if a else None,
                float(duration),
                width,
                height,
                container == "mp4" and _moov_first(path),
            )
    except MediaRejected:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        raise MediaRejected("this is not a video file we can read (MP4, MOV or WebM), or it is damaged") from None


@contextmanager
def _decoding() -> Iterator[None]:
    """An error while decoding means a damaged file: the tutor is told so."""
    try:
        yield
    except MediaRejected:
        raise
    except (av.FFmpegError, OSError, ValueError):
        raise MediaRejected("the video is damaged: it cannot be decoded to the end") from None


class _Pictures:
    """Follows the decoded pictures of a file: keeps the poster (the last picture at or before
    `at_s`) and how far the pictures reach."""

    def __init__(self, at_s: float) -> None:
        self.at_s, self.last = at_s, 0.0
        self.kept: PILImage.Image | None = None

    def see(self, frame: av.VideoFrame) -> None:
        if self.kept is None or (frame.time is not None and frame.time <= self.at_s):
            self.kept = frame.to_image()
        self.last = max(self.last, frame.time or 0.0)

    def finish(self, duration_s: float, poster: Path) -> None:
        """A truncated upload decodes without an error but stops early: its pictures must reach
        (nearly) the length its header claims. Then the poster is saved (JPEG)."""
        if self.kept is None:
            raise MediaRejected("the video has no pictures")
        if self.last < duration_s - max(1.0, 0.05 * duration_s):
            raise MediaRejected(f"the video is damaged or cut short: pictures stop at {self.last:.1f} s of {duration_s:.1f} s")
        img = self.kept.convert("RGB")
        img.thumbnail((1280, 720))
        img.save(poster, "JPEG", quality=82)


def verify_and_poster(path: Path, poster: Path, at_s: float, duration_s: float) -> None:
    """Decode every video frame (a damaged file fails here, not in a student's player) and keep
    the frame at `at_s` as the poster (JPEG)."""
    pictures = _Pictures(at_s)
    with _decoding(), av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in c.decode(stream):
            pictures.see(frame)
    pictures.finish(duration_s, poster)


def remux_faststart(src: Path, dst: Path) -> None:
    """Same streams, index moved to the front (no re-encoding)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        mapping = {}
        for s in inp.streams.video[:1] + inp.streams.audio[:1]:
            mapping[s.index] = out.add_stream_from_template(s)
        for packet in inp.demux(list(inp.streams.video[:1]) + list(inp.streams.audio[:1])):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)


def _even(n: float) -> int:
    return max(2, int(n) // 2 * 2)


def transcode(src: Path, dst: Path, poster: Path, at_s: float, duration_s: float) -> None:
    """H.264 (yuv420p, ≤ 720p) + AAC in an MP4 with the index first — what every phone plays —
    decoding every frame on the way (so a damaged file fails here) and keeping the poster frame."""
    pictures = _Pictures(at_s)
    with _decoding(), av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        w: float = vin.codec_context.width
        h: float = vin.codec_context.height
        if h > OUTPUT_MAX_HEIGHT:
            w, h = w * OUTPUT_MAX_HEIGHT / h, OUTPUT_MAX_HEIGHT
        rate = vin.average_rate or Fraction(25, 1)
        if rate > 60:
            rate = Fraction(30, 1)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = _even(w), _even(h), "yuv420p"
        vout.options = {"preset": "veryfast", "crf": "26", "profile": "main"}
        aout = None
        if ain is not None:
            aout = out.add_stream("aac", rate=48000)
            aout.layout = "stereo"
            aout.bit_rate = 128_000
        streams = [vin] + ([ain] if ain is not None else [])
        for packet in inp.demux(streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):  # the video stream's (packet.stream is vin)
                    pictures.see(frame)
                    frame.pict_type = av.video.frame.PictureType.NONE
                    for p in vout.encode(frame.reformat(vout.width, vout.height, "yuv420p")):
                        out.mux(p)
                elif isinstance(frame, av.AudioFrame) and aout is not None:
                    frame.pts = None  # the encoder's own timeline (the resampler changes frame sizes)
                    for p in aout.encode(frame):
                        out.mux(p)
        for p in vout.encode():
            out.mux(p)
        if aout is not None:
            for p in aout.encode():
                out.mux(p)
    pictures.finish(duration_s, poster)


@dataclass(frozen=True)
class Result:
    transcoded: bool
    width: int
    height: int
    duration_s: float


def prepare(src: Path, dst: Path, poster: Path) -> Result:
    """From an accepted upload to the served file and its poster. `dst` is written unless the
    upload is served as it is (then the caller keeps `src`)."""
    p = probe(src)
    at = min(1.0, p.duration_s / 3)
    if p.phone_ready:
        verify_and_poster(src, poster, at, p.duration_s)
        return Result(False, p.width, p.height, p.duration_s)
    if p.container == "mp4" and p.video_codec == "h264" and p.audio_codec in (None, "aac"):
        verify_and_poster(src, poster, at, p.duration_s)
        remux_faststart(src, dst)
        return Result(True, p.width, p.height, p.duration_s)
    transcode(src, dst, poster, at, p.duration_s)
    done = probe(dst)
    return Result(True, done.width, done.height, done.duration_s)
