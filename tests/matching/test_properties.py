"""Invariants over random sequences of arrivals, accepts, declines, cancels, heartbeats and
time passing, on both pools: no tutor in two sessions, no request matched twice, and every
request ends matched, cancelled or expired."""
from __future__ import annotations

import asyncio
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from matching import FakeClock, InProcessPool, MatchConfig, Matcher, RecordingSink, RedisPool, RequestSpec, RequestState

from .. import infra
from .conftest import EVENING, card

TUTORS = 6
SUBJECTS = ("math", "physics")

_accept = st.tuples(st.just("accept"), st.integers(1, TUTORS), st.just(True), st.integers(0, 30))
op = st.one_of(
    _accept, _accept,  # weighted: accepts are what the invariants are about
    st.tuples(st.just("arrive"), st.sampled_from(SUBJECTS), st.booleans()),
    st.tuples(st.just("arrive"), st.sampled_from(SUBJECTS), st.just(False)),
    st.tuples(st.just("on_duty"), st.integers(1, TUTORS)),
    st.tuples(st.just("off_duty"), st.integers(1, TUTORS)),
    # aim=True: the tutor is one who is ringing for that request (if any), as a real accept is.
    st.tuples(st.just("accept"), st.integers(1, TUTORS), st.booleans(), st.integers(0, 30)),
    st.tuples(st.just("decline"), st.integers(1, TUTORS), st.booleans(), st.integers(0, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("heartbeat"), st.integers(1, TUTORS)),
    st.tuples(st.just("end_session"), st.integers(1, TUTORS)),
    st.tuples(st.just("wait"), st.sampled_from((1, 5, 21, 50))),
)


async def _run(pool, ops) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(EVENING)
    m = Matcher(pool, clock, RecordingSink(), MatchConfig(ring_seconds=20, max_wait_s=120, presence_ttl_s=45, fanout=2))
    cards = {t: card(t, subjects=(SUBJECTS[t % 2], SUBJECTS[(t // 2) % 2]), bands=("junior",)) for t in range(1, TUTORS + 1)}
    requests: list[int] = []
    matched_to: dict[int, int] = {}  # request -> tutor
    in_session: dict[int, int] = {}  # tutor -> request, while the session runs
    for c in list(cards.values())[: TUTORS // 2]:  # an evening already under way
        await m.go_on_duty(c)

    for o in ops:
        kind = o[0]
        if kind == "arrive":
            rid = len(requests) + 1
            requests.append(rid)
            chosen = o[2] and rid % 3 == 0
            await m.submit(RequestSpec(id=rid, student_id=10_000 + rid, subject=o[1], band="junior",
                                       mode="chosen" if chosen else "auto", chosen_tutor=1 if chosen else None))
        elif kind == "on_duty":
            await m.go_on_duty(cards[o[1]])
        elif kind == "off_duty":
            await m.go_off_duty(o[1])
        elif kind in ("accept", "decline", "cancel"):
            if not requests:
                continue
            rid = requests[o[-1] % len(requests)]
            tutor = o[1] if kind != "cancel" else 0
            if kind != "cancel" and o[2]:
                ringing = (await pool.request(rid)).offers
                tutor = ringing[o[1] % len(ringing)] if ringing else tutor
            if kind == "accept":
                res = await m.accept(rid, tutor)
                if res.ok:
                    assert rid not in matched_to, "request matched twice"
                    assert tutor not in in_session, "tutor in two sessions"
                    matched_to[rid] = tutor
                    in_session[tutor] = rid
            elif kind == "decline":
                await m.decline(rid, tutor)
            else:
                await m.cancel(rid)
        elif kind == "heartbeat":
            await m.heartbeat(o[1])
        elif kind == "end_session":
            if o[1] in in_session:
                del in_session[o[1]]
                await m.session_ended(o[1])
        else:
            clock.advance(o[1])
            await m.tick()
        # Pool and model agree on who is in a session.
        for tid, rid in in_session.items():
            t = await pool.tutor(tid)
            assert t is not None and t.session_request == rid

    clock.advance(1000)
    await m.tick()
    for rid in requests:
        s = await pool.request(rid)
        assert s.state in (RequestState.MATCHED, RequestState.CANCELLED, RequestState.EXPIRED), (rid, s.state)
        assert (s.state == RequestState.MATCHED) == (rid in matched_to)
        if rid in matched_to:
            assert s.tutor == matched_to[rid]


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)


@settings(max_examples=150, **SETTINGS)
@given(st.lists(op, min_size=30, max_size=120))
def test_invariants_in_process(ops) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_run(InProcessPool(), ops))


@settings(max_examples=40, **SETTINGS)
@given(st.lists(op, min_size=30, max_size=120))
def test_invariants_redis(ops) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
        prefix = f"{infra.REDIS_PREFIX}prop{secrets.token_hex(4)}:"
        try:
            await _run(RedisPool(client, prefix), ops)
        finally:
            await infra.clear_redis(prefix)
            await client.aclose()

    asyncio.run(go())
