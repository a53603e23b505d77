"""Reports, review and suspension; blocks and reports keep a tutor away from that student."""


async def test_report_review_and_suspension(matched, factory, client):
    student, tutor, sid, student_user, tutor_user = matched
    await tutor.send(type="chat", session_id=sid, text="加我QQ 12345678")
    await student.event("chat", session_id=sid)
    r = await student.http.post(f"/api/sessions/{sid}/report", json={"reason": "老师要我的联系方式"})
    assert r.status_code == 201
    admin = await factory.admin_of(student_user)
    other_admin = await factory.admin_of(tutor_user)  # the tutor's school is another school
    a = await factory.sign_in(admin)
    listed = (await client.get("/api/reports", headers=a)).json()
    assert [(x["session_id"], x["reported_id"]) for x in listed] == [(sid, tutor_user.id)]
    assert (await client.get("/api/reports", headers=await factory.sign_in(other_admin))).json() == []
    transcript = (await client.get(f"/api/sessions/{sid}/transcript", headers=a)).json()
    assert transcript[0]["raw"] == "加我QQ 12345678" and transcript[0]["flagged"]
    r = await client.post(f"/api/reports/{listed[0]['id']}/decision", headers=a,
                          json={"action": "suspend", "note": "索要学生联系方式"})
    assert r.status_code == 200 and r.json()["status"] == "actioned"
    assert (await tutor.http.get("/api/auth/me")).status_code == 401  # signed out everywhere
    again = await tutor.http.post("/api/auth/sign-in", json={"username": tutor_user.username, "password": "password123"})
    assert again.status_code == 403 and again.json()["error"] == "AccountSuspended"


async def test_blocked_or_reported_tutors_are_not_offered(matched, factory, server, clients):
    student, tutor, sid, student_user, tutor_user = matched
    await student.send(type="hangup", session_id=sid)
    await tutor.event("session_ended", session_id=sid)
    assert (await student.http.post(f"/api/sessions/{sid}/report", json={"reason": "态度不好"})).status_code == 201
    r = await student.http.get("/api/matching/tutors", params={"subject": "physics"})
    assert r.json() == []  # the reported tutor is free, yet not offered to this student
    rid = (await student.http.post("/api/help-requests", json={"subject": "physics", "text": "?"})).json()["id"]
    status = (await student.http.get(f"/api/help-requests/{rid}/status")).json()
    assert status["matching"] == "waiting"
    assert "offer" not in [e["kind"] for e in tutor.events if e["data"].get("request_id") == rid]


async def test_a_blocked_tutor_is_not_offered(matched, factory):
    student, tutor, sid, student_user, tutor_user = matched
    await student.send(type="hangup", session_id=sid)
    await tutor.event("session_ended", session_id=sid)
    assert (await student.http.post(f"/api/tutors/{tutor_user.id}/block")).status_code == 204
    assert (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json() == []
    assert (await student.http.delete(f"/api/tutors/{tutor_user.id}/block")).status_code == 204
    listed = (await student.http.get("/api/matching/tutors", params={"subject": "physics"})).json()
    assert [t["id"] for t in listed] == [tutor_user.id]
