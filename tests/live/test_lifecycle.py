"""Server-enforced session rules with an injected clock: the cap and its warnings, no-shows,
lost connections, the rest rule; rating and points; TURN credentials."""
import asyncio
from decimal import Decimal

from sqlalchemy import select

from app.live.service import points_for
from app.live.socket import run_tick
from app.models import PointsEntry, TutoringSession
from signaling.turn import credentials_valid

from .test_websocket import live


async def test_the_cap_warns_at_five_and_one_minute_then_ends(matched, app, clock, factory):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    clock.advance(24 * 60)
    await run_tick(app)
    assert "session_warning" not in student.kinds()
    clock.advance(60 + 1)  # 25 min: 5 minutes left
    await run_tick(app)
    await run_tick(app)  # a second instance's timer must not warn twice
    first = await student.event("session_warning", session_id=sid)
    assert 290 <= first["seconds_left"] <= 300
    clock.advance(4 * 60)  # 29 min
    await run_tick(app)
    await tutor.event("session_warning", session_id=sid, seconds_left=first["seconds_left"] - 240)
    clock.advance(60)
    await run_tick(app)
    ended = await student.event("session_ended", session_id=sid)
    assert ended["reason"] == "time_cap" and ended["duration_s"] == 1801
    assert student.kinds().count("session_warning") == 2
    async with factory.session() as db:
        s = await db.get(TutoringSession, sid)
    assert (s.state, s.end_reason, s.duration_s) == ("ended", "time_cap", 1801)
    assert (await tutor.http.get("/api/duty")).json()["state"] == "available"  # free for the next student


async def test_no_show_ends_a_session_that_never_went_live(matched, app, clock):
    student, tutor, sid, *_ = matched
    await student.send(type="media", session_id=sid, state="connected")
    clock.advance(app.state.settings.session_no_show_s + 1)
    await run_tick(app)
    ended = await tutor.event("session_ended", session_id=sid)
    assert ended == {"session_id": sid, "reason": "no_show", "duration_s": 0}


async def test_a_side_that_does_not_come_back_ends_the_session(matched, app, clock):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await student.drop()
    await tutor.event("peer_connection", session_id=sid, state="lost")
    clock.advance(app.state.settings.session_grace_s - 5)
    await run_tick(app)
    assert "session_ended" not in tutor.kinds()
    clock.advance(10)
    await run_tick(app)
    assert (await tutor.event("session_ended", session_id=sid))["reason"] == "disconnected"


async def test_a_side_that_comes_back_in_time_keeps_the_session(matched, app, clock):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await student.drop()
    # The server has seen the drop (a socket that reconnects before its old one is noticed
    # closing is never lost at all).
    await tutor.event("peer_connection", session_id=sid, state="lost")
    clock.advance(30)
    await student.connect(resume=True)
    await tutor.event("peer_connection", session_id=sid, state="back")
    clock.advance(60)
    await run_tick(app)
    assert "session_ended" not in tutor.kinds()


async def test_hangup_rating_and_points(matched, app, clock, factory):
    student, tutor, sid, student_user, tutor_user = matched
    await live(student, tutor, sid)
    clock.advance(20 * 60)
    await student.send(type="hangup", session_id=sid)
    ended = await tutor.event("session_ended", session_id=sid)
    assert ended["reason"] == "hangup_student" and ended["duration_s"] == 1200
    r = await tutor.http.post(f"/api/sessions/{sid}/rating", json={"rating": 5})
    assert r.status_code == 403  # only the student rates
    r = await student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 5, "comment": "讲得很清楚"})
    assert r.status_code == 200 and r.json()["rating"] == 5
    again = await student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 1})
    assert again.status_code == 409
    async with factory.session() as db:
        entries = (await db.execute(select(PointsEntry))).scalars().all()
    # 20 minutes × 0.1 points per minute × 1.2 for five stars.
    assert [(e.tutor_id, e.source_id, e.points) for e in entries] == [(tutor_user.id, sid, Decimal("2.40"))]
    assert entries[0].district_id == tutor_user.district_id


async def test_rating_before_the_end_is_refused(matched):
    student, tutor, sid, *_ = matched
    r = await student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 4})
    assert r.status_code == 409 and r.json()["error"] == "InvalidState"


async def test_unrated_sessions_are_booked_after_a_day(matched, app, clock, factory):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    clock.advance(10 * 60)
    await tutor.send(type="hangup", session_id=sid)
    await student.event("session_ended", session_id=sid)
    clock.advance(app.state.settings.unrated_booking_after_s + 1)
    await run_tick(app)
    async with factory.session() as db:
        points = (await db.execute(select(PointsEntry.points))).scalars().all()
    assert points == [Decimal("1.00")]


