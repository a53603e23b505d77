"""The live handler reads a session's participants once, and the first messages of many
sessions arriving together with one query (app/live/socket.py, `_loaded`): what every socket
sends first at the start of an evening, or after reconnecting to a restarted instance."""
import asyncio

import pytest
from sqlalchemy import event, select

from app.kit.clock import now_dt
from app.live import presence as sweep_module
from app.live import transcript
from app.live.presence import settle
from app.models import HelpRequest, SessionEvent, TutoringSession
from signaling.protocol import ProtocolError


async def _session(db, student_id: int, tutor_id: int, **fields) -> int:  # type: ignore[no-untyped-def]
    """A session row (and the request it answers) as matching leaves it, `fields` on top."""
    req = HelpRequest(student_id=student_id, subject_code="math", text="?", status="matched")
    db.add(req)
    await db.flush()
    s = TutoringSession(request_id=req.id, student_id=student_id, tutor_id=tutor_id, subject_code="math", **fields)
    db.add(s)
    await db.flush()
    return s.id


async def _tutor_with_live_students(factory, n: int):  # type: ignore[no-untyped-def]
    """One tutor, `n` students, a live session for each: (tutor, students, session ids)."""
    org = await factory.org()
    tutor = await factory.tutor(org)
    students = [await factory.user("student", org, school=1) for _ in range(n)]
    async with factory.session() as db:
        ids = [await _session(db, s.id, tutor.id, state="live") for s in students]
        await db.commit()
    return tutor, students, ids


