"""GET requests read without a transaction on PostgreSQL (app.kit.db.reader_for): what they
answer is the same, and a GET that tries to write is refused, never half-applied."""
from __future__ import annotations

import pytest
from fastapi import Request
from sqlalchemy import func, select, update

from app.kit.db import DB, ReadOnlyRequest
from app.models import User


async def test_a_get_that_writes_is_refused_and_nothing_is_stored(app, client, factory, backend):
    org = await factory.org()
    student = await factory.user("student", org)

    async def rename(request: Request, db: DB) -> dict[str, str]:
        await db.execute(update(User).where(User.id == student.id).values(real_name="changed"))
        return {"status": "renamed"}

    app.add_api_route("/test/rename", rename, methods=["GET", "POST"])
    if backend == "postgres":
        with pytest.raises(ReadOnlyRequest):
            await client.get("/test/rename")
    else:  # SQLite keeps its transaction for reads: nothing to refuse there
        assert (await client.get("/test/rename")).status_code == 200
    async with factory.session() as db:
        name = (await db.execute(select(User.real_name).where(User.id == student.id))).scalar_one()
    assert (name == "changed") == (backend == "sqlite")
    # The same write through POST commits at the request boundary as always.
    assert (await client.post("/test/rename")).status_code == 200
    async with factory.session() as db:
        assert (await db.execute(select(func.count()).where(User.id == student.id, User.real_name == "changed"))
                ).scalar_one() == 1


async def test_my_sessions_and_me_read_the_same_through_the_read_path(client, factory):
    org = await factory.org()
    student = await factory.user("student", org)
    auth = await factory.sign_in(student)
    me = await client.get("/api/auth/me", headers=auth)
    assert me.status_code == 200 and me.json()["id"] == student.id
    r = await client.get("/api/sessions", headers=auth)
    assert r.status_code == 200 and r.json() == []