async def test_concurrent_ratings_one_wins_and_the_ledger_books_it(matched, app, clock, factory):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    clock.advance(10 * 60)
    await student.send(type="hangup", session_id=sid)
    await tutor.event("session_ended", session_id=sid)
    answers = await asyncio.gather(*(student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 1 + i % 5})
                                     for i in range(20)))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 19
    stored = next(r.json()["rating"] for r in answers if r.status_code == 200)
    async with factory.session() as db:
        s = await db.get(TutoringSession, sid)
        entries = (await db.execute(select(PointsEntry))).scalars().all()
    assert s.rating == stored
    assert [e.points for e in entries] == [points_for(app.state.settings, 600, stored)]
    assert entries[0].note.startswith(f"rating {stored},")


async def test_a_session_booked_unrated_can_no_longer_be_rated(matched, app, clock, factory):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    clock.advance(10 * 60)
    await tutor.send(type="hangup", session_id=sid)
    await student.event("session_ended", session_id=sid)
    clock.advance(app.state.settings.unrated_booking_after_s + 1)
    await run_tick(app)
    r = await student.http.post(f"/api/sessions/{sid}/rating", json={"rating": 5})
    assert r.status_code == 409 and r.json()["error"] == "InvalidState"
    async with factory.session() as db:
        assert (await db.get(TutoringSession, sid)).rating is None
        assert (await db.execute(select(PointsEntry.points))).scalars().all() == [Decimal("1.00")]


async def test_rest_rule_shortens_the_session_and_then_refuses(matched, app, clock, factory):
    student, tutor, sid, *_ = matched
    app.state.settings.rest_after_s = 40 * 60
    await live(student, tutor, sid)
    first = await student.event("session_live", session_id=sid)
    assert first["cap_s"] == 30 * 60
    clock.advance(30 * 60)
    await run_tick(app)
    await student.event("session_ended", session_id=sid)
    # A new request after 2 minutes' pause continues the run: 10 minutes are left of 40.
    clock.advance(120)
    await (await tutor.http.post("/api/duty")).aread()
    r = await student.http.post("/api/help-requests", json={"subject": "physics", "text": "再问一题"})
    assert r.status_code == 201, r.text
    offer = await tutor.event("offer", request_id=r.json()["id"])
    sid2 = (await tutor.http.post(f"/api/offers/{offer['request_id']}/accept")).json()["session_id"]
    await live(student, tutor, sid2)
    second = await student.event("session_live", session_id=sid2)
    assert second["cap_s"] == 10 * 60  # 40 min run allowed − 30 min already live; the pause is not live time
    clock.advance(second["cap_s"])
    await run_tick(app)
    await student.event("session_ended", session_id=sid2)
    r = await student.http.post("/api/help-requests", json={"subject": "physics", "text": "还有一题"})
    assert r.status_code == 409 and r.json()["error"] == "RestRequired"


async def test_turn_credentials_follow_the_shared_secret_scheme_and_expire(client, factory, app, clock):
    app.state.settings.turn_urls = ["turn:turn.example.org:3478?transport=udp"]
    app.state.settings.stun_urls = ["stun:turn.example.org:3478"]
    app.state.settings.turn_secret = "coturn-static-auth-secret"
    app.state.settings.turn_ttl_s = 600
    org = await factory.org()
    user = await factory.user("student", org)
    body = (await client.get("/api/live/ice-servers", headers=await factory.sign_in(user))).json()
    turn = body["ice_servers"][1]
    expiry, _, who = turn["username"].partition(":")
    assert who == str(user.id) and int(expiry) == int(clock.now()) + 600
    assert credentials_valid("coturn-static-auth-secret", turn["username"], turn["credential"], clock.now() + 599)
    assert not credentials_valid("coturn-static-auth-secret", turn["username"], turn["credential"], clock.now() + 601)
    assert not credentials_valid("another-secret", turn["username"], turn["credential"], clock.now())


async def test_transcripts_are_deleted_after_their_retention(matched, app, clock):
    student, tutor, sid, *_ = matched
    await student.send(type="chat", session_id=sid, text="保留多久？")
    await tutor.event("chat", session_id=sid)
    await run_tick(app)
    assert len((await student.http.get(f"/api/sessions/{sid}/transcript")).json()) == 1
    clock.advance(app.state.settings.transcript_retention_days * 86400 + 3601)
    await run_tick(app)
    assert (await student.http.get(f"/api/sessions/{sid}/transcript")).json() == []


async def test_served_tonight_survives_going_off_and_back_on_duty(matched, app, clock):
    student, tutor, sid, *_ = matched
    await live(student, tutor, sid)
    await student.send(type="hangup", session_id=sid)
    await tutor.event("session_ended", session_id=sid)
    assert (await tutor.http.get("/api/duty")).json()["served_tonight"] == 1
    assert (await tutor.http.delete("/api/duty")).json()["on_duty"] is False
    back = (await tutor.http.post("/api/duty")).json()
    assert (back["on_duty"], back["served_tonight"]) == (True, 1)
