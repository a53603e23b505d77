"""Concurrent writers on the embedded database (SQLite). A transaction that read and then wrote
got "database is locked" at once when another writer had committed since its read (SQLite
cannot upgrade a stale read snapshot to a write lock, and gives up without waiting) — seen as
failed `POST /api/help-requests` under `loadtest.signaling`. Writing requests now take the
write lock when they begin (app/kit/db.py), so they wait their turn instead."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, select

from app.kit.db import reader_for, writer_for
from app.models import HelpRequest, User


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_writing_request_holds_the_write_lock_from_its_first_read(app, backend):  # type: ignore[no-untyped-def]
    maker, path = app.state.sessionmaker, app.state.engine.url.database

    def another_writer_gets_in() -> bool:
        other = sqlite3.connect(path, timeout=0)  # no waiting: is the write lock free right now?
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            return True
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return False
        finally:
            other.close()

    async with writer_for(maker)() as db:  # what POST, PUT, PATCH and DELETE get (app.kit.db.get_db)
        await db.execute(select(func.count()).select_from(User))
        assert not another_writer_gets_in()  # so nothing can commit between its reads and its writes
    assert another_writer_gets_in()  # released with the transaction
    async with reader_for(maker)() as db:  # a GET's transaction keeps no writer out
        await db.execute(select(func.count()).select_from(User))
        assert another_writer_gets_in()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_concurrent_requests_are_all_stored_none_fails(client, factory, backend):  # type: ignore[no-untyped-def]
    org = await factory.org()
    await factory.tutor(org, subjects=("math",))
    students = [await factory.user("student", org) for _ in range(24)]
    auths = [await factory.sign_in(s) for s in students]

    async def ask(auth: dict[str, str], i: int):  # type: ignore[no-untyped-def]
        return await client.post("/api/help-requests", headers=auth, json={"subject": "math", "text": f"第{i}题怎么做"})

    answers = await asyncio.gather(*(ask(a, i) for i, a in enumerate(auths)))
    assert [r.status_code for r in answers] == [201] * len(auths), [r.text for r in answers if r.status_code != 201]
    async with factory.session() as db:
        stored = (await db.execute(select(func.count()).select_from(HelpRequest)
                                   .where(HelpRequest.student_id.in_([s.id for s in students])))).scalar_one()
    assert stored == len(students)

    # And a second wave while the first wave's students cancel: reads and writes interleaved.
    ids = [r.json()["id"] for r in answers]
    more = [await factory.sign_in(await factory.user("student", org)) for _ in range(12)]
    mixed = await asyncio.gather(*(client.post(f"/api/help-requests/{rid}/cancel", headers=a) for rid, a in zip(ids, auths)),
                                 *(ask(a, i) for i, a in enumerate(more)),
                                 *(client.get("/api/help-requests", headers=a) for a in auths[:12]))
    assert all(r.status_code < 300 for r in mixed), [r.text for r in mixed if r.status_code >= 300]
