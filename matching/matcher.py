"""The matcher: turns arrivals, accepts, declines, timeouts and tutors coming free into offers.

It holds no state of its own (all of it is in the pool), so any number of matchers on any
number of instances can work on one Redis pool; `tick()` reaps what is due and may run on
every instance at once, because each reaping step is atomic in the pool.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from .clock import Clock
from .events import Event, EventSink
from .pool import Pool
from .scoring import Weights, eligible, score
from .types import ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus, Withdrawal

log = logging.getLogger(__name__)
_SERVE_LIMIT = 10  # waiting requests looked at per subject and band when a tutor comes free
_RACE_RETRIES = 2  # fresh rankings for an auto request whose ranked tutors were all taken meanwhile


@dataclass
class MatchConfig:
    ring_seconds: float = 20.0
    fanout: int = 1  # tutors rung at once for one auto request
    candidates: int = 50  # longest-waiting free tutors scored per decision (bounds its cost)
    max_wait_s: float = 600.0  # an unmatched request expires after this
    presence_ttl_s: float = 45.0  # on-duty tutors without a heartbeat for this long go off duty
    rate_window_s: int = 600
    mean_session_s: float = 900.0  # for the wait estimate before any match was observed
    weights: Weights = field(default_factory=Weights)


class Hooks(Protocol):
    async def request_expired(self, request_id: int) -> bool:
        """Record the expiry in the database; False when the request was no longer open there.
        Raises when the database cannot be written: the request then stays due in the pool for
        the next pass (of any instance)."""


@dataclass
class Ranked:
    status: TutorStatus
    score: float
    favourite: bool


class Matcher:
    def __init__(self, pool: Pool, clock: Clock, sink: EventSink, config: MatchConfig | None = None, hooks: Hooks | None = None) -> None:
        self.pool, self.clock, self.sink = pool, clock, sink
        self.config = config or MatchConfig()
        self.hooks = hooks

    async def _emit(self, user_id: int, kind: str, **data: Any) -> None:
        await self.sink.publish(Event(user_id, kind, data))

    # --- tutors ---------------------------------------------------------------------------
    async def go_on_duty(self, card: TutorCard, served: int = 0) -> None:
        await self.pool.put_tutor(card, self.clock.now(), served)
        await self._serve_tutor(card.id)

    async def go_off_duty(self, tutor_id: int) -> bool:
        """False when the tutor is in a session: they go off duty when it ends."""
        orphaned = await self.pool.remove_tutor(tutor_id, self.clock.now())
        for rid in orphaned or []:
            await self._dispatch(rid)
        return orphaned is not None

    async def heartbeat(self, tutor_id: int) -> bool:
        return await self.pool.heartbeat(tutor_id, self.clock.now())

    async def session_ended(self, tutor_id: int) -> None:
        ended, t, waiting = await self.pool.end_session_and_waiting(tutor_id, self.clock.now(), _SERVE_LIMIT)
        if ended:
            await self._serve_tutor(tutor_id, (t, waiting))

    # --- requests -------------------------------------------------------------------------
    async def submit(self, spec: RequestSpec, tried: tuple[int, ...] = ()) -> None:
        now = self.clock.now()
        spec.created_at = spec.created_at or now
        known = RequestStatus(spec, RequestState.WAITING, [], list(tried), None)
        if spec.mode == "chosen":
            await self.pool.add_request(spec, now + self.config.max_wait_s, now)
            await self._dispatch(spec.id, known=known)
            return
        # The arrival and its candidates in one step (one Redis round trip less per request).
        candidates = await self.pool.add_request_for_candidates(spec, now + self.config.max_wait_s, now, self.config.candidates)
        await self._dispatch(spec.id, known=known, candidates=candidates)

    async def choose(self, request_id: int, tutor_id: int | None) -> str:
        """The student re-targets a waiting request: a tutor (择师) or None for auto."""
        st = await self.pool.request(request_id)
        if st is None or st.state != RequestState.WAITING:
            return "gone"
        if tutor_id is not None:
            if tutor_id in st.tried:
                return "tried"
            tutor = await self.pool.tutor(tutor_id)
            if tutor is None:
                return "off_duty"
            if tutor.state == TutorState.IN_SESSION:
                return "busy"
        st.spec.mode, st.spec.chosen_tutor = ("chosen", tutor_id) if tutor_id else ("auto", None)
        await self.pool.close(request_id, RequestState.CANCELLED, self.clock.now())
        await self.submit(st.spec, tuple(st.tried))  # same id and arrival time: keeps its place
        return "ok"

    async def accept(self, request_id: int, tutor_id: int) -> ClaimResult:
        now = self.clock.now()
        result = await self.pool.claim(request_id, tutor_id, now)
        if not result.ok:
            return result
        for other in result.freed_tutors:
            await self._emit(other, "offer_withdrawn", request_id=request_id, reason="taken")
            await self._serve_tutor(other)
        for rid in result.orphaned_requests:
            await self._emit(tutor_id, "offer_withdrawn", request_id=rid, reason="you_accepted_another")
            await self._dispatch(rid)
        return result

    async def decline(self, request_id: int, tutor_id: int) -> bool:
        w = await self.pool.withdraw(request_id, tutor_id, self.clock.now())
        if w.done:
            await self._after_withdraw(request_id, tutor_id, w, "declined")
        return w.done

    async def cancel(self, request_id: int) -> bool:
        freed = await self.pool.close(request_id, RequestState.CANCELLED, self.clock.now())
        for tid in freed or []:
            await self._emit(tid, "offer_withdrawn", request_id=request_id, reason="cancelled")
            await self._serve_tutor(tid)
        return freed is not None

    async def release(self, request_id: int, tutor_id: int) -> None:
        await self.pool.release(request_id, tutor_id, self.clock.now())
        await self._serve_tutor(tutor_id)

    async def status(self, request_id: int) -> dict[str, Any] | None:
        st = await self.pool.request(request_id)
        if st is None:
            return None
        out: dict[str, Any] = {
            "request_id": request_id,
            "state": st.state.value,
            "ringing": len(st.offers),
            "tutor_id": st.tutor,
            "position": None,
            "eta_s": None,
        }
        if st.state == RequestState.WAITING:
            out.update(await self._estimate(st.spec, await self.pool.queue_position(request_id)))
        return out

    async def _estimate(self, spec: RequestSpec, position: int | None) -> dict[str, Any]:
        """Wait ≈ position / service rate, the service rate being the matches per second seen
        for this subject over the last `rate_window_s`; before any match, on-duty tutors of the
        subject each finishing a session of `mean_session_s`."""
        now = self.clock.now()
        mu = await self.pool.rate("match", spec.subject, now, self.config.rate_window_s)
        lam = await self.pool.rate("arrival", spec.subject, now, self.config.rate_window_s)
        # Counted every time: with nobody of the subject and band on duty the student is told so
        # at once (and offered Q&A) instead of watching an estimate that will never come true.
        on_duty = await self.pool.on_duty_count(spec.queue_key)
        if not mu:
            mu = on_duty / self.config.mean_session_s
        eta = round(position / mu, 1) if position and mu and on_duty else None
        return {
            "position": position,
            "eta_s": eta,
            "arrivals_per_min": round(lam * 60, 2),
            "matches_per_min": round(mu * 60, 2),
            "tutors_on_duty": on_duty,
        }

    async def recommend(
        self, spec: RequestSpec, limit: int = 20, tried: set[int] | None = None, candidates: list[TutorStatus] | None = None
    ) -> list[Ranked]:
        """Free tutors for this request, best first (the 择师 list and the auto choice);
        `candidates` when the caller already has `available(spec.queue_key, …)`."""
        now, w = self.clock.now(), self.config.weights
        pool = candidates if candidates is not None else await self.pool.available(spec.queue_key, max(self.config.candidates, limit))
        ranked = [
            Ranked(t, score(spec, t.card, t.available_since, t.served, now, w), t.card.id in spec.preferences)
            for t in pool
            if eligible(spec, t.card, tried or set())
        ]
        ranked.sort(key=lambda r: (-r.score, r.status.available_since, r.status.card.id))
        return ranked[:limit]

    # --- the engine -----------------------------------------------------------------------
    async def _offer_event(self, st_spec: RequestSpec, tutor_id: int, deadline: float) -> None:
        await self._emit(
            tutor_id,
            "offer",
            request_id=st_spec.id,
            subject=st_spec.subject,
            band=st_spec.band,
            knowledge_points=st_spec.knowledge_points,
            mode=st_spec.mode,
            deadline=deadline,
            **st_spec.summary,
        )

    async def _dispatch(self, request_id: int, known: RequestStatus | None = None, candidates: list[TutorStatus] | None = None) -> None:
        st = known or await self.pool.request(request_id)
        if st is None or st.state != RequestState.WAITING:
            return
        spec, now = st.spec, self.clock.now()
        deadline = now + self.config.ring_seconds
        if spec.mode == "chosen":
            if spec.chosen_tutor is None or spec.chosen_tutor in st.tried:
                return  # the student chooses again, goes auto, or cancels
            res = await self.pool.offer(request_id, spec.chosen_tutor, now, deadline, chosen=True)
            if res == "ok":
                await self._offer_event(spec, spec.chosen_tutor, deadline)
                await self._emit(spec.student_id, "queue", request_id=request_id, state="ringing")
            elif res in ("busy", "off_duty"):
                await self._tell_unavailable(spec, res)
            return
        tried = set(st.tried)
        ranked = [r.status.card.id for r in await self.recommend(spec, self.config.candidates, tried, candidates)]
        gone, rung = await self.pool.offer_first(request_id, ranked, now, deadline, self.config.fanout)
        for _ in range(_RACE_RETRIES):
            # Every tutor ranked was eligible and free when read, and none could be rung: concurrent
            # decisions took them in between (a burst of arrivals for one subject and band ranks
            # the same longest-free tutors). Rank the tutors free now rather than leave the request
            # waiting for a session to end while others are free.
            if gone or rung or not ranked:
                break
            ranked = [r.status.card.id for r in await self.recommend(spec, self.config.candidates, tried)]
            gone, rung = await self.pool.offer_first(request_id, ranked, now, deadline, self.config.fanout)
        for tid in rung:
            await self._offer_event(spec, tid, deadline)
        if gone:
            return
        if rung:
            await self._emit(spec.student_id, "queue", request_id=request_id, state="ringing")
        else:
            await self._emit(
                spec.student_id,
                "queue",
                request_id=request_id,
                state="waiting",
                **await self._estimate(spec, await self.pool.queue_position(request_id)),
            )

    async def _tell_unavailable(self, spec: RequestSpec, why: str) -> None:
        st = await self.pool.request(spec.id)
        others = await self.recommend(spec, 5, set(st.tried) if st else set())
        await self._emit(
            spec.student_id,
            "offer_declined",
            request_id=spec.id,
            tutor_id=spec.chosen_tutor,
            reason=why,
            suggestions=[r.status.card.id for r in others],
        )

    async def _serve_tutor(self, tutor_id: int, known: tuple[TutorStatus | None, list[RequestStatus]] | None = None) -> None:
        """A tutor came free: ring them for the oldest waiting request they can take."""
        t, waiting = known or await self.pool.free_tutor_and_waiting(tutor_id, _SERVE_LIMIT)
        if t is None:
            return
        best: tuple[float, RequestSpec] | None = None
        for st in waiting:
            if (
                st.state == RequestState.WAITING
                and st.spec.mode == "auto"
                and eligible(st.spec, t.card, set(st.tried))
                and (best is None or st.spec.created_at < best[0])
            ):
                best = (st.spec.created_at, st.spec)
        if best is not None:
            now = self.clock.now()
            deadline = now + self.config.ring_seconds
            if await self.pool.offer(best[1].id, tutor_id, now, deadline, chosen=False) == "ok":
                await self._offer_event(best[1], tutor_id, deadline)
                await self._emit(best[1].student_id, "queue", request_id=best[1].id, state="ringing")

    async def _after_withdraw(self, request_id: int, tutor_id: int, w: Withdrawal, reason: str) -> None:
        if reason == "timeout":
            await self._emit(tutor_id, "offer_withdrawn", request_id=request_id, reason="timeout")
        if w.request_state == RequestState.WAITING:
            st = await self.pool.request(request_id)
            if st is not None and st.spec.mode == "chosen":
                await self._tell_unavailable(st.spec, reason)
            elif st is not None:
                await self._dispatch(request_id, known=st)
        if w.tutor_free:
            await self._serve_tutor(tutor_id)

    async def tick(self) -> dict[str, int]:
        """Reap what is due: rung-out offers, expired requests, vanished tutors."""
        now = self.clock.now()
        counts = {"offers": 0, "requests": 0, "tutors": 0}
        for rid, tid in await self.pool.due_offers(now, 500):
            w = await self.pool.withdraw(rid, tid, now)
            if w.done:
                counts["offers"] += 1
                await self._after_withdraw(rid, tid, w, "timeout")
        for rid in await self.pool.due_requests(now, 500):
            st = await self.pool.request(rid)
            if st is None or st.state not in (RequestState.WAITING, RequestState.RINGING):
                continue
            # The database first: an instance whose database is unreachable must leave the
            # expiry to another one, not close the request in the shared pool and lose the record.
            told = True
            if self.hooks is not None:
                try:
                    told = await self.hooks.request_expired(rid)
                except Exception:  # noqa: BLE001 - left due in the pool for the next pass
                    log.warning("could not record the expiry of request %s; leaving it due", rid, exc_info=True)
                    continue
            freed = await self.pool.close(rid, RequestState.EXPIRED, now)
            if told:  # even if a racing accept claimed it meanwhile: that accept finds it expired
                await self._emit(st.spec.student_id, "request_expired", request_id=rid, can_ask_question=True)
            if freed is None:
                continue
            counts["requests"] += 1
            for tid in freed:
                await self._emit(tid, "offer_withdrawn", request_id=rid, reason="expired")
                await self._serve_tutor(tid)
        before = now - self.config.presence_ttl_s
        for tid in await self.pool.stale_tutors(before, 500):
            orphaned = await self.pool.drop_stale(tid, before)
            if orphaned is None:
                continue
            counts["tutors"] += 1
            await self._emit(tid, "off_duty", reason="presence_lost")
            for rid in orphaned:
                await self._dispatch(rid)
        return counts

    async def run_reaper(self, interval: float = 1.0) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bad tick must not stop the reaper
                log.exception("matching tick failed")
            await asyncio.sleep(interval)
