"""Two real instances (uvicorn processes) sharing this run's PostgreSQL database and Redis, for
the whole module: instance B reaches both through proxies the tests can cut."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from app.main import create_app
from loadtest.cluster import Instance, Proxy, instance_env

from .. import infra
from ..factories import Factory


@dataclass
class Cluster:
    a: Instance
    b: Instance
    b_redis: Proxy
    b_db: Proxy
    factory: Factory


@pytest.fixture(scope="module")
async def cluster(databases, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:  # type: ignore[no-untyped-def]
    url = str(databases["postgres"])
    await infra.truncate_pg(url)
    prefix = f"{infra.REDIS_PREFIX}mi:"
    folder = tmp_path_factory.mktemp("multi")
    logs = Path(__file__).resolve().parents[2] / "test-artifacts" / f"multi-{infra.RUN_ID}"  # kept for a failure's post-mortem
    logs.mkdir(parents=True, exist_ok=True)
    pg, rd = urlparse(url.replace("+asyncpg", "")), urlparse(infra.REDIS_URL)
    b_db = await Proxy(pg.hostname or "127.0.0.1", pg.port or 5432).start()
    b_redis = await Proxy(rd.hostname or "127.0.0.1", rd.port or 6379).start()
    secret = "test-secret-for-this-run-only-" + infra.RUN_ID
    common = dict(session_grace_s=8, match_reconcile_s=2, data_dir=str(folder))
    db_url = url.replace("+asyncpg", "")
    a = Instance("a", instance_env(db_url, infra.REDIS_URL, prefix, secret, **common), logs)
    b_url = db_url.replace(f"{pg.hostname}:{pg.port}", f"127.0.0.1:{b_db.port}")
    b = Instance("b", instance_env(b_url, f"redis://127.0.0.1:{b_redis.port}/{rd.path.lstrip('/') or 0}", prefix,
                                   secret, **common), logs)
    await asyncio.gather(a.start(), b.start())
    # An in-process app on the same database builds the test data (it serves nothing).
    settings = infra.settings_for("postgres", url, folder)
    settings.redis_prefix = prefix
    helper = create_app(settings)
    lifespan = helper.router.lifespan_context(helper)
    await lifespan.__aenter__()
    transport = httpx.ASGITransport(app=helper, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        try:
            yield Cluster(a, b, b_redis, b_db, Factory(helper, client))
        finally:
            await lifespan.__aexit__(None, None, None)
            await asyncio.gather(a.stop(), b.stop())
            await b_db.stop()
            await b_redis.stop()
            await infra.clear_redis(prefix)


@pytest.fixture
async def people(cluster):  # type: ignore[no-untyped-def]
    """Signed-in clients, closed at the end of the test."""
    from ..live.helpers import Client

    made: list[Client] = []

    async def make(inst: Instance, user) -> Client:  # type: ignore[no-untyped-def]
        c = await Client(inst.base, user.username).sign_in()
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            await asyncio.wait_for(c.close(), 5)
        except Exception:  # noqa: BLE001 - a client of a killed instance
            pass


