"""Scheduling, enrolment and the room's rules, through HTTP and the websocket dispatch (the
same call the socket makes for every class message), on both databases."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import CalendarDay, ClassAttendance, LiveClass, PointsEntry
from signaling.protocol import ProtocolError, parse

from .conftest import at, class_body


async def events_of(app, user_id: int) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    return [(e.kind, e.data) for e in await app.state.events.read(user_id, 0)]


async def send(app, user, **msg):  # type: ignore[no-untyped-def]
    """A class message as the websocket delivers it: parsed, then dispatched."""
    return await app.state.live.message(user, parse(json.dumps(msg)))


async def schedule(client, heads, tutor, **over):  # type: ignore[no-untyped-def]
    r = await client.post("/api/classes", json={**class_body, **over}, headers=heads[tutor.id])
    assert r.status_code == 201, r.text
    return r.json()


async def test_schedule_list_enrol_remind_and_cancel(client, app, clock, people):
    _, tutor, students, heads = people
    c = await schedule(client, heads, tutor)
    assert (c["minutes"], c["state"], c["enrolled"]) == (30, "scheduled", 0)
    listed = (await client.get("/api/classes", headers=heads[students[0].id])).json()
    assert [x["id"] for x in listed] == [c["id"]]
    for s in students[:2]:
        r = await client.post(f"/api/classes/{c['id']}/enrolment", headers=heads[s.id])
        assert r.status_code == 200 and r.json()["me_enrolled"] is True
    detail = (await client.get(f"/api/classes/{c['id']}", headers=heads[tutor.id])).json()
    assert sorted(e["student_id"] for e in detail["enrolments"]) == sorted(s.id for s in students[:2])
    assert [k for k, _ in await events_of(app, tutor.id)] == ["class_enrolled", "class_enrolled"]

    clock.advance(14 * 60)  # 19:14: not yet reminded (15 minutes before the start)
    await app.state.classes.tick()
    assert "class_reminder" not in [k for k, _ in await events_of(app, students[0].id)]
    clock.advance(120)
    await app.state.classes.tick()
    await app.state.classes.tick()
    assert [k for k, _ in await events_of(app, students[0].id)] == ["class_reminder"]
    assert await events_of(app, students[2].id) == []  # not enrolled: no reminder

    r = await client.post(f"/api/classes/{c['id']}/cancel", headers=heads[tutor.id])
    assert r.json()["state"] == "cancelled"
    kinds, data = zip(*await events_of(app, students[1].id))
    assert kinds == ("class_reminder", "class_cancelled") and data[1]["title"] == "一次函数的图像"
    assert (await client.get("/api/classes", headers=heads[students[0].id])).json() == []


async def test_scheduling_refused_outside_the_window_or_too_long(client, people):
    _, tutor, _, heads = people
    for over, code in (({"starts_at": at(21, 10)}, "OutsideServiceWindow"),
                       ({"starts_at": at(20, 45)}, "OutsideServiceWindow"),  # would end after 21:00
                       ({"starts_at": at(19, 0, day=28)}, "OutsideServiceWindow"),  # a Saturday
                       ({"minutes": 40}, "ClassTooLong"),
                       ({"starts_at": at(18, 30)}, "InvalidInput"),  # in the past
                       ({"subject": "physics"}, "InvalidInput")):  # not a subject the tutor teaches
        r = await client.post("/api/classes", json={**class_body, **over}, headers=heads[tutor.id])
        assert r.status_code in (409, 422) and r.json()["error"] == code, (over, r.text)
    r = await client.post("/api/classes", json={**class_body, "starts_at": at(21, 10)}, headers=heads[tutor.id])
    assert r.json()["next_opening"].startswith("2026-11-26T18:00")


async def test_weekly_cap_refuses_enrolment_and_joining_with_the_reason(client, app, factory, people):
    _, tutor, students, heads = people
    s = students[0]
    async with factory.session() as db:  # four and three-quarter hours of classes attended this week
        monday = datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)
        for n in range(10):
            old = LiveClass(tutor_id=tutor.id, subject_code="math", title=f"旧课{n}", starts_at=monday + timedelta(hours=n),
                            state="ended", live_at=monday, ended_at=monday + timedelta(minutes=30))
            db.add(old)
            await db.flush()
            db.add(ClassAttendance(live_class_id=old.id, student_id=s.id, joined_at=old.starts_at, seconds=1710))
        await db.commit()
    long = await schedule(client, heads, tutor, minutes=30)
    short = await schedule(client, heads, tutor, minutes=15, starts_at=at(20, 15))
    r = await client.post(f"/api/classes/{long['id']}/enrolment", headers=heads[s.id])
    assert r.status_code == 409 and r.json()["error"] == "WeeklyClassCap"
    assert (r.json()["used_minutes"], r.json()["cap_minutes"]) == (285, 300) and "5 hours" in r.json()["detail"]
    assert (await client.post(f"/api/classes/{short['id']}/enrolment", headers=heads[s.id])).status_code == 200
    # Another student enrols in the long class; ours cannot take it even enrolled elsewhere first.
    assert (await client.post(f"/api/classes/{long['id']}/enrolment", headers=heads[students[1].id])).status_code == 200


async def test_joining_needs_enrolment_the_window_and_no_removal(client, app, factory, clock, people):
    _, tutor, students, heads = people
    c = await schedule(client, heads, tutor)
    cid = c["id"]
    enrolled, stranger, removed = students[0], students[1], students[2]
    for s in (enrolled, removed):
        await client.post(f"/api/classes/{cid}/enrolment", headers=heads[s.id])
    with pytest.raises(ProtocolError) as exc:  # 19:00: too early for the 19:30 class
        await send(app, tutor, type="class_join", class_id=cid)
    assert exc.value.code == "ClassNotOpen"
    clock.advance(25 * 60)
    with pytest.raises(ProtocolError) as exc:
        await send(app, enrolled, type="class_join", class_id=cid)
    assert exc.value.code == "ClassNotOpen" and "not started" in exc.value.detail

    r = await client.post(f"/api/classes/{cid}/students/{removed.id}/remove", headers=heads[tutor.id])
    assert r.status_code == 200
    state = await send(app, tutor, type="class_join", class_id=cid)
    assert state["type"] == "class_state" and state["state"] == "live"
    for who, code in ((stranger, "NotEnrolled"), (removed, "RemovedFromClass")):
        with pytest.raises(ProtocolError) as exc:
            await send(app, who, type="class_join", class_id=cid)
        assert exc.value.code == code
    r = await client.post(f"/api/classes/{cid}/enrolment", headers=heads[removed.id])
    assert r.status_code == 403 and r.json()["error"] == "RemovedFromClass"

    # The admins close today (a holiday declared at short notice): joining is refused with the reason.
    async with factory.session() as db:
        db.add(CalendarDay(day=datetime(2026, 11, 25).date(), is_service_day=False, note="临时停课"))
        await db.commit()
    with pytest.raises(ProtocolError) as exc:
        await send(app, enrolled, type="class_join", class_id=cid)
    assert exc.value.code == "OutsideServiceWindow" and "2026-11-26T18:00" in exc.value.detail


async def test_the_floor_only_to_a_student_present_in_the_class(client, app, clock, people, factory):
    org, tutor, students, heads = people
    outsider = await factory.user("student", org)
    c = await schedule(client, heads, tutor)
    cid = c["id"]
    for s in students[:2]:
        await client.post(f"/api/classes/{cid}/enrolment", headers=heads[s.id])
    clock.advance(30 * 60)
    await send(app, tutor, type="class_join", class_id=cid)
    await send(app, students[0], type="class_join", class_id=cid)
    for who in (outsider, students[1], students[3]):  # not enrolled / enrolled but absent / another's student
        with pytest.raises(ProtocolError) as exc:
            await send(app, tutor, type="class_floor", class_id=cid, student_id=who.id)
        assert exc.value.code == "NotInClass"
    with pytest.raises(ProtocolError) as exc:
        await send(app, students[0], type="class_floor", class_id=cid, student_id=students[0].id)
    assert exc.value.code == "Forbidden"
    await send(app, tutor, type="class_floor", class_id=cid, student_id=students[0].id)
    assert ("class_floor", {"class_id": cid, "student_id": students[0].id}) in await events_of(app, students[0].id)


async def test_a_class_from_start_to_cap_with_attendance_points_and_statistics(client, app, clock, people, factory):
    org, tutor, students, heads = people
    a, b, late, _ = students
    c = await schedule(client, heads, tutor)
    cid = c["id"]
    for s in (a, b, late):
        await client.post(f"/api/classes/{cid}/enrolment", headers=heads[s.id])
    clock.advance(30 * 60)  # 19:30
    await send(app, tutor, type="class_join", class_id=cid)
    assert ("class_started" in [k for k, _ in await events_of(app, a.id)])
    for s in (a, b):
        state = await send(app, s, type="class_join", class_id=cid)
        assert state["recording"] is False and state["board"] == []
    await send(app, tutor, type="class_stroke", class_id=cid, id="s1", points=[[10, 10], [500, 500]])
    await send(app, tutor, type="class_stroke", class_id=cid, id="s2", points=[[20, 20], [600, 600]])
    await send(app, tutor, type="class_board", class_id=cid, action="undo", stroke_id="s2")
    with pytest.raises(ProtocolError):
        await send(app, a, type="class_stroke", class_id=cid, id="x", points=[[1, 1]])
    await send(app, a, type="class_chat", class_id=cid, text="老师，我的电话是13912345678")
    chat = [d for k, d in await events_of(app, b.id) if k == "class_chat"][0]
    assert "13912345678" not in chat["text"] and chat["masked"] is True
    await send(app, tutor, type="class_mute", class_id=cid, muted=True)
    with pytest.raises(ProtocolError) as exc:
        await send(app, b, type="class_chat", class_id=cid, text="hi")
    assert exc.value.code == "ChatMuted"
    await send(app, tutor, type="class_mute", class_id=cid, muted=False)

    await send(app, b, type="class_hand", class_id=cid, up=True)
    assert ("class_hand", {"class_id": cid, "user_id": b.id, "name": b.real_name, "up": True}) in await events_of(app, tutor.id)
    await send(app, tutor, type="class_floor", class_id=cid, student_id=b.id)
    await send(app, tutor, type="class_floor", class_id=cid, student_id=a.id)  # one at a time: b loses it
    floors = [d["student_id"] for k, d in await events_of(app, b.id) if k == "class_floor"]
    assert floors == [b.id, a.id]

    clock.advance(5 * 60)  # 19:35: a late joiner sees the board as it is
    state = await send(app, late, type="class_join", class_id=cid)
    assert [s["id"] for s in state["board"]] == ["s1"] and state["floor"] == a.id
    assert sorted(p["id"] for p in state["participants"]) == sorted([a.id, b.id, late.id])
    await send(app, a, type="class_leave", class_id=cid)  # a leaves (and gives up the floor) …
    clock.advance(5 * 60)
    await send(app, a, type="class_join", class_id=cid)  # … and comes back five minutes later
    assert [d["student_id"] for k, d in await events_of(app, b.id) if k == "class_floor"][-1] is None

    clock.advance(20 * 60)  # 20:00: the cap (30 minutes from 19:30)
    await app.state.classes.tick()
    ended = [d for k, d in await events_of(app, late.id) if k == "class_ended"]
    assert ended == [{"class_id": cid, "reason": "time_cap", "minutes": 30}]
    with pytest.raises(ProtocolError) as exc:
        await send(app, b, type="class_chat", class_id=cid, text="还在吗")
    assert exc.value.code == "ClassNotOpen"

    detail = (await client.get(f"/api/classes/{cid}", headers=heads[tutor.id])).json()
    minutes = {x["student_id"]: x["minutes"] for x in detail["attendances"]}
    assert minutes == {a.id: "25.00", b.id: "30.00", late.id: "25.00"}
    assert all(x["present"] is False and x["left_at"] for x in detail["attendances"])
    assert Decimal(detail["points"]) == Decimal("6.15")  # 30 min × 0.2 + 3 attendees × 0.05
    async with factory.session() as db:
        ledger = (await db.execute(select(PointsEntry.source_kind, PointsEntry.points).where(
            PointsEntry.tutor_id == tutor.id))).all()
        raw = (await db.execute(select(ClassAttendance.student_id).where(ClassAttendance.live_class_id == cid))).scalars().all()
    assert ledger == [("class", Decimal("6.15"))]

    admin = await factory.user("city_admin", org)
    ah = await factory.sign_in(admin)
    q = {"from": "2026-11-23", "to": "2026-11-30"}
    table = (await client.get("/api/stats/participation", params=q, headers=ah)).json()
    rows = {r["school_id"]: r for r in (table["rows"] if isinstance(table, dict) else table)}
    for school in org.schools:
        mine = [s for s in (a, b, late) if s.school_id == school.id and s.id in raw]
        assert rows[school.id]["one_to_many_students"] == len(mine)
        assert rows[school.id]["one_to_many_attendances"] == len(mine)
    work = (await client.get("/api/stats/tutors", params=q, headers=ah)).json()
    assert "rows" in work, work
    work_rows = work["rows"]
    assert [(w["classes"], w["points"]) for w in work_rows if w["tutor_id"] == tutor.id] == [(1, "6.15")]
    archive = (await client.get("/api/stats/archive", params={**q, "tutor_id": tutor.id}, headers=ah)).json()
    arch_rows = archive["rows"] if isinstance(archive, dict) else archive
    assert [(r["kind"], r["minutes"], r["points"]) for r in arch_rows] == [("一对多课堂", "30.00", "6.15")]


async def test_the_tutor_mutes_one_student_s_voice_at_once_even_on_the_floor(client, app, clock, people):
    org, tutor, students, heads = people
    a, b = students[:2]
    cid = (await schedule(client, heads, tutor))["id"]
    for s in (a, b):
        await client.post(f"/api/classes/{cid}/enrolment", headers=heads[s.id])
    clock.advance(30 * 60)
    await send(app, tutor, type="class_join", class_id=cid)
    for s in (a, b):
        await send(app, s, type="class_join", class_id=cid)
    media = app.state.classes.media
    await media.create_room(cid)  # the room the first connection would open
    try:
        await send(app, tutor, type="class_floor", class_id=cid, student_id=a.id)
        assert media.stats(cid)["floor"] == a.id
        await send(app, tutor, type="class_mute", class_id=cid, student_id=a.id, muted=True, audio=True)
        assert media.stats(cid)["floor"] is None  # the room no longer forwards a's voice …
        state = await send(app, b, type="class_join", class_id=cid)
        assert state["floor"] == a.id  # … though a keeps the floor
        assert {p["id"]: (p["muted"], p["audio_muted"]) for p in state["participants"]} == {a.id: (False, True), b.id: (False, False)}
        assert ("class_muted", {"class_id": cid, "student_id": a.id, "muted": True, "audio": True}) in await events_of(app, b.id)
        await send(app, a, type="class_chat", class_id=cid, text="我还能打字")  # the chat is another switch
        await send(app, tutor, type="class_floor", class_id=cid, student_id=b.id)
        assert media.stats(cid)["floor"] == b.id
        await send(app, tutor, type="class_floor", class_id=cid, student_id=a.id)  # a muted voice may hold the floor, unheard
        assert media.stats(cid)["floor"] is None
        await send(app, tutor, type="class_mute", class_id=cid, student_id=a.id, muted=False, audio=True)
        assert media.stats(cid)["floor"] == a.id  # unmuted on the floor: heard again at once
        await send(app, tutor, type="class_mute", class_id=cid, student_id=b.id, muted=True, audio=True)
        assert media.stats(cid)["floor"] == a.id  # muting someone off the floor changes no media
        for who, msg, code in ((tutor, {"muted": True, "audio": True}, "InvalidMute"),  # a voice is one student's
                               (a, {"student_id": b.id, "muted": False, "audio": True}, "Forbidden")):
            with pytest.raises(ProtocolError) as exc:
                await send(app, who, type="class_mute", class_id=cid, **msg)
            assert exc.value.code == code
    finally:
        await media.close_room(cid)


async def test_a_student_with_no_socket_anywhere_leaves_the_class_after_the_grace(client, app, clock, people):
    # What happens to a student whose socket died with its instance and who never came back
    # through another: no socket of theirs is refreshed anywhere, so after the grace they leave,
    # counted until they were first seen gone. A student whose socket lives stays.
    org, tutor, students, heads = people
    a, b = students[:2]
    cid = (await schedule(client, heads, tutor))["id"]
    for s in (a, b):
        await client.post(f"/api/classes/{cid}/enrolment", headers=heads[s.id])
    clock.advance(30 * 60)
    await send(app, tutor, type="class_join", class_id=cid)
    for s in (a, b):
        await send(app, s, type="class_join", class_id=cid)
    presence, classes = app.state.presence, app.state.classes
    clock.advance(120)
    await presence.register(b.id, "b-socket", classes.now)
    await classes.tick()  # a is first seen without a socket here, two minutes in
    clock.advance(app.state.settings.session_grace_s - 1)
    await presence.refresh([(b.id, "b-socket")], classes.now)  # b's instance keeps b's socket alive
    await classes.tick()
    assert "class_left" not in [k for k, _ in await events_of(app, tutor.id)]  # within the grace
    clock.advance(5)  # the timer looks every 5 s
    await presence.refresh([(b.id, "b-socket")], classes.now)
    await classes.tick()
    assert [d["user_id"] for k, d in await events_of(app, tutor.id) if k == "class_left"] == [a.id]
    async with app.state.sessionmaker() as db:
        rows = {r.student_id: r for r in (await db.execute(select(ClassAttendance).where(
            ClassAttendance.live_class_id == cid))).scalars()}
    assert rows[a.id].present_since is None and rows[a.id].seconds == 120
    assert rows[b.id].present_since is not None
