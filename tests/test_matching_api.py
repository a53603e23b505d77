"""Matching through the HTTP API, on the embedded and the production setups."""
import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.models import HelpRequest, TutoringSession

from .images import png


async def setup(factory, tutors=1, **tutor_kw):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org, school=1)
    ts = [await factory.tutor(org, **tutor_kw) for _ in range(tutors)]
    return org, student, ts


async def on_duty(client, factory, tutor):  # type: ignore[no-untyped-def]
    auth = await factory.sign_in(tutor)
    r = await client.post("/api/duty", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "available"
    return auth


async def test_request_with_photo_rings_a_tutor_who_accepts(client, factory, app):
    org, student, (tutor,) = await setup(factory, subjects=("physics",))
    t_auth = await on_duty(client, factory, tutor)
    s_auth = await factory.sign_in(student)
    image = (await client.post("/api/images", headers=s_auth, files={"file": ("q.png", png(), "image/png")})).json()
    kp = await factory.knowledge_point("physics", "焦耳定律")
    r = await client.post("/api/help-requests", headers=s_auth, json={
        "subject": "physics", "text": "电热丝的热量怎么算", "knowledge_point_ids": [kp], "image_ids": [image["id"]]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    offers = (await client.get("/api/offers", headers=t_auth)).json()
    assert [o["request_id"] for o in offers] == [rid]
    assert offers[0]["knowledge_points"] == ["焦耳定律"] and offers[0]["grade"] == 8
    assert (await client.get(offers[0]["images"][0], headers=t_auth)).status_code == 200  # ringing tutor sees it
    sink = app.state.matcher.sink
    assert sink.kinds(tutor.id) == ["offer"]

    r = await client.post(f"/api/offers/{rid}/accept", headers=t_auth)
    assert r.status_code == 200, r.text
    session_id = r.json()["session_id"]
    assert sink.last(student.id, "matched").data == {"request_id": rid, "session_id": session_id,
                                                     "tutor_id": tutor.id, "tutor_name": tutor.real_name}
    status = (await client.get(f"/api/help-requests/{rid}/status", headers=s_auth)).json()
    assert status["status"] == "matched" and status["session_id"] == session_id
    assert (await client.get("/api/duty", headers=t_auth)).json()["state"] == "in_session"
    async with factory.session() as db:
        session = await db.get(TutoringSession, session_id)
    assert (session.state, session.student_id, session.tutor_id, session.subject_code) == (
        "matched", student.id, tutor.id, "physics")


async def test_concurrent_accepts_over_http_make_one_session(client, factory, app):
    app.state.matcher.config.fanout = 5
    org, student, tutors = await setup(factory, tutors=5)
    auths = [await on_duty(client, factory, t) for t in tutors]
    rid = (await client.post("/api/help-requests", headers=await factory.sign_in(student),
                             json={"subject": "math", "text": "求解方程"})).json()["id"]
    results = await asyncio.gather(*(client.post(f"/api/offers/{rid}/accept", headers=a) for a in auths))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409, 409]
    assert {r.json()["error"] for r in results if r.status_code == 409} == {"AlreadyTaken"}
    async with factory.session() as db:
        assert (await db.execute(select(func.count()).select_from(TutoringSession))).scalar() == 1


async def test_outside_the_window_the_request_is_refused_and_kept(client, factory, clock):
    org, student, _ = await setup(factory)
    auth = await factory.sign_in(student)
    clock.t = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()  # Saturday morning
    r = await client.post("/api/help-requests", headers=auth, json={"subject": "math", "text": "周末的问题"})
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "OutsideServiceWindow" and body["can_ask_question"] is True
    assert body["next_opening"].startswith("2026-11-30T18:00:00+08:00")
    stored = (await client.get(f"/api/help-requests/{body['request_id']}", headers=auth)).json()
    assert stored["status"] == "refused" and stored["text"] == "周末的问题"
    r = await client.post(f"/api/help-requests/{body['request_id']}/to-question", headers=auth)
    assert r.status_code == 200 and r.json()["wants_question"] is True


async def test_a_tutor_cannot_go_on_duty_outside_the_window(client, factory, clock):
    org, _, (tutor,) = await setup(factory)
    auth = await factory.sign_in(tutor)
    clock.t = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()  # Saturday morning
    r = await client.post("/api/duty", headers=auth)
    assert r.status_code == 409 and r.json()["error"] == "OutsideServiceWindow"
    assert r.json()["next_opening"].startswith("2026-11-30T18:00:00+08:00")
    assert (await client.get("/api/duty", headers=auth)).json()["on_duty"] is False


async def test_a_holiday_in_the_calendar_closes_the_evening(client, factory):
    org, student, _ = await setup(factory)
    city = await factory.sign_in(await factory.user("city_admin", org))
    district = await factory.sign_in(await factory.user("district_admin", org))
    assert (await client.put("/api/calendar/2026-11-25", headers=district, json={"is_service_day": False})).status_code == 403
    r = await client.put("/api/calendar/2026-11-25", headers=city, json={"is_service_day": False, "note": "校历调整"})
    assert r.status_code == 200
    r = await client.post("/api/help-requests", headers=await factory.sign_in(student), json={"subject": "math", "text": "?"})
    assert r.status_code == 409 and r.json()["next_opening"].startswith("2026-11-26T18:00")
    window = (await client.get("/api/service-window", headers=city)).json()
    assert window["open"] is False


async def test_only_fully_approved_tutors_go_on_duty(client, factory):
    org = await factory.org()
    pending = await factory.tutor(org, status="pending_city")
    r = await client.post("/api/duty", headers=await factory.sign_in(pending))
    assert r.status_code == 403 and r.json()["error"] == "NotApproved"


async def test_choosing_a_busy_or_absent_tutor_gets_a_clear_answer(client, factory):
    org, student, (busy, free, absent) = await setup(factory, tutors=3)
    b_auth = await on_duty(client, factory, busy)
    s_auth = await factory.sign_in(student)
    other = await factory.user("student", org)
    rid = (await client.post("/api/help-requests", headers=await factory.sign_in(other),
                             json={"subject": "math", "text": "first", "mode": "chosen", "tutor_id": busy.id})).json()["id"]
    assert (await client.post(f"/api/offers/{rid}/accept", headers=b_auth)).status_code == 200
    await on_duty(client, factory, free)
    r = await client.post("/api/help-requests", headers=s_auth,
                          json={"subject": "math", "text": "?", "mode": "chosen", "tutor_id": busy.id})
    assert r.status_code == 409 and r.json()["error"] == "TutorBusy"
    assert [s["id"] for s in r.json()["suggestions"]] == [free.id]
    r = await client.post("/api/help-requests", headers=s_auth,
                          json={"subject": "math", "text": "?", "mode": "chosen", "tutor_id": absent.id})
    assert r.status_code == 409 and r.json()["error"] == "TutorUnavailable"
    async with factory.session() as db:  # refused choices stored nothing
        assert (await db.execute(select(func.count()).select_from(HelpRequest))).scalar() == 1


async def test_cancel_while_ringing_then_accept_is_gone(client, factory, app):
    org, student, (tutor,) = await setup(factory)
    t_auth = await on_duty(client, factory, tutor)
    s_auth = await factory.sign_in(student)
    rid = (await client.post("/api/help-requests", headers=s_auth, json={"subject": "math", "text": "?"})).json()["id"]
    assert (await client.post(f"/api/help-requests/{rid}/cancel", headers=s_auth)).json()["status"] == "cancelled"
    assert (await client.get("/api/offers", headers=t_auth)).json() == []
    assert app.state.matcher.sink.last(tutor.id, "offer_withdrawn").data["reason"] == "cancelled"
    r = await client.post(f"/api/offers/{rid}/accept", headers=t_auth)
    assert r.status_code == 409 and r.json()["error"] == "RequestGone"


async def test_waiting_student_sees_position_and_estimate(client, factory):
    org, student, _ = await setup(factory, tutors=0)
    others = [await factory.user("student", org) for _ in range(2)]
    for s in others:
        await client.post("/api/help-requests", headers=await factory.sign_in(s), json={"subject": "math", "text": "?"})
    s_auth = await factory.sign_in(student)
    rid = (await client.post("/api/help-requests", headers=s_auth, json={"subject": "math", "text": "?"})).json()["id"]
    status = (await client.get(f"/api/help-requests/{rid}/status", headers=s_auth)).json()
    assert status["matching"] == "waiting" and status["position"] == 3
    assert status["eta_s"] is None  # no tutor on duty and no match seen: no honest estimate
    assert status["arrivals_per_min"] == 0.3


async def test_unanswered_request_expires_in_the_database(client, factory, app, clock):
    org, student, _ = await setup(factory, tutors=0)
    s_auth = await factory.sign_in(student)
    rid = (await client.post("/api/help-requests", headers=s_auth, json={"subject": "math", "text": "?"})).json()["id"]
    clock.advance(app.state.settings.match_max_wait_s + 1)
    await app.state.matcher.tick()
    assert (await client.get(f"/api/help-requests/{rid}", headers=s_auth)).json()["status"] == "expired"


async def test_tutor_list_for_choosing(client, factory):
    org, student, (a, b) = await setup(factory, tutors=2, subjects=("math",))
    await factory.tutor(org, subjects=("english",))
    for t in (a, b):
        await on_duty(client, factory, t)
    r = await client.get("/api/matching/tutors", params={"subject": "math"}, headers=await factory.sign_in(student))
    assert r.status_code == 200
    listed = r.json()
    assert sorted(t["id"] for t in listed) == sorted([a.id, b.id])
    assert listed[0]["school"] and listed[0]["rating"] == 4.0 and listed[0]["sessions_given"] == 0


async def test_heartbeat_keeps_presence_and_silence_ends_it(client, factory, app, clock):
    org, student, (tutor,) = await setup(factory)
    auth = await on_duty(client, factory, tutor)
    clock.advance(30)
    assert (await client.post("/api/duty/heartbeat", headers=auth)).status_code == 200
    clock.advance(46)
    await app.state.matcher.tick()
    r = await client.post("/api/duty/heartbeat", headers=auth)
    assert r.status_code == 409 and r.json()["state"] == "off_duty"
    assert (await client.get("/api/duty", headers=auth)).json()["on_duty"] is False


async def test_student_is_told_at_once_when_nobody_of_the_subject_is_on_duty(client, factory):
    org, student, _ = await setup(factory, tutors=0)
    chinese = await factory.tutor(org, subjects=("chinese",))  # on duty
    physics = await factory.tutor(org, subjects=("physics",))  # off duty, for now
    await on_duty(client, factory, chinese)
    s_auth = await factory.sign_in(student)
    r = await client.post("/api/help-requests", headers=s_auth, json={"subject": "physics", "text": "电功率怎么算"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    status = (await client.get(f"/api/help-requests/{rid}/status", headers=s_auth)).json()
    assert status["matching"] == "waiting"
    assert status["tutors_on_duty"] == 0 and status["eta_s"] is None  # no estimate that cannot come true

    r = await client.post("/api/duty", headers=await factory.sign_in(physics))  # a 物理 tutor arrives …
    assert r.json()["state"] == "offered"  # … and is rung at once
    status = (await client.get(f"/api/help-requests/{rid}/status", headers=s_auth)).json()
    assert status["matching"] == "ringing"
