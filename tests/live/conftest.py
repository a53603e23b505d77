from __future__ import annotations

import pytest

from .helpers import Client, Server


@pytest.fixture
async def server(app):  # type: ignore[no-untyped-def]
    srv = await Server(app).start()
    yield srv
    await srv.stop()


@pytest.fixture
async def clients():  # type: ignore[no-untyped-def]
    made: list[Client] = []

    async def make(base: str, user) -> Client:  # type: ignore[no-untyped-def]
        c = await Client(base, user.username).sign_in()
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


@pytest.fixture
async def matched(factory, server, clients):  # type: ignore[no-untyped-def]
    """A student and a tutor, both connected, whose request has just been matched."""
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await (await clients(server.base, tutor_user)).connect()
    student = await (await clients(server.base, student_user)).connect()
    assert (await tutor.http.post("/api/duty")).status_code == 200
    r = await student.http.post("/api/help-requests", json={"subject": "physics", "text": "串联电路的电流"})
    rid = r.json()["id"]
    offer = await tutor.event("offer", request_id=rid)
    assert offer["text"] == "串联电路的电流"
    session_id = (await tutor.http.post(f"/api/offers/{rid}/accept")).json()["session_id"]
    await student.event("matched", session_id=session_id)
    return student, tutor, session_id, student_user, tutor_user
