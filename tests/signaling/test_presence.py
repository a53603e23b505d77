"""One contract for both presence backends: in-process and Redis."""
import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from signaling.presence import InProcessPresence, Kick, RedisPresence

from .. import infra

T = 1_000_000.0


@pytest.fixture(params=["inproc", "redis"])
async def pair(request):  # type: ignore[no-untyped-def]
    """Two views of one presence, as two instances see it (the in-process one is shared)."""
    if request.param == "inproc":
        p = InProcessPresence(ttl_s=10)
        yield p, p
        return
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    prefix = f"{infra.REDIS_PREFIX}pr{secrets.token_hex(4)}:"
    a, b = RedisPresence(client, prefix, ttl_s=10), RedisPresence(client, prefix, ttl_s=10)
    await a.start()
    await b.start()
    yield a, b
    await a.aclose()
    await b.aclose()
    await infra.clear_redis(prefix)
    await client.aclose()


async def test_a_user_is_present_while_any_socket_anywhere_is_alive(pair):
    a, b = pair
    await a.register(7, "old", T)
    await b.register(7, "new", T + 1)
    assert await b.present([7, 8], T + 2) == {7}
    await a.unregister(7, "old")  # the stale socket closes on one instance …
    assert await a.present([7], T + 2) == {7}  # … the other keeps the user present
    await b.unregister(7, "new")
    assert await a.present([7], T + 2) == set()


async def test_sockets_that_are_not_refreshed_expire(pair):
    a, b = pair
    await a.register(7, "x", T)
    await b.register(8, "y", T)
    await b.refresh([(8, "y")], T + 8)  # only b's instance is still alive
    assert await a.present([7, 8], T + 9) == {7, 8}
    assert await a.present([7, 8], T + 11) == {8}
    await a.refresh([(7, "x")], T + 12)  # a socket that lapsed (Redis away) comes back when refreshed
    assert await b.present([7, 8], T + 13) == {7, 8}


async def test_a_refresh_of_many_sockets_keeps_every_one_alive(pair, monkeypatch):
    """An instance refreshes all its sockets at once; on Redis a few per script call
    (REFRESH_STEP): every socket of every call stays alive, a socket not refreshed expires."""
    from signaling import presence

    monkeypatch.setattr(presence, "REFRESH_STEP", 2)
    a, b = pair
    sockets = [(10, "p"), (11, "q"), (11, "r"), (12, "s"), (13, "t")]
    for user_id, conn in sockets:
        await a.register(user_id, conn, T)
    await a.register(14, "u", T)
    await a.refresh(sockets, T + 8)
    assert await b.present([10, 11, 12, 13, 14], T + 11) == {10, 11, 12, 13}
    await a.unregister(11, "q")  # the user's other socket, refreshed in another call, keeps them
    assert await b.present([11], T + 12) == {11}


async def test_a_ticket_is_claimed_once_across_instances(pair):
    a, b = pair
    assert await a.claim_once("jti:abc", 60, T) is True
    assert await b.claim_once("jti:abc", 60, T + 1) is False
    assert await a.claim_once("jti:abc", 60, T + 2) is False
    assert await b.claim_once("jti:other", 60, T + 2) is True


async def test_a_kick_reaches_every_instance(pair):
    a, b = pair
    got: list[tuple[str, Kick]] = []
    seen = asyncio.Event()

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def on(kick: Kick) -> None:
            got.append((name, kick))
            seen.set()
        return on

    a.on_kick(recorder("a"))
    if b is not a:
        b.on_kick(recorder("b"))
    await asyncio.sleep(0.3)  # let the subscribers subscribe
    await a.kick(Kick(7, "sid1", "TokenRevoked"))
    async with asyncio.timeout(5):
        while len(got) < (1 if b is a else 2):
            await seen.wait()
            seen.clear()
    assert sorted(name for name, _ in got) == (["a"] if b is a else ["a", "b"])
    assert {k for _, k in got} == {Kick(7, "sid1", "TokenRevoked")}


async def test_lapsed_names_once_the_users_whose_last_socket_expired(pair):
    """The sweep's question after an instance died: whose sockets all lapsed in (since, now]?
    A user with another socket alive is not among them, nor one whose expiry is outside it."""
    a, b = pair
    await a.register(7, "x", T)  # lapses at T + 10
    await b.register(8, "y", T)
    await b.register(9, "z", T)
    await a.register(9, "w", T + 4)  # 9's other socket, until T + 14
    await b.refresh([(8, "y")], T + 8)  # until T + 18
    assert await a.lapsed(T, T + 9) == set()
    assert await b.lapsed(T + 9, T + 11) == {7}  # 9's first socket lapsed too, but 9 is still here
    assert await a.lapsed(T + 11, T + 13) == set()  # told once: the next interval does not repeat it
    assert await a.lapsed(T + 13, T + 15) == {9}
    await a.register(8, "back", T + 17)  # 8 opens a new socket before the old one lapses at T + 18
    assert await b.lapsed(T + 15, T + 20) == set()
    assert await b.lapsed(T + 20, T + 30) == {8}  # … which lapses at T + 27
