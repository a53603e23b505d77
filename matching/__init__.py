"""Matching: tutors on duty, recommendations, offers and atomic claims.

The public interface `app/` uses: `Matcher` (with `MatchConfig`, `Weights`), a `Pool` backend
(`InProcessPool` or `RedisPool`), the `ServiceWindow`, the clocks and the event sink.
"""
from .clock import Clock, FakeClock, SystemClock
from .events import Event, EventSink, RecordingSink
from .inproc import InProcessPool
from .matcher import MatchConfig, Matcher, Ranked
from .pool import Pool
from .redis_pool import RedisPool
from .scoring import Weights
from .types import ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus
from .window import ServiceWindow

__all__ = [
    "ClaimResult", "Clock", "Event", "EventSink", "FakeClock", "InProcessPool", "MatchConfig", "Matcher", "Pool",
    "Ranked", "RecordingSink", "RedisPool", "RequestSpec", "RequestState", "RequestStatus", "ServiceWindow",
    "SystemClock", "TutorCard", "TutorState", "TutorStatus", "Weights",
]
