"""With Redis, a request outlives the instance that received it, and any instance reaps."""
from matching import MatchConfig, Matcher, RecordingSink, RequestState

from .conftest import card
from .test_contract import spec


async def test_request_survives_the_receiving_instance(make_pool, pool_kind, clock):
    if pool_kind != "redis":
        return  # the in-process pool lives and dies with its process by design
    first = Matcher(make_pool(), clock, RecordingSink(), MatchConfig())
    await first.go_on_duty(card(1))
    await first.go_on_duty(card(2))
    await first.submit(spec(1))
    ringing = (await first.pool.request(1)).offers
    del first  # the instance that received the request is gone

    sink = RecordingSink()
    second = Matcher(make_pool(), clock, sink, MatchConfig())
    clock.advance(21)
    assert (await second.tick())["offers"] == 1  # the other instance reaps the rung-out offer
    st = await second.pool.request(1)
    assert st.state == RequestState.RINGING and st.offers != ringing
    assert (await second.accept(1, st.offers[0])).ok


async def test_a_pool_written_before_tutor_rows_existed_reads_the_same(make_pool, pool_kind, clock, redis_client):
    if pool_kind != "redis":
        return  # the rows are the Redis pool's layout
    pool = make_pool()
    matcher = Matcher(pool, clock, RecordingSink(), MatchConfig())
    for tid in (1, 2, 3):
        await matcher.go_on_duty(card(tid))
        clock.advance(1)
    await matcher.heartbeat(2)
    before = [(t.card, t.available_since, t.last_seen, t.served) for t in await pool.available("math:junior", 10)]
    await redis_client.delete(f"{pool.p}tv")  # as an older version left the pool: no rows
    after = [(t.card, t.available_since, t.last_seen, t.served) for t in await pool.available("math:junior", 10)]
    assert after == before and [c.id for c, *_ in after] == [1, 2, 3]
    assert await redis_client.hlen(f"{pool.p}tv") == 3  # written back on the way
