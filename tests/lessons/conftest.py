"""Videos made once per run (PyAV), and helpers to publish a lesson through the API."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from .videos import make_video


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    mp4 = make_video(d / "lesson.mp4", 6.0)
    webm = make_video(d / "lesson.webm", 3.0, fmt="webm", vcodec="libvpx-vp9", acodec="libopus")
    data = mp4.read_bytes()
    cut = d / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index says 6 s; the pictures stop half-way
    junk = d / "notes.mp4"
    junk.write_bytes(b"this is a text file pretending to be a video\n" * 200)
    return {"mp4": mp4, "webm": webm, "cut": cut, "junk": junk}


async def wait_processed(client: httpx.AsyncClient, headers: dict[str, str], lesson_id: int) -> dict[str, Any]:
    for _ in range(600):
        r = await client.get(f"/api/lessons/{lesson_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["media_status"] != "processing":
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError("the lesson stayed in processing")


async def publish(client: httpx.AsyncClient, tutor: dict[str, str], video: Path, *, subject: str = "physics",
                  kps: list[int], title: str = "电功率的计算", band: str = "junior") -> dict[str, Any]:
    r = await client.post("/api/lessons", headers=tutor, json={"title": title, "description": "用公式 P=UI",
                                                               "subject": subject, "band": band, "knowledge_point_ids": kps})
    assert r.status_code == 201, r.text
    lesson = r.json()
    r = await client.put(f"/api/lessons/{lesson['id']}/video", headers={**tutor, "content-type": "video/mp4"},
                         content=video.read_bytes())
    assert r.status_code == 202, r.text
    assert r.json()["media_status"] == "processing"
    return await wait_processed(client, tutor, lesson["id"])
