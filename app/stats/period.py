"""The period of every statistics table: the service days [start, end) in the service's time zone
(a day starts at 00:00 there), at most 400 days long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from app.kit.errors import InvalidInput

MAX_DAYS = 400


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    tz: str

    @classmethod
    def checked(cls, start: date, end: date, tz: str) -> Period:
        """A period a request asked for; 422 unless start < end and it spans at most MAX_DAYS."""
        if end <= start or (end - start).days > MAX_DAYS:
            raise InvalidInput(f"give a period with from < to, at most {MAX_DAYS} days")
        return cls(start, end, tz)

    @classmethod
    def month(cls, month: str, tz: str) -> Period:
        """The calendar month `YYYY-MM`."""
        year, mon = map(int, month.split("-"))
        return cls(date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1), tz)

    def bounds(self) -> tuple[datetime, datetime]:
        return bounds(self.start, self.end, self.tz)


def bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """The instants the days [start, end) of the time zone `tz` begin and end at."""
    zone = ZoneInfo(tz)
    return datetime.combine(start, time(0), zone), datetime.combine(end, time(0), zone)
