"""Every database-touching test runs twice: on the embedded default (SQLite, in-process) and on
the production setup (the machine's real PostgreSQL and Redis)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from matching import FakeClock, RecordingSink

from . import infra
from .factories import Factory

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("db")
    template = await infra.create_sqlite_template(folder)
    pg = await infra.create_pg()
    try:
        yield {"sqlite_template": template, "folder": folder, "postgres": pg}
    finally:
        await infra.drop_pg()
        await infra.clear_redis()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def app_settings(backend: str, databases: dict[str, object], tmp_path: Path):  # type: ignore[no-untyped-def]
    if backend == "postgres":
        await infra.truncate_pg(str(databases["postgres"]))
        await infra.clear_redis()
        url = str(databases["postgres"])
    else:
        url = infra.fresh_sqlite(databases["sqlite_template"], databases["folder"])  # type: ignore[arg-type]
    return infra.settings_for(backend, url, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(infra.EVENING)


@pytest.fixture
async def app(app_settings, clock):  # type: ignore[no-untyped-def]
    application = create_app(app_settings, clock=clock)
    lifespan = application.router.lifespan_context(application)
    await lifespan.__aenter__()
    # Record what matching emits (tests read it) while it still reaches the event streams.
    application.state.matcher.sink = RecordingSink(forward=application.state.matcher.sink)
    yield application
    shutdown = asyncio.ensure_future(lifespan.__aexit__(None, None, None))
    done, _ = await asyncio.wait([shutdown], timeout=20)
    if not done:
        for task in asyncio.all_tasks():
            task.print_stack(limit=8)
        raise AssertionError("the app did not shut down within 20 s (task stacks printed above)")


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def factory(app, client) -> Factory:  # type: ignore[no-untyped-def]
    return Factory(app, client)
