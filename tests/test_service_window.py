"""The service window and its calendar of exceptions (no database: pure rules)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.calendar.window import ServiceWindow

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=SH).timestamp()


def test_weekday_evening_is_open_and_the_edges_are_exact():
    w = ServiceWindow()
    assert w.is_open(at(2026, 11, 25, 18, 0))  # Wednesday 18:00 sharp
    assert w.is_open(at(2026, 11, 25, 20, 59))
    assert not w.is_open(at(2026, 11, 25, 21, 0))
    assert not w.is_open(at(2026, 11, 25, 17, 59))


def test_next_opening_after_closing_and_over_the_weekend():
    w = ServiceWindow()
    assert w.next_opening(at(2026, 11, 25, 21, 30)) == datetime(2026, 11, 26, 18, 0, tzinfo=SH)
    assert w.next_opening(at(2026, 11, 25, 9, 0)) == datetime(2026, 11, 25, 18, 0, tzinfo=SH)
    # Friday night → Monday evening.
    assert w.next_opening(at(2026, 11, 27, 22, 0)) == datetime(2026, 11, 30, 18, 0, tzinfo=SH)


def test_calendar_closes_holidays_and_opens_make_up_days():
    holiday, makeup = date(2026, 10, 1), date(2026, 10, 10)  # a Thursday; a Saturday 调休
    w = ServiceWindow(overrides={holiday: False, date(2026, 10, 2): False, makeup: True})
    assert not w.is_open(at(2026, 10, 1, 19, 0))
    assert w.next_opening(at(2026, 10, 1, 19, 0)) == datetime(2026, 10, 5, 18, 0, tzinfo=SH)
    assert w.is_open(at(2026, 10, 10, 19, 0))


def test_window_from_settings_text():
    w = ServiceWindow.parse("1-6 19:00-21:30", "Asia/Shanghai")
    assert w.is_open(at(2026, 11, 28, 21, 0))  # Saturday included
    assert not w.is_open(at(2026, 11, 29, 20, 0))  # Sunday not
    assert ServiceWindow.parse("always", "Asia/Shanghai").is_open(at(2026, 11, 29, 3, 0))
    assert w.closes_at(at(2026, 11, 28, 20, 0)) == at(2026, 11, 28, 21, 30)
