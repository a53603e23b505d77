from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.live.conftest import clients, server  # noqa: F401 - the live tests' real server and clients

SH = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 25) -> str:
    """A time on the test evening (Wednesday 2026-11-25, Asia/Shanghai) as ISO 8601."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).isoformat()


class_body: dict[str, Any] = {"subject": "math", "band": "junior", "title": "一次函数的图像", "description": "画图像，看斜率",
                              "starts_at": at(19, 30), "minutes": 30, "capacity": 30}


@pytest.fixture
async def people(factory):  # type: ignore[no-untyped-def]
    """An org, a math tutor and four junior students at two schools, all signed in (HTTP headers)."""
    org = await factory.org()
    tutor = await factory.tutor(org, subjects=("math",))
    students = [await factory.user("student", org, school=i % 2 + 1) for i in range(4)]
    heads = {u.id: await factory.sign_in(u) for u in (tutor, *students)}
    return org, tutor, students, heads
