"""No input gives a 500 (issue 15, finding 5): Schemathesis generates requests from the app's
own OpenAPI document — valid ones and, per operation, invalid ones — against the real app served
by uvicorn on a free port (both setups), signed in as the role each endpoint is for. Every answer
must be no server error, and a documented answer must match its schema.

Bounded: a few examples per operation and mode (TUTORING_FUZZ_EXAMPLES, default 2), derandomized,
so a run costs the same every time."""
from __future__ import annotations

import asyncio
import os
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from .live.helpers import Server

EXAMPLES = int(os.environ.get("TUTORING_FUZZ_EXAMPLES", "2"))
# Operations that would end the fuzzing session itself.
SKIP = {"POST /api/auth/sign-out", "POST /api/auth/password"}


def _role(path: str, method: str) -> str:
    if path.startswith(("/api/stats", "/api/rosters", "/api/reports", "/api/schools")) or \
            (path.startswith("/api/calendar") and method != "GET") or \
            (path.startswith("/api/tutors/applications") and method == "GET" and "{" not in path) or \
            path.endswith(("/approve", "/reject", "/decision")):
        return "city_admin"
    if path.startswith(("/api/duty", "/api/offers", "/api/tutors/me", "/api/stats/tutors/me")):
        return "tutor"
    return "student"


def _fuzz(schema: Any, base: str, tokens: dict[str, str]) -> list[str]:
    failures: list[str] = []
    http = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        if op.label in SKIP:
            continue
        auth = {"Authorization": f"Bearer {tokens[_role(op.path, op.method.upper())]}"}
        raw = op.definition.raw
        # Negative data needs something to break: an operation without parameters or body has none.
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if raw.get("parameters") or raw.get("requestBody")
                                             else [])
        for mode in modes:

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case):  # type: ignore[no-untyped-def]
                response = case.call(base_url=base, session=http, headers=auth, timeout=30)
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

            try:
                run()
            except Unsatisfiable:  # e.g. no invalid value exists for a free-form string in the path
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, then report all
                failures.append(f"{op.label} [{mode.value}]: {str(exc)[:600]}")
    return failures


async def test_no_generated_request_gets_a_server_error_or_breaks_the_schema(app, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    users = {"student": await factory.user("student", org), "tutor": await factory.tutor(org),
             "city_admin": await factory.user("city_admin", org)}
    server = await Server(app).start()
    try:
        tokens = {}
        for role, user in users.items():
            r = await factory.client.post("/api/auth/sign-in", json={"username": user.username, "password": "password123"})
            tokens[role] = r.json()["access_token"]
        schema = schemathesis.openapi.from_dict(app.openapi())
        failures = await asyncio.to_thread(_fuzz, schema, server.base, tokens)
    finally:
        await server.stop()
    assert failures == [], "\n\n".join(failures)
