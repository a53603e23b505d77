"""The routers are included hottest first (app/main.py: FastAPI tries routes in order, at a
cost per route); that is only safe while no request could be served by routes of two routers."""
from __future__ import annotations

import re

from fastapi.routing import APIRoute

from app.config import Settings
from app.main import create_app


def test_no_path_is_served_by_routes_of_two_routers(tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(Settings(jwt_secret="x" * 32, data_dir=tmp_path))
    routes: list[tuple[int, APIRoute]] = []
    for group, entry in enumerate(app.router.routes):
        inner = getattr(entry, "original_router", None)
        routes += [(group, r) for r in (inner.routes if inner is not None else [entry]) if isinstance(r, APIRoute)]
    assert len(routes) > 100  # every router is there
    clashes = []
    for group, route in routes:
        for value in ("1", "x"):  # a path of this route, with numbers or words for its parameters
            path = re.sub(r"\{[^}]+\}", value, route.path)
            clashes += [(route.path, other.path) for g, other in routes
                        if g != group and other.methods & route.methods and other.path_regex.match(path)]
    assert clashes == []
