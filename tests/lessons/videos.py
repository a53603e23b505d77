"""Real short videos made with PyAV for the tests: a moving test pattern and a tone."""
from __future__ import annotations

import math
import os
import struct
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

COLOURS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 0, 0), (0, 0, 255)]


def make_video(path: Path, seconds: float = 3.0, *, fmt: str = "mp4", vcodec: str = "libx264", acodec: str | None = "aac",
               size: tuple[int, int] = (160, 120), fps: int = 15, faststart: bool = True, noise: bool = False) -> Path:
    """A few seconds of colour bars with a moving square, and a 440 Hz tone. `noise` fills the
    picture with random pixels instead (a big file for the streaming benchmark)."""
    options = {"movflags": "+faststart"} if fmt == "mp4" and faststart else {}
    w, h = size
    bars = Image.new("RGB", size)
    draw = ImageDraw.Draw(bars)
    for i, c in enumerate(COLOURS):
        draw.rectangle([i * w // 7, 0, (i + 1) * w // 7, h], fill=c)
    with av.open(str(path), "w", format=fmt, options=options) as out:
        v = out.add_stream(vcodec, rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        if vcodec == "libx264":
            v.options = {"preset": "ultrafast"}
        a = out.add_stream(acodec, rate=48000) if acodec else None
        for i in range(int(seconds * fps)):
            if noise:
                img = Image.frombytes("RGB", size, os.urandom(w * h * 3))
            else:
                img = bars.copy()
                x = (i * 4) % (w - 16)
                ImageDraw.Draw(img).rectangle([x, h // 2 - 8, x + 16, h // 2 + 8], fill=(0, 0, 0))
            frame = av.VideoFrame.from_image(img)
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            n = 960
            for start in range(0, int(seconds * 48000), n):
                pcm = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * (start + k) / 48000)))
                               for k in range(n))
                frame = av.AudioFrame(format="s16", layout="mono", samples=n)
                frame.planes[0].update(pcm)
                frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
                for p in a.encode(frame):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path
