"""The hot reads (`GET /api/auth/me`, `GET /api/sessions`) run outside the ORM (app.kit.reads,
app.accounts.deps.current_caller): they must answer exactly what the ORM path answers, and the
account checks (sign-out, suspension) must hold on them at once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from app.kit.errors import AppError
from app.kit.reads import HotReads
from app.models import HelpRequest, TutoringSession, User, utcnow


async def _sessions(factory, student: User, tutors: list[User], n: int) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    start = utcnow() - timedelta(days=3)
    async with factory.session() as db:
        for i in range(n):
            tutor = tutors[i % len(tutors)]
            req = HelpRequest(student_id=student.id, subject_code="math", text=f"第{i}题", status="matched")
            db.add(req)
            await db.flush()
            ended = i % 3 != 0  # some ended and rated, some still matched (nullable fields both ways)
            s = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="math",
                                state="ended" if ended else "matched", matched_at=start + timedelta(minutes=i),
                                live_at=start + timedelta(minutes=i, seconds=30, microseconds=1234) if ended else None,
                                ended_at=start + timedelta(minutes=i + 1) if ended else None,
                                duration_s=30 if ended else None, end_reason="hangup_student" if ended else None,
                                rating=4 if ended else None, rating_comment="讲得清楚" if ended else None,
                                flagged=i == 1)
            db.add(s)
            await db.flush()
            ids.append(s.id)
        await db.commit()
    return ids


async def test_my_sessions_list_what_each_sessions_record_says_newest_first(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org)
    tutors = [await factory.tutor(org), await factory.tutor(org)]
    ids = await _sessions(factory, student, tutors, 7)
    others = await _sessions(factory, await factory.user("student", org), tutors, 2)  # not the student's
    auth = await factory.sign_in(student)

    listed = (await client.get("/api/sessions", headers=auth)).json()
    assert [s["id"] for s in listed] == sorted(ids, reverse=True)
    for item in listed:  # the record's own endpoint (ORM and pydantic) answers the same
        assert item == (await client.get(f"/api/sessions/{item['id']}", headers=auth)).json()
    assert {s["tutor_name"] for s in listed} == {"测试tutor"}
    assert any(s["live_at"] is None for s in listed) and any(s["flagged"] for s in listed)

    # A tutor sees the sessions they gave, of every student.
    tutor_view = (await client.get("/api/sessions", headers=await factory.sign_in(tutors[0]))).json()
    assert {s["id"] for s in tutor_view} == {i for n, i in enumerate(ids) if n % 2 == 0} | {others[0]}

    page = (await client.get("/api/sessions", headers=auth, params={"limit": 3})).json()
    rest = (await client.get("/api/sessions", headers=auth, params={"before_id": page[-1]["id"]})).json()
    assert [s["id"] for s in page + rest] == sorted(ids, reverse=True)
    r = await client.get("/api/sessions", headers=auth, params={"limit": 0})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"


async def test_me_answers_the_account_as_stored(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org)
    me = (await client.get("/api/auth/me", headers=await factory.sign_in(student))).json()
    assert me["id"] == student.id and me["username"] == student.username and me["role"] == "student"
    assert (me["school_id"], me["class_id"], me["grade"], me["status"]) == (student.school_id, student.class_id, 8, "active")
    assert me["created_at"].endswith("Z") and me["created_at"][:19] == student.created_at.isoformat()[:19]


async def test_sign_out_and_suspension_hold_on_the_hot_reads_at_once(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org)
    phone, laptop, tablet = [await factory.sign_in(student) for _ in range(3)]
    for path in ("/api/auth/me", "/api/sessions"):
        assert (await client.get(path, headers=phone)).status_code == 200
    assert (await client.get("/api/sessions", headers=phone)).json() == []  # signed in, no sessions yet

    assert (await client.post("/api/auth/sign-out", headers=phone)).status_code == 204
    for path in ("/api/auth/me", "/api/sessions"):
        r = await client.get(path, headers=phone)
        assert r.status_code == 401 and r.json()["error"] == "TokenRevoked", (path, r.text)
        assert (await client.get(path, headers=laptop)).status_code == 200  # other devices stay in

    # A suspension written by any instance is read by the next request (nothing cached).
    async with factory.session() as db:
        await db.execute(update(User).where(User.id == student.id).values(status="suspended", suspended_reason="测试"))
        await db.commit()
    for path in ("/api/auth/me", "/api/sessions"):
        r = await client.get(path, headers=laptop)
        assert r.status_code == 403 and r.json()["error"] == "AccountSuspended" and r.json()["reason"] == "测试"

    # Through the admins' flow: every device signed out.
    async with factory.session() as db:
        await db.execute(update(User).where(User.id == student.id).values(status="active", suspended_reason=None))
        await db.commit()
    assert (await client.get("/api/auth/me", headers=tablet)).status_code == 200
    admin = await factory.sign_in(await factory.admin_of(student))
    assert (await client.post(f"/api/accounts/{student.id}/suspend", headers=admin, json={"reason": "多次被举报"})
            ).status_code == 200
    for path in ("/api/auth/me", "/api/sessions"):
        assert (await client.get(path, headers=tablet)).status_code in (401, 403)

    r = await client.get("/api/sessions", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["error"] == "NotAuthenticated"
    assert (await client.get("/api/auth/me")).json()["error"] == "NotAuthenticated"


_PROBE = select(User.id).where(User.id == bindparam("uid"))


async def test_a_database_that_does_not_answer_is_a_503_not_a_500():  # type: ignore[no-untyped-def]
    # PostgreSQL only: the asyncpg pool of the hot reads exists there alone (no skip on SQLite).
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing")
    reads = HotReads(engine, {"timeout": 2})
    await reads.start()
    try:
        with pytest.raises(AppError) as err:
            await reads.one(_PROBE, {"uid": 1})
        assert err.value.status_code == 503 and err.value.code == "ServiceUnavailable"
    finally:
        await reads.aclose()
        await engine.dispose()
