"""One contract for both pools (in-process and Redis): every test here runs on each."""
from __future__ import annotations

import asyncio

from matching import Matcher, MatchConfig, RequestSpec, RequestState, TutorState

from .conftest import card


def spec(rid: int, student: int = 1000, subject: str = "math", band: str = "junior", **kw) -> RequestSpec:  # type: ignore[no-untyped-def]
    return RequestSpec(id=rid, student_id=student + rid, subject=subject, band=band, **kw)


async def test_fifty_tutors_accept_the_same_request_exactly_one_wins(pool, clock):
    for tid in range(1, 51):
        await pool.put_tutor(card(tid), clock.now())
    await pool.add_request(spec(1), clock.now() + 600, clock.now())
    for tid in range(1, 51):
        assert await pool.offer(1, tid, clock.now(), clock.now() + 20, chosen=False) == "ok"
    results = await asyncio.gather(*(pool.claim(1, tid, clock.now()) for tid in range(1, 51)))
    winners = [tid for tid, r in zip(range(1, 51), results) if r.ok]
    assert len(winners) == 1
    assert {r.outcome for r in results if not r.ok} == {"taken"}
    st = await pool.request(1)
    assert st.state == RequestState.MATCHED and st.tutor == winners[0]
    # Everybody else is free again; the winner is in session.
    free = {t.card.id for t in await pool.available("math:junior", 100)}
    assert free == set(range(1, 51)) - set(winners)
    assert (await pool.tutor(winners[0])).state == TutorState.IN_SESSION


async def test_one_tutor_accepting_two_offers_at_once_gets_one_session(pool, clock):
    await pool.put_tutor(card(7), clock.now())
    await pool.add_request(spec(1), clock.now() + 600, clock.now())
    await pool.add_request(spec(2), clock.now() + 600, clock.now())
    assert await pool.offer(1, 7, clock.now(), clock.now() + 20, chosen=False) == "ok"
    assert await pool.offer(2, 7, clock.now(), clock.now() + 20, chosen=True) == "ok"  # 择师 while ringing
    a, b = await asyncio.gather(pool.claim(1, 7, clock.now()), pool.claim(2, 7, clock.now()))
    assert [a.ok, b.ok].count(True) == 1
    loser = 2 if a.ok else 1
    assert (await pool.request(loser)).state == RequestState.WAITING  # back in the queue, not lost
    assert (await pool.tutor(7)).session_request == (1 if a.ok else 2)


async def test_auto_request_rings_the_best_tutor_and_cascades_on_decline(matcher, sink, clock):
    kp = 501
    await matcher.go_on_duty(card(1))
    clock.advance(1)
    await matcher.go_on_duty(card(2, expertise=[kp]))  # knows the knowledge point
    await matcher.submit(spec(1, knowledge_points=[kp]))
    assert sink.kinds(2) == ["offer"] and sink.kinds(1) == []
    assert await matcher.decline(1, 2)
    assert sink.kinds(1) == ["offer"]
    assert sink.last(1, "offer").data["request_id"] == 1
    # The decliner is not asked again for this request.
    assert await matcher.decline(1, 1)
    st = await matcher.pool.request(1)
    assert st.state == RequestState.WAITING and st.tried == [1, 2]


