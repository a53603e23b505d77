"""One contract for both relays (in-process and Redis): delivery with the transcript seq, rows
queued in order, an ended session refused; and on Redis, rows a dead writer left are claimed."""
import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from signaling import InProcessEventLog, RedisEventLog
from signaling.relay import InProcessRelay, RedisRelay, SessionClosed

from .. import infra


@pytest.fixture(params=["inproc", "redis"])
async def relay(request):  # type: ignore[no-untyped-def]
    if request.param == "inproc":
        yield InProcessRelay(InProcessEventLog())
        return
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}rl{secrets.token_hex(4)}:"
    r = RedisRelay(client, prefix, RedisEventLog(client, prefix), claim_idle_ms=60_000, consumer="first")
    await r.start()
    yield r
    await infra.clear_redis(prefix)
    await client.aclose()


async def test_items_reach_their_recipients_with_the_seq_and_queue_their_rows_in_order(relay):
    assert await relay.send(5, "chat", 1, {"session_id": 5, "from": 1, "text": "先看电路图"}, [1, 2], 100.0) == (1, {1: 1, 2: 1})
    # the recipients' event ids: the sender's own copy answers its ref (signaling/ws.py)
    assert await relay.send(5, "stroke", 2, {"session_id": 5, "from": 2, "id": "s-1"}, [1], 101.0) == (2, {1: 2})
    assert (await relay.send(6, "chat", 3, {"session_id": 6, "from": 3, "text": "hi"}, [3, 4], 102.0,
                             raw="hi there", flagged=True)).seq == 1  # each session numbers its own
    to_1 = await relay.events.read(1, 0)
    assert [(e.kind, e.data) for e in to_1] == [
        ("chat", {"session_id": 5, "from": 1, "text": "先看电路图", "seq": 1}),
        ("stroke", {"session_id": 5, "from": 2, "id": "s-1", "seq": 2})]
    assert [e.kind for e in await relay.events.read(2, 0)] == ["chat"]  # strokes go to the other side only
    rows = [row for _, row in await relay.take(10, 0)]
    assert [(r.session_id, r.seq, r.kind, r.sender_id) for r in rows] == [(5, 1, "chat", 1), (5, 2, "stroke", 2), (6, 1, "chat", 3)]
    assert rows[0].body == '{"session_id":5,"from":1,"text":"先看电路图","seq":1}'
    assert (rows[2].raw, rows[2].flagged, rows[0].raw, rows[0].flagged) == ("hi there", True, None, False)


async def test_an_ended_session_is_refused_and_numbering_continues_from_the_database(relay):
    await relay.start_seq(9, 41)  # the database had 41 rows; the relay's own counter was lost
    assert (await relay.send(9, "board", 1, {"session_id": 9, "from": 1, "action": "clear"}, [2], 1.0)).seq == 42
    await relay.close_session(9)
    with pytest.raises(SessionClosed):
        await relay.send(9, "chat", 1, {"session_id": 9, "from": 1, "text": "还在吗"}, [1, 2], 2.0)
    assert [row.seq for _, row in await relay.take(10, 0)] == [42]  # nothing of the refused one


async def test_rows_a_dead_writer_took_are_claimed_by_another_instance() -> None:
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}rl{secrets.token_hex(4)}:"
    try:
        events = RedisEventLog(client, prefix)
        first = RedisRelay(client, prefix, events, consumer="dies")
        await first.start()
        for n in range(3):
            await first.send(5, "chat", 1, {"session_id": 5, "from": 1, "text": f"第{n}句"}, [1, 2], float(n))
        assert len(await first.take(10, 0)) == 3  # taken, never acked: the instance died before its commit
        other = RedisRelay(client, prefix, events, claim_idle_ms=0, consumer="survives")
        claimed = await other.take(10, 0)
        assert [row.seq for _, row in claimed] == [1, 2, 3]
        await other.ack([token for token, _ in claimed])
        assert await other.take(10, 0) == [] and await first.take(10, 0) == []
    finally:
        await infra.clear_redis(prefix)
        await client.aclose()


async def test_messages_sent_together_keep_each_senders_order_and_each_one_its_own_answer(relay):
    """On Redis the script calls of concurrent messages share one pipeline; in-process they are
    dict operations: either way each gets its own seq, in the order they were sent, and an ended
    session refuses only what comes after."""
    import asyncio

    async def say(n: int) -> int:
        return (await relay.send(7, "chat", 1 + n % 2, {"session_id": 7, "from": 1 + n % 2, "text": f"第{n}句"}, [1, 2],
                                 float(n))).seq

    seqs = await asyncio.gather(*(say(n) for n in range(40)))
    assert seqs == list(range(1, 41))
    rows = [row for _, row in await relay.take(100, 0)]
    assert [(r.seq, r.sender_id) for r in rows] == [(n + 1, 1 + n % 2) for n in range(40)]
    assert [e.data["text"] for e in await relay.events.read(2, 0)] == [f"第{n}句" for n in range(40)]
    await relay.close_session(7)
    results = await asyncio.gather(say(40), return_exceptions=True)
    assert isinstance(results[0], SessionClosed)


async def test_the_relay_carries_on_when_redis_has_lost_its_scripts() -> None:
    """A restarted or flushed Redis no longer has the relay's script: the messages of that flush
    are sent again once it is loaded, each exactly once and in order."""
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}rl{secrets.token_hex(4)}:"
    try:
        relay = RedisRelay(client, prefix, RedisEventLog(client, prefix))
        await relay.start()
        assert (await relay.send(7, "chat", 1, {"session_id": 7, "from": 1, "text": "一"}, [1, 2], 1.0)).seq == 1
        await client.script_flush()
        sent = await asyncio.gather(*(relay.send(7, "chat", 1, {"session_id": 7, "from": 1, "text": t}, [1, 2], 2.0) for t in ("二", "三")))
        assert [r.seq for r in sent] == [2, 3]  # both in one flush
        assert [e.data["text"] for e in await relay.events.read(2, 0)] == ["一", "二", "三"]
        assert [row.seq for _, row in await relay.take(10, 0)] == [1, 2, 3]
    finally:
        await infra.clear_redis(prefix)
        await client.aclose()


async def test_rows_waiting_in_process_drop_out_of_the_collectors_walks_and_come_back_whole():
    """A row waits up to the writer's 0.25 s: kept as a plain tuple of numbers and strings, the
    collector stops tracking it at its first pass (a NamedTuple it tracks for as long as it
    lives). Taken, it is a Row again; put back after a failed write, it waits as before."""
    import gc

    relay = InProcessRelay(InProcessEventLog())
    await relay.send(5, "chat", 1, {"session_id": 5, "from": 1, "text": "先看电路图"}, [1, 2], 100.0, raw="原文", flagged=True)
    gc.collect()
    assert [gc.is_tracked(row) for row in relay.rows] == [False]
    (token, row), = await relay.take(10, 0)
    assert (row.session_id, row.seq, row.kind, row.sender_id, row.raw, row.flagged, row.at) == (5, 1, "chat", 1, "原文", True, 100.0)
    relay.unack([row])
    gc.collect()
    assert [gc.is_tracked(r) for r in relay.rows] == [False]
    assert [r for _, r in await relay.take(10, 0)] == [row]
