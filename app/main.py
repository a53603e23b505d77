"""The application factory. `uvicorn app.main:app` serves it; `tutoring run` prepares and serves."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from app.config import Settings, get_settings
from app.kit import errors
from app.kit.db import make_engine, make_sessionmaker
from app.kit.redis import make_redis


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.secret()  # fail at start, not at the first sign-in, when production lacks a secret

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.sqlalchemy_url)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.redis = make_redis(settings.redis_url) if settings.redis_url else None
        try:
            yield
        finally:
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await app.state.engine.dispose()

    app = FastAPI(title="Open online tutoring (开放型在线辅导)", version="0.1.0", lifespan=lifespan,
                  description="Live one-to-one tutoring, classes, Q&A and participation statistics. "
                              "Errors: `{\"error\": \"Code\", \"detail\": \"...\"}`.")
    app.state.settings = settings
    errors.install(app)

    from app.accounts.endpoints import router as auth
    from app.health import router as health
    from app.helprequests.endpoints import router as helprequests
    from app.schools.endpoints import router as schools
    from app.subjects.endpoints import router as subjects
    from app.tutors.endpoints import router as tutors

    for router in (health, auth, subjects, schools, tutors, helprequests):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` builds the app lazily, so importing this module has no side effects.
    if name == "app":
        return create_app()
    raise AttributeError(name)
