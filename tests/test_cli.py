"""What `make run` prints before and after preparing the database."""
from datetime import datetime
from zoneinfo import ZoneInfo

from app.cli import window_hint
from app.config import Settings


def _at(*args: int) -> float:
    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def test_closed_window_says_when_it_opens_and_how_to_open_it_for_a_demo(tmp_path):
    settings = Settings(data_dir=tmp_path, DATABASE_URL=None, REDIS_URL=None)
    hint = window_hint(settings, now=_at(2026, 11, 26, 10, 0))  # a Thursday morning
    assert "closed" in hint
    assert "2026-11-26 18:00" in hint
    assert "TUTORING_SERVICE_WINDOW=always" in hint


def test_open_window_says_so(tmp_path):
    settings = Settings(data_dir=tmp_path, DATABASE_URL=None, REDIS_URL=None)
    hint = window_hint(settings, now=_at(2026, 11, 26, 19, 0))
    assert "open now" in hint and "always" not in hint


def test_a_holiday_in_the_admins_calendar_closes_the_evening_in_the_hint(tmp_path):
    # An admin closed Thursday 2026-11-26 (a holiday): `make run` must not announce live tutoring
    # open that evening, and names Friday's opening instead.
    from datetime import date

    from matching import ServiceWindow

    settings = Settings(data_dir=tmp_path, DATABASE_URL=None, REDIS_URL=None)
    window = ServiceWindow.parse(settings.service_window, settings.timezone, {date(2026, 11, 26): False})
    hint = window_hint(settings, now=_at(2026, 11, 26, 19, 0), window=window)
    assert "closed" in hint and "2026-11-27 18:00" in hint


def test_make_run_reads_the_calendar_from_the_database(tmp_path):
    import asyncio
    from datetime import date, timedelta

    from app.models import CalendarDay
    from app.kit.db import make_engine, make_sessionmaker
    from app.prestart import migrate, service_window_now

    settings = Settings(data_dir=tmp_path, DATABASE_URL=None, REDIS_URL=None)
    tmp_path.mkdir(exist_ok=True)
    migrate(settings.sqlalchemy_url)

    async def close_a_day() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        async with make_sessionmaker(engine)() as db:
            db.add(CalendarDay(day=closed, is_service_day=False, note="a holiday"))
            await db.commit()
        await engine.dispose()

    closed = date.today() + timedelta(days=30)
    asyncio.run(close_a_day())
    window = asyncio.run(service_window_now(settings))
    assert window.overrides == {closed: False}
    assert window.is_service_day(closed) is False


def test_readme_says_who_teaches_what_in_the_demo_city():
    # A newcomer picks a tutor from this table; it must agree with what the seeder creates.
    import re
    from pathlib import Path

    from app.seed.knowledge import SUBJECTS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    listed = {zh: re.findall(r"tutor(\d+)", rest) for zh, rest in re.findall(r"^\| (\S+) [A-Za-z ]+ \| (tutor[^|]+)\|$", readme, re.M)}
    assert len(listed) == len(SUBJECTS)
    for index, (_, zh, _) in enumerate(SUBJECTS):
        assert [int(n) for n in listed[zh]] == [n for n in range(1, 46) if (n - 1) % len(SUBJECTS) == index]


def test_classes_and_grades_are_named_as_schools_name_them():
    from app.schools.names import class_label, grade_name

    assert class_label(11, "2班") == "高二(2)班"
    assert class_label(7, "3") == "初一(3)班"
    assert class_label(10, "实验班") == "高一 实验班"
    assert grade_name(9) == "初三" and grade_name(None) == ""


def test_make_run_prints_the_url_before_preparing_and_each_step(tmp_path):
    # A newcomer sees where to look at once, then what is happening (not silence until the end).
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TUTORING_DATA_DIR": str(tmp_path), "TUTORING_SEED_DEMO": "false", "TUTORING_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("Ready:"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert f"http://127.0.0.1:{port}/" in lines[0]
    assert lines[1] == "waiting for the database…" and lines[2] == "migrating the database…"
    assert any("Live tutoring is" in line for line in lines) and lines[-1].startswith("Ready:")
