"""The values that cross the matching package's boundary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import cached_property


class TutorState(str, Enum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    OFFERED = "offered"
    IN_SESSION = "in_session"


class RequestState(str, Enum):
    WAITING = "waiting"  # in the queue, nobody ringing
    RINGING = "ringing"  # offered to one or more tutors
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINAL_REQUEST_STATES = {RequestState.MATCHED, RequestState.CANCELLED, RequestState.EXPIRED}


@dataclass
class TutorCard:
    """What matching needs to know about a tutor, read from the database when they go on duty."""

    id: int
    name: str
    school: str
    subjects: list[str]
    bands: list[str]  # junior / senior
    expertise: list[int] = field(default_factory=list)  # knowledge points, with their chapters
    rating_sum: float = 0.0
    rating_count: int = 0
    sessions_given: int = 0

    @cached_property
    def expertise_set(self) -> frozenset[int]:
        return frozenset(self.expertise)

    def to_json(self) -> str:
        d = asdict(self)
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> TutorCard:
        return cls(**json.loads(raw))

    def index_keys(self) -> list[str]:
        return [f"{s}:{b}" for s in self.subjects for b in self.bands]


@dataclass
class RequestSpec:
    id: int
    student_id: int
    subject: str
    band: str
    knowledge_points: list[int] = field(default_factory=list)  # with their chapters
    mode: str = "auto"  # auto | chosen
    chosen_tutor: int | None = None
    preferences: dict[int, float] = field(default_factory=dict)  # tutor -> this student's mean rating
    excluded: list[int] = field(default_factory=list)  # blocked or reported by this student
    created_at: float = 0.0
    summary: dict = field(default_factory=dict)  # what the ringing tutor sees: text, grade, photos

    def to_json(self) -> str:
        d = asdict(self)
        d["preferences"] = {str(k): v for k, v in self.preferences.items()}
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> RequestSpec:
        d = json.loads(raw)
        d["preferences"] = {int(k): v for k, v in d.get("preferences", {}).items()}
        return cls(**d)

    @property
    def queue_key(self) -> str:
        return f"{self.subject}:{self.band}"


@dataclass
class TutorStatus:
    card: TutorCard
    state: TutorState
    available_since: float
    last_seen: float
    served: int
    offers: list[int]
    session_request: int | None


@dataclass
class RequestStatus:
    spec: RequestSpec
    state: RequestState
    offers: list[int]  # tutors ringing now
    tried: list[int]  # tutors who declined or let it ring out
    tutor: int | None  # the winner once matched


@dataclass
class ClaimResult:
    """Outcome of a tutor's accept. `ok` for exactly one tutor per request."""

    outcome: str  # ok | taken | no_offer | busy | gone
    freed_tutors: list[int] = field(default_factory=list)  # other tutors whose ringing stopped
    orphaned_requests: list[int] = field(default_factory=list)  # this tutor's other offers, now void

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class Withdrawal:
    """Result of taking an offer back (decline, timeout, cancel, presence lost)."""

    done: bool
    request_state: RequestState | None = None
    tutor_free: bool = False  # the tutor has no offers left and is available again
