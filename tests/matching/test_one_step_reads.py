"""The combined pool steps (one Redis round trip each) answer exactly what their two-step
definitions do, on both pools."""
from __future__ import annotations

from matching import RequestState, TutorState

from .conftest import card
from .test_contract import spec


def _view(statuses):  # type: ignore[no-untyped-def]
    return [(t.card, t.state, t.available_since, t.served, t.offers) for t in statuses]


async def test_an_arrival_comes_back_with_the_tutors_it_may_ring(pool, clock):
    for tid in (1, 2, 3):
        await pool.put_tutor(card(tid, expertise=[tid]), clock.now())
        clock.advance(1)
    await pool.put_tutor(card(4, subjects=("physics",)), clock.now())
    candidates = await pool.add_request_for_candidates(spec(1), clock.now() + 600, clock.now(), 2)
    assert [t.card.id for t in candidates] == [1, 2]  # longest-waiting first, at most the limit
    assert _view(candidates) == _view(await pool.available("math:junior", 2))
    assert (await pool.request(1)).state.value == "waiting"
    assert await pool.queue_position(1) == 1


async def test_a_tutor_come_free_comes_back_with_what_waits_for_them(pool, clock):
    await pool.put_tutor(card(5, bands=("junior", "senior")), clock.now())
    await pool.add_request(spec(1), clock.now() + 600, clock.now())
    await pool.add_request(spec(2, band="senior"), clock.now() + 600, clock.now())
    await pool.add_request(spec(3, subject="physics"), clock.now() + 600, clock.now())
    t, waiting = await pool.free_tutor_and_waiting(5, 10)
    assert t is not None and t.state == TutorState.AVAILABLE and t.card == card(5, bands=("junior", "senior"))
    assert sorted(st.spec.id for st in waiting) == [1, 2]
    assert [st.spec for st in waiting] == [st.spec for st in await pool.waiting(t.card.index_keys(), 10)]
    # Ringing, in a session or off duty: nothing to serve.
    assert await pool.offer(1, 5, clock.now(), clock.now() + 20, chosen=False) == "ok"
    assert await pool.free_tutor_and_waiting(5, 10) == (None, [])
    assert (await pool.claim(1, 5, clock.now())).ok
    assert await pool.free_tutor_and_waiting(5, 10) == (None, [])
    assert await pool.free_tutor_and_waiting(404, 10) == (None, [])


async def test_a_session_ends_and_the_tutor_comes_back_with_what_waits(pool, clock):
    await pool.put_tutor(card(6), clock.now())
    await pool.add_request(spec(1), clock.now() + 600, clock.now())
    assert await pool.offer(1, 6, clock.now(), clock.now() + 20, chosen=False) == "ok"
    assert (await pool.claim(1, 6, clock.now())).ok
    await pool.add_request(spec(2), clock.now() + 600, clock.now())
    clock.advance(60)
    ended, t, waiting = await pool.end_session_and_waiting(6, clock.now(), 10)
    assert ended and t is not None and t.state == TutorState.AVAILABLE and t.served == 1
    assert t.available_since == clock.now()
    assert [st.spec.id for st in waiting] == [2]
    assert await pool.end_session_and_waiting(6, clock.now(), 10) == (False, None, [])  # not in a session
    # A tutor who asked to go off duty during the session leaves when it ends: nothing to serve.
    assert await pool.offer(2, 6, clock.now(), clock.now() + 20, chosen=False) == "ok"
    assert (await pool.claim(2, 6, clock.now())).ok
    assert await pool.remove_tutor(6, clock.now()) is None
    assert await pool.end_session_and_waiting(6, clock.now(), 10) == (True, None, [])
    assert await pool.tutor(6) is None


async def test_the_states_of_many_requests_at_once_are_what_each_says(pool, clock):
    await pool.put_tutor(card(1), clock.now())
    for rid in (1, 2, 3):
        await pool.add_request(spec(rid), clock.now() + 600, clock.now())
    assert await pool.offer(2, 1, clock.now(), clock.now() + 20, chosen=False) == "ok"
    await pool.close(3, RequestState.CANCELLED, clock.now())
    ids = [1, 2, 3, 99]  # 99: never heard of
    states = await pool.request_states(ids)
    assert states == {rid: st.state for rid in ids if (st := await pool.request(rid)) is not None}
    assert states == {1: RequestState.WAITING, 2: RequestState.RINGING, 3: RequestState.CANCELLED}
