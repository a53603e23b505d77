"""One contract for both event logs: in-process and Redis Streams."""
import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from signaling import InProcessEventLog, RedisEventLog, ResumeGap

from .. import infra


@pytest.fixture(params=["inproc", "redis"])
async def log(request):  # type: ignore[no-untyped-def]
    if request.param == "inproc":
        yield InProcessEventLog(keep=5)
        return
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}ev{secrets.token_hex(4)}:"
    ev = RedisEventLog(client, prefix, keep=5)
    await ev.start()
    yield ev
    await ev.aclose()
    await infra.clear_redis(prefix)
    await client.aclose()


async def test_ids_increase_per_user_and_resume_returns_exactly_the_rest(log):
    for n in range(3):
        assert await log.append(7, "chat", {"n": n}) == n + 1
    assert await log.append(8, "chat", {"n": 0}) == 1  # another user's stream has its own ids
    events = await log.read(7, 1)
    assert [(e.id, e.data["n"]) for e in events] == [(2, 1), (3, 2)]
    assert await log.read(7, 3) == []
    assert await log.latest(7) == 3


async def test_resume_from_before_what_is_kept_is_a_clear_error(log):
    for n in range(20):
        await log.append(7, "chat", {"n": n})
    with pytest.raises(ResumeGap) as gap:
        await log.read(7, 0)
    assert gap.value.latest == 20
    with pytest.raises(ResumeGap):
        await log.read(7, 99)  # a future id is not a resume point either
    assert [e.id for e in await log.read(7, 18)] == [19, 20]
    assert [e.id for e in await log.read(7, 15)] == [16, 17, 18, 19, 20]  # the oldest kept, after the window moved
    assert [e.data["n"] for e in await log.read(7, 16, limit=2)] == [16, 17]
    assert await log.read(7, 20) == []


async def test_bell_rings_for_new_events(log):
    bell = log.bell(7)
    assert not bell.is_set()
    await log.append(7, "offer", {})
    await asyncio.wait_for(bell.wait(), 2)
    log.unbell(7, bell)


async def test_a_new_event_is_offered_first_and_the_bell_rings_only_when_the_offer_is_declined(log):
    """What a socket's `offer` (signaling/ws.py) relies on: each appended event is offered with its
    id and text; taken, the bell stays quiet (the pump is not woken); declined, the bell rings."""
    taken: list[tuple[int, str]] = []
    busy = [False]

    def offer(event):  # type: ignore[no-untyped-def]
        if busy[0]:
            return False
        taken.append((event.id, event.text()))
        return True

    bell = log.bell(7, offer)
    await log.append(7, "chat", {"n": 1})
    await log.append(7, "chat", {}, body='{"n":2}')
    assert taken == [(1, '{"type":"event","id":1,"kind":"chat","data":{"n":1}}'), (2, '{"type":"event","id":2,"kind":"chat","data":{"n":2}}')]
    assert not bell.is_set()
    busy[0] = True
    await log.append(7, "chat", {"n": 3})
    await asyncio.wait_for(bell.wait(), 2)
    assert [e.id for e in await log.read(7, 2)] == [3]  # what the pump then reads
    assert len(taken) == 2
    log.unbell(7, bell)


async def test_bell_rings_across_instances():
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}ev{secrets.token_hex(4)}:"
    a, b = RedisEventLog(client, prefix), RedisEventLog(client, prefix)
    await b.start()
    await asyncio.sleep(0.1)  # let the subscription settle
    bell = b.bell(9)
    await a.append(9, "chat", {"text": "你好"})
    await asyncio.wait_for(bell.wait(), 2)
    assert [e.data["text"] for e in await b.read(9, 0)] == ["你好"]
    await b.aclose()
    await infra.clear_redis(prefix)
    await client.aclose()


async def test_an_event_is_sent_as_the_json_of_its_frame_whether_it_came_as_data_or_as_text(log):
    import json

    await log.append(7, "chat", {"session_id": 3, "text": "先看\"电路图\""})
    await log.append(7, "chat", {}, body='{"session_id":3,"text":"再看一遍","seq":2}')
    first, second = await log.read(7, 0)
    assert json.loads(first.text()) == {"type": "event", "id": 1, "kind": "chat",
                                        "data": {"session_id": 3, "text": "先看\"电路图\""}}
    assert json.loads(second.text()) == second.frame() == {"type": "event", "id": 2, "kind": "chat",
                                                           "data": {"session_id": 3, "text": "再看一遍", "seq": 2}}
