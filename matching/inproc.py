"""The in-process pool (embedded default). Single event loop: each method runs without an
await inside, so every step is atomic by construction."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from .pool import Pool
from .types import FINAL_REQUEST_STATES, ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus, Withdrawal


@dataclass
class _Tutor:
    card: TutorCard
    state: TutorState
    available_since: float
    last_seen: float
    served: int = 0
    offers: set[int] = field(default_factory=set)
    session_request: int | None = None
    off_after_session: bool = False


@dataclass
class _Request:
    spec: RequestSpec
    state: RequestState
    expires_at: float
    offers: set[int] = field(default_factory=set)
    tried: set[int] = field(default_factory=set)
    tutor: int | None = None


class _SortedSet:
    """A tiny sorted set (score, member) with O(log n) rank and ordered iteration."""

    def __init__(self) -> None:
        self.items: list[tuple[float, int]] = []
        self.scores: dict[int, float] = {}

    def add(self, member: int, score: float) -> None:
        self.discard(member)
        bisect.insort(self.items, (score, member))
        self.scores[member] = score

    def discard(self, member: int) -> None:
        score = self.scores.pop(member, None)
        if score is not None:
            i = bisect.bisect_left(self.items, (score, member))
            del self.items[i]

    def rank(self, member: int) -> int | None:
        score = self.scores.get(member)
        return None if score is None else bisect.bisect_left(self.items, (score, member))

    def first(self, n: int) -> list[int]:
        return [m for _, m in self.items[:n]]

    def upto(self, score: float, n: int) -> list[int]:
        return [m for s, m in self.items[:n] if s <= score]

    def __len__(self) -> int:
        return len(self.items)


class InProcessPool(Pool):
    def __init__(self) -> None:
        self.tutors: dict[int, _Tutor] = {}
        self.requests: dict[int, _Request] = {}
        self.free: dict[str, _SortedSet] = defaultdict(_SortedSet)
        self.on_duty: dict[str, set[int]] = defaultdict(set)
        self.queues: dict[str, _SortedSet] = defaultdict(_SortedSet)
        self.offer_deadlines: dict[tuple[int, int], float] = {}
        self.request_deadlines = _SortedSet()
        self.presence = _SortedSet()
        self.counts: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)

    # --- helpers --------------------------------------------------------------------------
    def _make_free(self, t: _Tutor, now: float) -> None:
        t.state, t.available_since = TutorState.AVAILABLE, now
        for key in t.card.index_keys():
            self.free[key].add(t.card.id, now)

    def _unfree(self, t: _Tutor) -> None:
        for key in t.card.index_keys():
            self.free[key].discard(t.card.id)

    def _requeue(self, r: _Request) -> None:
        r.state = RequestState.WAITING
        self.queues[r.spec.queue_key].add(r.spec.id, r.spec.created_at)

    def _drop_offer(self, request_id: int, tutor_id: int, now: float) -> tuple[bool, bool]:
        """Remove one offer from both sides. Returns (request now has no offers, tutor free)."""
        self.offer_deadlines.pop((request_id, tutor_id), None)
        r, t = self.requests.get(request_id), self.tutors.get(tutor_id)
        empty = free = False
        if r is not None:
            r.offers.discard(tutor_id)
            empty = not r.offers
            if empty and r.state == RequestState.RINGING:
                self._requeue(r)
        if t is not None:
            t.offers.discard(request_id)
            if not t.offers and t.state == TutorState.OFFERED:
                self._make_free(t, now)
                free = True
        return empty, free

    def _status(self, t: _Tutor) -> TutorStatus:
        return TutorStatus(t.card, t.state, t.available_since, t.last_seen, t.served, sorted(t.offers), t.session_request)

    def _take_off(self, t: _Tutor) -> list[int]:
        orphaned = sorted(t.offers)
        for rid in orphaned:
            self._drop_offer(rid, t.card.id, t.last_seen)
        self._unfree(t)
        for key in t.card.index_keys():
            self.on_duty[key].discard(t.card.id)
        self.presence.discard(t.card.id)
        del self.tutors[t.card.id]
        return orphaned

    # --- tutors ---------------------------------------------------------------------------
    async def put_tutor(self, card: TutorCard, now: float, served: int = 0) -> None:
        t = self.tutors.get(card.id)
        if t is not None:
            was_free = t.state == TutorState.AVAILABLE
            self._unfree(t)
            for key in t.card.index_keys():
                self.on_duty[key].discard(card.id)
            t.card, t.last_seen, t.off_after_session = card, now, False
            if was_free:
                for key in card.index_keys():
                    self.free[key].add(card.id, t.available_since)
        else:
            t = _Tutor(card=card, state=TutorState.AVAILABLE, available_since=now, last_seen=now, served=served)
            self.tutors[card.id] = t
            self._make_free(t, now)
        for key in card.index_keys():
            self.on_duty[key].add(card.id)
        self.presence.add(card.id, now)

    async def remove_tutor(self, tutor_id: int, now: float) -> list[int] | None:
        t = self.tutors.get(tutor_id)
        if t is None:
            return []
        if t.state == TutorState.IN_SESSION:
            t.off_after_session = True
            return None
        return self._take_off(t)

    async def heartbeat(self, tutor_id: int, now: float) -> bool:
        t = self.tutors.get(tutor_id)
        if t is None:
            return False
        t.last_seen = now
        self.presence.add(tutor_id, now)
        return True

    async def tutor(self, tutor_id: int) -> TutorStatus | None:
        t = self.tutors.get(tutor_id)
        return self._status(t) if t else None

    async def available(self, key: str, limit: int) -> list[TutorStatus]:
        return [self._status(self.tutors[i]) for i in self.free[key].first(limit)]

    async def on_duty_count(self, key: str) -> int:
        return len(self.on_duty[key])

    async def end_session(self, tutor_id: int, now: float) -> bool:
        t = self.tutors.get(tutor_id)
        if t is None or t.state != TutorState.IN_SESSION:
            return False
        t.session_request, t.served = None, t.served + 1
        if t.off_after_session:
            self._take_off(t)
        else:
            self._make_free(t, now)
        return True

    async def stale_tutors(self, before: float, limit: int) -> list[int]:
        return self.presence.upto(before, limit)

    async def drop_stale(self, tutor_id: int, before: float) -> list[int] | None:
        t = self.tutors.get(tutor_id)
        if t is None or t.last_seen >= before or t.state == TutorState.IN_SESSION:
            return None
        return self._take_off(t)

    # --- requests -------------------------------------------------------------------------
    async def add_request(self, spec: RequestSpec, expires_at: float, now: float) -> None:
        self._note("arrival", spec.subject, now)
        # A re-targeted request (same id) keeps who already declined it; nothing else carries over.
        previous = self.requests.get(spec.id)
        r = _Request(spec=spec, state=RequestState.WAITING, expires_at=expires_at, tried=previous.tried if previous else set())
        self.requests[spec.id] = r
        self._requeue(r)
        self.request_deadlines.add(spec.id, expires_at)

    async def request(self, request_id: int) -> RequestStatus | None:
        r = self.requests.get(request_id)
        if r is None:
            return None
        return RequestStatus(r.spec, r.state, sorted(r.offers), sorted(r.tried), r.tutor)

    async def queue_position(self, request_id: int) -> int | None:
        r = self.requests.get(request_id)
        if r is None:
            return None
        rank = self.queues[r.spec.queue_key].rank(request_id)
        return None if rank is None else rank + 1

    async def waiting(self, keys: list[str], limit: int) -> list[RequestStatus]:
        return [st for key in keys for rid in self.queues[key].first(limit) if (st := await self.request(rid)) is not None]

    async def offer(self, request_id: int, tutor_id: int, now: float, deadline: float, chosen: bool) -> str:
        r, t = self.requests.get(request_id), self.tutors.get(tutor_id)
        if r is None or r.state not in (RequestState.WAITING, RequestState.RINGING):
            return "gone"
        if t is None:
            return "off_duty"
        if t.state == TutorState.IN_SESSION:
            return "busy"
        if tutor_id in r.tried:
            return "tried"
        if tutor_id in r.offers:
            return "ok"
        if t.state != TutorState.AVAILABLE and not chosen:
            return "taken"
        self.queues[r.spec.queue_key].discard(request_id)
        r.state = RequestState.RINGING
        r.offers.add(tutor_id)
        self._unfree(t)
        t.state = TutorState.OFFERED
        t.offers.add(request_id)
        self.offer_deadlines[(request_id, tutor_id)] = deadline
        return "ok"

    async def claim(self, request_id: int, tutor_id: int, now: float) -> ClaimResult:
        r, t = self.requests.get(request_id), self.tutors.get(tutor_id)
        if r is None or r.state in (RequestState.CANCELLED, RequestState.EXPIRED):
            return ClaimResult("gone")
        if r.state == RequestState.MATCHED:
            return ClaimResult("taken")
        if t is None or tutor_id not in r.offers:
            return ClaimResult("no_offer")
        if t.state == TutorState.IN_SESSION:
            return ClaimResult("busy")
        freed = [x for x in sorted(r.offers) if x != tutor_id]
        orphaned = [x for x in sorted(t.offers) if x != request_id]
        r.state, r.tutor = RequestState.MATCHED, tutor_id
        self._note("match", r.spec.subject, now)
        self.request_deadlines.discard(request_id)
        for other in freed:
            self._drop_offer(request_id, other, now)
        for other in orphaned:
            self._drop_offer(other, tutor_id, now)
        self.offer_deadlines.pop((request_id, tutor_id), None)
        r.offers.clear()
        t.offers.clear()
        self._unfree(t)
        t.state, t.session_request = TutorState.IN_SESSION, request_id
        return ClaimResult("ok", freed_tutors=freed, orphaned_requests=orphaned)

    async def withdraw(self, request_id: int, tutor_id: int, now: float) -> Withdrawal:
        r = self.requests.get(request_id)
        if r is None or tutor_id not in r.offers:
            return Withdrawal(False)
        r.tried.add(tutor_id)
        _, free = self._drop_offer(request_id, tutor_id, now)
        return Withdrawal(True, r.state, free)

    async def close(self, request_id: int, state: RequestState, now: float) -> list[int] | None:
        r = self.requests.get(request_id)
        if r is None or r.state in FINAL_REQUEST_STATES:
            return None
        freed = sorted(r.offers)
        r.state = state
        for tid in freed:
            self._drop_offer(request_id, tid, now)
        self.queues[r.spec.queue_key].discard(request_id)
        self.request_deadlines.discard(request_id)
        return freed

    async def release(self, request_id: int, tutor_id: int, now: float) -> None:
        r, t = self.requests.get(request_id), self.tutors.get(tutor_id)
        if r is not None and r.state == RequestState.MATCHED and r.tutor == tutor_id:
            r.state = RequestState.CANCELLED
        if t is not None and t.state == TutorState.IN_SESSION and t.session_request == request_id:
            t.session_request = None
            self._make_free(t, now)

    async def due_offers(self, now: float, limit: int) -> list[tuple[int, int]]:
        due = sorted((d, k) for k, d in self.offer_deadlines.items() if d <= now)
        return [k for _, k in due[:limit]]

    async def due_requests(self, now: float, limit: int) -> list[int]:
        return self.request_deadlines.upto(now, limit)

    # --- rates ----------------------------------------------------------------------------
    # Per-minute counters, like the Redis pool, so both give the same figures.
    def _note(self, kind: str, subject: str, now: float) -> None:
        buckets = self.counts[(kind, subject)]
        minute = int(now // 60)
        buckets[minute] = buckets.get(minute, 0) + 1
        for old in [m for m in buckets if m < minute - 60]:
            del buckets[old]

    async def rate(self, kind: str, subject: str, now: float, window_s: int) -> float:
        buckets = self.counts[(kind, subject)]
        minutes = range(int((now - window_s) // 60) + 1, int(now // 60) + 1)
        return sum(buckets.get(m, 0) for m in minutes) / window_s
