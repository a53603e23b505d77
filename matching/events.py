"""Events out of matching. The signaling layer delivers them over websockets; tests and the
HTTP polling endpoint read them from here until then."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Event:
    user_id: int
    kind: str  # offer | offer_withdrawn | matched | queue | offer_declined | request_expired | request_cancelled
    data: dict[str, Any] = field(default_factory=dict)


class EventSink(Protocol):
    async def publish(self, event: Event) -> None: ...


class RecordingSink:
    """Keeps every event per user, in order, and passes it on to `forward` if given (tests)."""

    def __init__(self, forward: EventSink | None = None) -> None:
        self.events: list[Event] = []
        self.by_user: dict[int, list[Event]] = defaultdict(list)
        self.forward = forward

    async def publish(self, event: Event) -> None:
        self.events.append(event)
        self.by_user[event.user_id].append(event)
        if self.forward is not None:
            await self.forward.publish(event)

    def kinds(self, user_id: int) -> list[str]:
        return [e.kind for e in self.by_user[user_id]]

    def last(self, user_id: int, kind: str) -> Event | None:
        return next((e for e in reversed(self.by_user[user_id]) if e.kind == kind), None)