async def test_first_messages_of_many_sessions_are_read_with_one_query_and_refused_where_they_must_be(factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student, other = await factory.user("student", org, school=1), await factory.user("student", org, school=1)
    tutor = await factory.tutor(org)
    ids: list[int] = []
    async with factory.session() as db:
        for n in range(40):
            ids.append(await _session(db, student.id, tutor.id, state="ended" if n == 0 else "live"))
        await db.commit()
    handler = factory.app.state.live
    reads: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "FROM tutoring_sessions" in statement:
            reads.append(statement)

    engine = factory.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        asks = [handler._pair(sid, who.id, "r") for sid in ids[1:] for who in (student, tutor)]  # both sides, together
        pairs = await asyncio.gather(*asks)
        assert pairs == [(student.id, tutor.id)] * 78
        assert len(reads) == 1
        with pytest.raises(ProtocolError) as ended:
            await handler._pair(ids[0], student.id, "r")
        with pytest.raises(ProtocolError) as stranger:
            await handler._pair(ids[1], other.id, "r")  # cached now: no read, still refused
        with pytest.raises(ProtocolError) as missing:
            await handler._pair(ids[-1] + 10_000, student.id, "r")
        assert (ended.value.code, stranger.value.code, missing.value.code) == ("SessionEnded", "NotYourSession", "NotYourSession")
        assert len(reads) == 3
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_sweep_records_every_change_across_its_steps(factory, monkeypatch):  # type: ignore[no-untyped-def]
    """The timer's sweep compares sessions with presence a few at a time (SWEEP_STEP), the loop
    free in between: every session whose side left or came back is recorded once, whichever
    step it falls in, and nobody else hears anything."""
    monkeypatch.setattr(sweep_module, "SWEEP_STEP", 3)
    org = await factory.org()
    tutor = await factory.tutor(org)
    students = [await factory.user("student", org, school=1) for _ in range(8)]
    ids: list[int] = []
    async with factory.session() as db:
        for n, student in enumerate(students):
            # every third student was marked gone before (their socket is back now)
            gone = now_dt(factory.app.state.clock) if n % 3 == 0 else None
            ids.append(await _session(db, student.id, tutor.id, state="live", student_gone_at=gone))
        await db.commit()
    here = {tutor.id} | {s.id for n, s in enumerate(students) if n % 3 == 0 or n % 2 == 1}
    asked: list[set[int]] = []

    async def present(users):  # type: ignore[no-untyped-def]
        asked.append(set(users))
        return here & set(users)

    now = factory.app.state.clock.now()
    async with factory.session() as db:
        out = await settle(db, present, now)
        await db.commit()
    expected = sorted((tutor.id, ids[n], "back" if n % 3 == 0 else "lost") for n in range(8) if (n % 3 == 0) or (n % 2 == 0))
    assert sorted((to, data["session_id"], data["state"]) for to, kind, data in out) == expected
    assert len(asked) == 3  # 8 sessions, 3 a step
    async with factory.session() as db:  # recorded: a second sweep finds nothing to do
        assert await settle(db, present, now) == []


async def test_the_transcript_writer_writes_a_batch_in_steps_and_loses_nothing(factory, monkeypatch):  # type: ignore[no-untyped-def]
    """The writer sends a batch a few rows at a time (ROWS_PER_STEP), one transaction for the
    batch: every row arrives once, in order, and the session's transcript seq is the last one."""
    monkeypatch.setattr(transcript, "ROWS_PER_STEP", 7)
    org = await factory.org()
    student, tutor = await factory.user("student", org, school=1), await factory.tutor(org)
    async with factory.session() as db:
        sid = await _session(db, student.id, tutor.id, state="live")
        await db.commit()
    app = factory.app
    for n in range(60):
        sender = student.id if n % 2 else tutor.id
        data = {"session_id": sid, "from": sender, "text": f"第{n}句"}
        await app.state.relay.send(sid, "chat", sender, data, [student.id, tutor.id], app.state.clock.now())
    await app.state.transcript.flush()
    async with factory.session() as db:
        rows = (await db.execute(select(SessionEvent.seq, SessionEvent.body).where(SessionEvent.session_id == sid).order_by(SessionEvent.id))).all()
    assert [seq for seq, _ in rows] == list(range(1, 61))
    assert [f"第{n}句" in body for n, (_, body) in enumerate(rows)] == [True] * 60


async def test_a_session_first_seen_here_numbers_on_from_its_last_stored_row(factory):  # type: ignore[no-untyped-def]
    """An instance that restarted (or never relayed a session) reads the session's last seq from
    its transcript rows when it first sees it: the next message follows them, and one without
    rows starts at 1."""
    org = await factory.org()
    student, tutor = await factory.user("student", org, school=1), await factory.tutor(org)
    async with factory.session() as db:
        talked = await _session(db, student.id, tutor.id, state="live")
        quiet = await _session(db, student.id, tutor.id, state="live")
        for seq in (1, 2, 3, 17):  # a gap: numbering follows the highest, not the count
            db.add(SessionEvent(session_id=talked, seq=seq, kind="chat", sender_id=student.id, body="{}"))
        await db.commit()
    app = factory.app
    assert await app.state.live._pair(talked, student.id, "r") == (student.id, tutor.id)
    assert await app.state.live._pair(quiet, tutor.id, "r") == (student.id, tutor.id)
    now = app.state.clock.now()
    sent = [await app.state.relay.send(sid, "chat", student.id, {"session_id": sid, "text": "接着说"}, [student.id, tutor.id], now)
            for sid in (talked, quiet)]
    assert [r.seq for r in sent] == [18, 1]
    await app.state.transcript.flush()
    async with factory.session() as db:
        seqs = (await db.execute(select(SessionEvent.seq).where(SessionEvent.session_id == talked).order_by(SessionEvent.seq))).scalars().all()
    assert seqs == [1, 2, 3, 17, 18]


async def test_the_timer_finds_lapsed_sockets_at_once_and_goes_round_the_rest(factory, monkeypatch):  # type: ignore[no-untyped-def]
    """The timer's sweep reads a few active sessions a pass (SWEEP_STEP), going round them all,
    and asks presence whose sockets lapsed since the last pass: those are settled at once,
    wherever their sessions are in the round."""
    monkeypatch.setattr(sweep_module, "SWEEP_STEP", 2)
    tutor, students, ids = await _tutor_with_live_students(factory, 5)
    app, handler = factory.app, factory.app.state.live
    clock, presence, events = app.state.clock, app.state.presence, app.state.events
    start = clock.now()
    for user in [tutor, *students]:  # sockets on an instance that is about to die …
        await presence.register(user.id, f"c{user.id}", start)
    clock.advance(5)
    await presence.refresh([(u.id, f"c{u.id}") for u in [tutor, *students[:3]]], clock.now())  # … but for these
    seen = await events.latest(tutor.id)
    clock.advance(6)  # students 3 and 4 lapsed at start + 10

    async def told() -> list[tuple[int, str]]:
        nonlocal seen
        new = await events.read(tutor.id, seen)
        seen = new[-1].id if new else seen
        return sorted((e.data["session_id"], e.data["state"]) for e in new if e.kind == "peer_connection")

    await handler.sweep()  # the round's first step reads sessions 0 and 1; the lapsed are found anyway
    assert await told() == [(ids[3], "lost"), (ids[4], "lost")]
    await handler.sweep()
    assert await told() == []  # told once
    async with factory.session() as db:  # a change nobody recorded (its instance died before it could)
        s = await db.get(TutoringSession, ids[1])
        s.student_gone_at = now_dt(clock)
        await db.commit()
    found: list[list[tuple[int, str]]] = []
    for _ in range(2):  # the round: session 4 (the two passes before read 0-1 and 2-3), then over again from 0-1
        await handler.sweep()
        found.append(await told())
    assert found == [[], [(ids[1], "back")]]


async def test_sockets_that_close_together_are_settled_together_and_each_side_told_once(factory):  # type: ignore[no-untyped-def]
    """Many sockets closing in the same moment (an instance restarting, a network blip): their
    users' sessions are read and marked in one transaction, not one each, and every other
    participant hears `lost` once; a user who still has a socket elsewhere is not reported."""
    tutor, students, ids = await _tutor_with_live_students(factory, 12)
    app, handler = factory.app, factory.app.state.live
    clock, presence, events = app.state.clock, app.state.presence, app.state.events
    for user in [tutor, *students]:
        await presence.register(user.id, f"c{user.id}", clock.now())
    await presence.register(students[0].id, "other-device", clock.now())  # still here through another socket
    seen = await events.latest(tutor.id)
    reads: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM tutoring_sessions" in statement:
            reads.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for s in students:
            await presence.unregister(s.id, f"c{s.id}")
        await asyncio.gather(*(handler._settle({s.id}) for s in students))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1
    told = sorted((e.data["session_id"], e.data["state"]) for e in await events.read(tutor.id, seen) if e.kind == "peer_connection")
    assert told == [(sid, "lost") for sid in ids[1:]]
    async with factory.session() as db:
        gone = (await db.execute(select(TutoringSession.id).where(TutoringSession.student_gone_at.is_not(None)))).scalars().all()
    assert sorted(gone) == ids[1:]


async def test_a_settle_that_fails_fails_its_callers_and_the_next_one_works(factory, monkeypatch):  # type: ignore[no-untyped-def]
    """A batch whose transaction fails (the database did not answer) fails every caller in it,
    and the users asked for afterwards are settled by the next batch as usual."""
    from sqlalchemy.exc import OperationalError

    from app.live import socket as live_socket

    tutor, (first, second), ids = await _tutor_with_live_students(factory, 2)
    handler, events = factory.app.state.live, factory.app.state.events
    seen = await events.latest(tutor.id)
    real = live_socket.settle
    calls = [0]

    async def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == 1:
            raise OperationalError("SELECT", {}, Exception("database is not answering"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(live_socket, "settle", flaky)
    with pytest.raises(OperationalError):
        await handler._settle({first.id})
    await handler._settle({second.id})
    told = [(e.data["session_id"], e.data["state"]) for e in await events.read(tutor.id, seen) if e.kind == "peer_connection"]
    assert told == [(ids[1], "lost")]  # the second user's; the first's batch failed and said so