async def test_cascade_on_timeout_with_an_injected_clock(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    clock.advance(1)
    await matcher.go_on_duty(card(2))
    await matcher.submit(spec(1))
    first = next(t for t in (1, 2) if sink.kinds(t) == ["offer"])
    second = 3 - first
    clock.advance(19)
    assert (await matcher.tick())["offers"] == 0  # still ringing
    clock.advance(2)
    assert (await matcher.tick())["offers"] == 1
    assert sink.kinds(first) == ["offer", "offer_withdrawn"]
    assert sink.last(first, "offer_withdrawn").data["reason"] == "timeout"
    assert sink.kinds(second) == ["offer"]
    assert (await matcher.pool.request(1)).offers == [second]


async def test_cancel_while_ringing_frees_the_tutor(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    assert (await matcher.pool.tutor(1)).state == TutorState.OFFERED
    assert await matcher.cancel(1)
    assert sink.kinds(1) == ["offer", "offer_withdrawn"]
    assert (await matcher.pool.tutor(1)).state == TutorState.AVAILABLE
    assert (await matcher.accept(1, 1)).outcome == "gone"
    assert not await matcher.cancel(1)  # twice is a no-op, not an error


async def test_presence_expires_without_heartbeats(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.go_on_duty(card(2))
    clock.advance(30)
    assert await matcher.heartbeat(2)
    clock.advance(20)  # tutor 1 silent for 50 s > 45 s, tutor 2 for 20 s
    assert (await matcher.tick())["tutors"] == 1
    assert await matcher.pool.tutor(1) is None
    assert sink.last(1, "off_duty").data["reason"] == "presence_lost"
    assert not await matcher.heartbeat(1)  # must go on duty again
    assert (await matcher.pool.tutor(2)).state == TutorState.AVAILABLE


async def test_vanished_tutor_loses_the_offer_to_someone_else(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    assert sink.kinds(1) == ["offer"]
    clock.advance(10)
    await matcher.go_on_duty(card(2))
    clock.advance(40)
    await matcher.heartbeat(2)
    await matcher.tick()  # tutor 1 vanished (50 s silent): the request goes to tutor 2
    assert (await matcher.pool.request(1)).offers == [2]


async def test_tutor_in_session_is_never_offered_another_request(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    assert (await matcher.accept(1, 1)).ok
    await matcher.submit(spec(2))
    assert sink.kinds(1) == ["offer"]
    assert (await matcher.pool.request(2)).state == RequestState.WAITING
    assert await matcher.choose(2, 1) == "busy"  # 择师 to a busy tutor: a clear answer
    await matcher.session_ended(1)
    assert sink.kinds(1) == ["offer", "offer"]  # free again: rung for the waiting request
    assert sink.last(1, "offer").data["request_id"] == 2


async def test_chosen_tutor_declines_and_the_student_gets_suggestions(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.go_on_duty(card(2))
    s = spec(1, mode="chosen", chosen_tutor=1)
    await matcher.submit(s)
    assert sink.kinds(1) == ["offer"] and sink.kinds(2) == []
    await matcher.decline(1, 1)
    told = sink.last(s.student_id, "offer_declined")
    assert told.data["tutor_id"] == 1 and told.data["suggestions"] == [2]
    assert sink.kinds(2) == []  # not rung behind the student's back
    assert await matcher.choose(1, 1) == "tried"
    assert await matcher.choose(1, 2) == "ok"
    assert sink.kinds(2) == ["offer"]


async def test_favourites_and_expertise_rank_first(matcher, clock):
    await matcher.go_on_duty(card(1, rating=(50.0, 10)))
    await matcher.go_on_duty(card(2, expertise=[9]))
    await matcher.go_on_duty(card(3, rating=(20.0, 10)))
    plain = await matcher.recommend(spec(1))
    assert plain[0].status.card.id == 1  # best smoothed rating
    kp = await matcher.recommend(spec(1, knowledge_points=[9]))
    assert kp[0].status.card.id == 2
    fav = await matcher.recommend(spec(1, preferences={3: 5.0}))
    assert fav[0].status.card.id == 3 and fav[0].favourite
    blocked = await matcher.recommend(spec(1, excluded=[1, 2]))
    assert [r.status.card.id for r in blocked] == [3]


async def test_fairness_brings_the_longest_waiting_forward(matcher, clock):
    await matcher.go_on_duty(card(1))
    clock.advance(600)
    await matcher.go_on_duty(card(2))
    ranked = await matcher.recommend(spec(1))
    assert [r.status.card.id for r in ranked] == [1, 2]


async def test_hard_filters_subject_and_band(matcher, sink):
    await matcher.go_on_duty(card(1, subjects=("physics",)))
    await matcher.go_on_duty(card(2, bands=("senior",)))
    await matcher.submit(spec(1))
    assert sink.kinds(1) == [] and sink.kinds(2) == []
    await matcher.go_on_duty(card(3))
    assert sink.kinds(3) == ["offer"]  # the waiting request goes to the tutor who came on duty


async def test_waiting_request_expires_and_the_student_is_told(matcher, sink, clock):
    s = spec(1)
    await matcher.submit(s)
    clock.advance(601)
    assert (await matcher.tick())["requests"] == 1
    assert sink.last(s.student_id, "request_expired").data["can_ask_question"] is True
    assert (await matcher.pool.request(1)).state == RequestState.EXPIRED


async def test_position_and_estimated_wait_come_from_live_rates(matcher, clock):
    await matcher.go_on_duty(card(1))
    await matcher.go_on_duty(card(2))
    for rid in (1, 2):
        await matcher.submit(spec(rid))
        assert (await matcher.accept(rid, (await matcher.pool.request(rid)).offers[0])).ok
    for rid in (3, 4, 5):
        await matcher.submit(spec(rid))
    status = await matcher.status(5)
    assert status["position"] == 3
    # Two matches in the last 10 minutes → 0.2 matches per minute → 3 / (2/600) = 900 s.
    assert status["matches_per_min"] == 0.2 and status["eta_s"] == 900.0
    assert status["arrivals_per_min"] == 0.5


async def test_off_duty_while_ringing_passes_the_request_on(matcher, sink, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    clock.advance(1)
    await matcher.go_on_duty(card(2))
    assert await matcher.go_off_duty(1)
    assert (await matcher.pool.request(1)).offers == [2]


async def test_off_duty_during_a_session_waits_for_its_end(matcher, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    assert (await matcher.accept(1, 1)).ok
    assert not await matcher.go_off_duty(1)
    await matcher.session_ended(1)
    assert await matcher.pool.tutor(1) is None


async def test_release_undoes_a_claim(matcher, clock):
    await matcher.go_on_duty(card(1))
    await matcher.submit(spec(1))
    assert (await matcher.accept(1, 1)).ok
    await matcher.release(1, 1)
    assert (await matcher.pool.request(1)).state == RequestState.CANCELLED
    assert (await matcher.pool.tutor(1)).state == TutorState.AVAILABLE


async def test_offering_down_a_ranked_list_skips_who_cannot_ring_and_stops_when_enough_ring(pool, clock):
    now = clock.now()
    for tid in (1, 2, 3, 4, 5):
        await pool.put_tutor(card(tid), now)
    await pool.add_request(spec(1), now + 600, now)
    await pool.add_request(spec(2), now + 600, now)
    await pool.add_request(spec(3), now + 600, now)
    assert await pool.offer(2, 1, now, now + 20, chosen=False) == "ok"  # 1 rings for another request
    assert (await pool.claim(2, 1, now)).ok  # … and takes it: in a session
    assert await pool.offer(3, 2, now, now + 20, chosen=False) == "ok"  # 2 rings for request 3
    # 9 is off duty, 1 is in a session, 2 is ringing elsewhere: 3 and 4 ring, 5 is not needed.
    assert await pool.offer_first(1, [9, 1, 2, 3, 4, 5], now, now + 20, want=2) == (False, [3, 4])
    st = await pool.request(1)
    assert st.state == RequestState.RINGING and st.offers == [3, 4]
    assert (await pool.tutor(5)).state == TutorState.AVAILABLE
    # Asked again: those already ringing count as rung, nobody new is rung.
    assert await pool.offer_first(1, [3, 4, 5], now, now + 20, want=2) == (False, [3, 4])
    # A tutor who declined is not asked again; a closed request is gone before anyone rings.
    assert (await pool.withdraw(1, 3, now)).done
    assert await pool.offer_first(1, [3, 5], now, now + 20, want=1) == (False, [5])
    await pool.close(3, RequestState.CANCELLED, now)
    assert await pool.offer_first(3, [5, 2], now, now + 20, want=1) == (True, [])
    assert await pool.offer_first(1, [], now, now + 20, want=1) == (False, [])


async def test_an_auto_request_whose_ranked_tutors_were_taken_meanwhile_rings_one_free_now(pool, clock, sink):
    # Only the longest-free tutor is ranked (candidates=1); between that read and the offer a
    # concurrent decision rings them for another request. Tutor 2 is free all along: the request
    # must ring them rather than wait for a session to end.
    matcher = Matcher(pool, clock, sink, MatchConfig(ring_seconds=20, max_wait_s=600, candidates=1))
    await matcher.go_on_duty(card(1))
    clock.advance(1)
    await matcher.go_on_duty(card(2))
    await pool.add_request(spec(2), clock.now() + 600, clock.now())
    offer_first = pool.offer_first

    async def racing(request_id, tutor_ids, now, deadline, want):  # type: ignore[no-untyped-def]
        if request_id == 1 and tutor_ids == [1]:
            assert await pool.offer(2, 1, now, deadline, chosen=False) == "ok"  # the other decision wins
        return await offer_first(request_id, tutor_ids, now, deadline, want)

    pool.offer_first = racing
    await matcher.submit(spec(1))
    assert sink.kinds(2) == ["offer"] and sink.last(2, "offer").data["request_id"] == 1
    st = await pool.request(1)
    assert st.state == RequestState.RINGING and st.offers == [2]
