"""The service window: by default Monday–Friday 18:00–21:00 Asia/Shanghai, on school days.

Admins keep a calendar of exceptions: holidays and vacations closed, weekend make-up school
days (调休) opened. Outside the window live tutoring is refused with the next opening time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass
class ServiceWindow:
    tz: str = "Asia/Shanghai"
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: time = time(18, 0)
    closes: time = time(21, 0)
    overrides: dict[date, bool] = field(default_factory=dict)  # day -> is a service day
    always_open: bool = False

    @classmethod
    def parse(cls, spec: str, tz: str, overrides: dict[date, bool] | None = None) -> ServiceWindow:
        """`spec` like "1-5 18:00-21:00" (ISO weekdays, Monday = 1) or "always"."""
        if spec.strip() == "always":
            return cls(tz=tz, always_open=True, overrides=overrides or {})
        days, hours = spec.split()
        first, _, last = days.partition("-")
        weekdays = frozenset(range(int(first) - 1, int(last or first)))
        a, b = hours.split("-")
        return cls(tz=tz, weekdays=weekdays, opens=time.fromisoformat(a), closes=time.fromisoformat(b), overrides=overrides or {})

    def is_service_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return day.weekday() in self.weekdays

    def is_open(self, at: float) -> bool:
        if self.always_open:
            return True
        local = datetime.fromtimestamp(at, ZoneInfo(self.tz))
        return self.is_service_day(local.date()) and self.opens <= local.time() < self.closes

    def closes_at(self, at: float) -> float | None:
        """When the current opening ends (None when closed or always open)."""
        if self.always_open or not self.is_open(at):
            return None
        local = datetime.fromtimestamp(at, ZoneInfo(self.tz))
        return datetime.combine(local.date(), self.closes, ZoneInfo(self.tz)).timestamp()

    def next_opening(self, at: float) -> datetime | None:
        """The next moment the window opens after `at` (aware, in the window's zone)."""
        if self.always_open:
            return None
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(at, zone)
        day = local.date()
        for _ in range(400):
            start = datetime.combine(day, self.opens, zone)
            if self.is_service_day(day) and start > local:
                return start
            day += timedelta(days=1)
        return None
