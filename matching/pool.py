"""The matching pool: who is on duty and free, which requests wait, who is ringing.

Two backends keep exactly these semantics: `InProcessPool` (one process, the embedded default)
and `RedisPool` (several instances). Every state change that two parties may race for — an
offer, a claim, a withdrawal, a cancel — is one atomic step, so that a request is matched at
most once and a tutor is in at most one session. `tests/matching/test_contract.py` runs the
same suite against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .types import ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus, Withdrawal


class Pool(ABC):
    # --- tutors -------------------------------------------------------------------------
    @abstractmethod
    async def put_tutor(self, card: TutorCard, now: float, served: int = 0) -> None:
        """Go on duty (available), or refresh the card of a tutor already on duty. `served`:
        the sessions this tutor has served tonight already (the fairness penalty lives for the
        evening, not for one spell on duty); a tutor already on duty keeps their count."""

    @abstractmethod
    async def remove_tutor(self, tutor_id: int, now: float) -> list[int] | None:
        """Go off duty. Returns the requests whose offers to this tutor were withdrawn, or None
        when the tutor is in a session (they go off duty when it ends)."""

    @abstractmethod
    async def heartbeat(self, tutor_id: int, now: float) -> bool:
        """Keep presence alive. False when the tutor is not on duty (presence expired)."""

    @abstractmethod
    async def tutor(self, tutor_id: int) -> TutorStatus | None: ...

    @abstractmethod
    async def available(self, key: str, limit: int) -> list[TutorStatus]:
        """Free tutors teaching `key` ("subject:band"), longest-waiting first, at most `limit`."""

    @abstractmethod
    async def on_duty_count(self, key: str) -> int: ...

    @abstractmethod
    async def end_session(self, tutor_id: int, now: float) -> bool:
        """A session ended: the tutor is available again (one more served tonight)."""

    async def end_session_and_waiting(self, tutor_id: int, now: float, limit: int) -> tuple[bool, TutorStatus | None, list[RequestStatus]]:
        """`end_session`, then (when it ended one) `free_tutor_and_waiting`: one step, so that a
        backend across a network can make it one round trip."""
        if not await self.end_session(tutor_id, now):
            return False, None, []
        return (True, *await self.free_tutor_and_waiting(tutor_id, limit))

    @abstractmethod
    async def stale_tutors(self, before: float, limit: int) -> list[int]:
        """Tutors on duty whose last heartbeat is older than `before`."""

    @abstractmethod
    async def drop_stale(self, tutor_id: int, before: float) -> list[int] | None:
        """Take a vanished tutor off duty, unless a heartbeat came meanwhile or they are in a
        session. Returns the requests whose offers were withdrawn, or None when not dropped."""

    # --- requests -----------------------------------------------------------------------
    @abstractmethod
    async def add_request(self, spec: RequestSpec, expires_at: float, now: float) -> None:
        """Queue a request (waiting) until it is matched, cancelled or expires at `expires_at`;
        counts an arrival for the live rates."""

    async def add_request_for_candidates(self, spec: RequestSpec, expires_at: float, now: float, limit: int) -> list[TutorStatus]:
        """`add_request`, then `available(spec.queue_key, limit)`: the tutors a new arrival may
        ring. One step, so that a backend across a network can make it one round trip."""
        await self.add_request(spec, expires_at, now)
        return await self.available(spec.queue_key, limit)

    @abstractmethod
    async def request(self, request_id: int) -> RequestStatus | None: ...

    async def request_states(self, request_ids: list[int]) -> dict[int, RequestState]:
        """The state of each of these requests the pool knows (the others are left out): what
        `request` says, for many at once, so that a backend across a network answers a periodic
        check of thousands in a few round trips instead of one each."""
        out: dict[int, RequestState] = {}
        for rid in request_ids:
            if (st := await self.request(rid)) is not None:
                out[rid] = st.state
        return out

    @abstractmethod
    async def queue_position(self, request_id: int) -> int | None:
        """1-based position among the waiting requests of its subject and band."""

    @abstractmethod
    async def waiting(self, keys: list[str], limit: int) -> list[RequestStatus]:
        """Waiting requests of each of `keys`, at most `limit` per key, in one step."""

    async def free_tutor_and_waiting(self, tutor_id: int, limit: int) -> tuple[TutorStatus | None, list[RequestStatus]]:
        """The tutor if they are available, with `waiting(their keys, limit)`; (None, []) when
        they are not. One step, so that a backend across a network can make it one round trip."""
        t = await self.tutor(tutor_id)
        if t is None or t.state != TutorState.AVAILABLE:
            return None, []
        return t, await self.waiting(t.card.index_keys(), limit)

    @abstractmethod
    async def offer(self, request_id: int, tutor_id: int, now: float, deadline: float, chosen: bool) -> str:
        """Ring `tutor_id` for the request until `deadline`. Auto offers need a free tutor;
        a chosen (择师) offer may also go to a tutor who is ringing for another request.
        Returns ok | gone (request not open) | busy (tutor in a session) | off_duty | taken
        (tutor not free) | tried (tutor already declined it)."""

    async def offer_first(self, request_id: int, tutor_ids: list[int], now: float, deadline: float, want: int) -> tuple[bool, list[int]]:
        """Auto offers down a ranked list: ring the first `want` tutors of `tutor_ids` whose
        offer is ok, skipping the others (taken, busy, off duty, tried). Returns (gone, rung):
        `gone` when the request stopped being open before `want` were rung. The Redis pool does
        it in one round trip: at 200 requests/s concurrent arrivals race for the same best tutor,
        and offering one by one cost 3.2 OFFER round trips per request (`loadtest.matching`)."""
        rung: list[int] = []
        for tid in tutor_ids:
            res = await self.offer(request_id, tid, now, deadline, chosen=False)
            if res == "ok":
                rung.append(tid)
                if len(rung) >= want:
                    break
            elif res == "gone":
                return True, rung
        return False, rung

    @abstractmethod
    async def claim(self, request_id: int, tutor_id: int, now: float) -> ClaimResult:
        """The tutor accepts. Succeeds for exactly one tutor per request and one request per
        tutor; the other ringing stops. Counts a match for the live rates."""

    @abstractmethod
    async def withdraw(self, request_id: int, tutor_id: int, now: float) -> Withdrawal:
        """Decline or ring-out: the offer ends, the tutor is not asked again for this request;
        the request goes back to waiting when nobody rings any more."""

    @abstractmethod
    async def close(self, request_id: int, state: RequestState, now: float) -> list[int] | None:
        """Cancel or expire an open request. Returns the tutors whose ringing stopped, or None
        when the request was already matched, cancelled or expired."""

    @abstractmethod
    async def release(self, request_id: int, tutor_id: int, now: float) -> None:
        """Undo a claim whose database record could not be written: the request is cancelled
        and the tutor free again."""

    @abstractmethod
    async def due_offers(self, now: float, limit: int) -> list[tuple[int, int]]:
        """(request, tutor) offers whose ringing time is over."""

    @abstractmethod
    async def due_requests(self, now: float, limit: int) -> list[int]:
        """Open requests past their expiry."""

    # --- rates --------------------------------------------------------------------------
    @abstractmethod
    async def rate(self, kind: str, subject: str, now: float, window_s: int) -> float:
        """Arrivals or matches (`kind`) of `subject` per second over the last `window_s` seconds,
        counted per minute."""

    async def aclose(self) -> None:
        return None
