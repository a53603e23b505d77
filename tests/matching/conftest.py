"""The matching contract runs against both pools: in-process and the real Redis."""
from __future__ import annotations

import secrets
import pytest
from redis.asyncio import Redis

from matching import InProcessPool, MatchConfig, Matcher, RecordingSink, RedisPool, TutorCard

from .. import infra

EVENING = infra.EVENING


def card(tid: int, subjects=("math",), bands=("junior",), expertise=(), rating=(0.0, 0), **kw) -> TutorCard:  # type: ignore[no-untyped-def]
    return TutorCard(id=tid, name=f"老师{tid}", school="学校", subjects=list(subjects), bands=list(bands),
                     expertise=list(expertise), rating_sum=rating[0], rating_count=rating[1], **kw)


@pytest.fixture(params=["inproc", "redis"])
def pool_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def redis_client():  # type: ignore[no-untyped-def]
    client = Redis.from_url(infra.REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def make_pool(pool_kind, redis_client):  # type: ignore[no-untyped-def]
    prefix = f"{infra.REDIS_PREFIX}{secrets.token_hex(4)}:"

    built = []

    def build():  # type: ignore[no-untyped-def]
        built.append(InProcessPool() if pool_kind == "inproc" else RedisPool(redis_client, prefix))
        return built[-1]

    yield build
    for pool in built:
        await pool.aclose()
    await infra.clear_redis(prefix)


@pytest.fixture
def pool(make_pool):  # type: ignore[no-untyped-def]
    return make_pool()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def matcher(pool, clock, sink) -> Matcher:  # type: ignore[no-untyped-def]
    return Matcher(pool, clock, sink, MatchConfig(ring_seconds=20, max_wait_s=600, presence_ttl_s=45))
