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
