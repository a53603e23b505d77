"""Matching: tutors on duty, recommendations, offers and atomic claims.

The public interface `app/` uses: `Matcher` (with `MatchConfig`, `Weights`), a `Pool` backend
(`InProcessPool` or `RedisPool`), the clocks and the event sink. (The service window is the
calendar's: `app/calendar/window.py`.)
"""

from .clock import Clock, FakeClock, SystemClock
from .events import Event, EventSink, RecordingSink
from .inproc import InProcessPool
from .matcher import MatchConfig, Matcher, Ranked
from .pool import Pool
from .redis_pool import RedisPool
from .scoring import Weights
from .types import ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus

__all__ = [
    "ClaimResult",
    "Clock",
    "Event",
    "EventSink",
    "FakeClock",
    "InProcessPool",
    "MatchConfig",
    "Matcher",
    "Pool",
    "Ranked",
    "RecordingSink",
    "RedisPool",
    "RequestSpec",
    "RequestState",
    "RequestStatus",
    "SystemClock",
    "TutorCard",
    "TutorState",
    "TutorStatus",
    "Weights",
]
