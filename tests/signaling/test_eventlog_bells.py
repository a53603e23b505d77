"""Redis bells carry their event: an instance with the user's socket sends it without reading
the stream, but never skips one it did not hear."""
import asyncio
import secrets

from redis.asyncio import Redis

from signaling import RedisEventLog

from .. import infra


async def test_events_heard_with_their_bell_are_read_in_order_and_a_gap_goes_to_the_stream() -> None:
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}bell{secrets.token_hex(4)}:"
    here, there = RedisEventLog(client, prefix), RedisEventLog(client, prefix)  # two instances
    await here.start()
    try:
        bell = here.bell(7)  # user 7's socket is on this instance
        await asyncio.sleep(0.2)  # subscribed
        for n in range(3):
            await there.append(7, "chat", {"n": n})
        for _ in range(50):
            if here._fresh.get(7) and here._fresh[7][-1].id == 3:
                break
            await asyncio.sleep(0.05)
        assert [(e.id, e.data) for e in await here.read(7, 1)] == [(2, {"n": 1}), (3, {"n": 2})]
        await there.append(7, "chat", {"n": 3})  # id 4: pretend its bell was lost …
        await asyncio.sleep(0.2)
        here._fresh[7].clear()
        here.heard(7, 5, "chat", '{"n":4}')  # … and id 5's arrived (its append follows below)
        await there.r.xadd(f"{prefix}ev:s:7", {"k": "chat", "d": '{"n":4}'}, id="5-1")
        await there.r.set(f"{prefix}ev:seq:7", 5)
        assert [e.data["n"] for e in await here.read(7, 3)] == [3, 4]  # read from the stream: nothing skipped
        here.unbell(7, bell)
    finally:
        await here.aclose()
        await infra.clear_redis(prefix)
        await client.aclose()
