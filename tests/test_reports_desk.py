"""The admins' one list of reports (`/api/reports`): reported sessions and reported Q&A items side
by side, each scoped by the student concerned, with dismiss, hide/restore and suspend — on both
setups."""
from __future__ import annotations

from datetime import timedelta

from app.models import HelpRequest, TutoringSession
from app.models.base import utcnow


async def ended_session(factory, student, tutor) -> int:  # type: ignore[no-untyped-def]
    live = utcnow() - timedelta(hours=1)
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="physics", text="电路", status="matched", closed_at=live)
        db.add(req)
        await db.flush()
        s = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="physics", state="ended",
                            matched_at=live, live_at=live, ended_at=live + timedelta(minutes=10), duration_s=600,
                            end_reason="hangup_student")
        db.add(s)
        await db.commit()
        return s.id


async def desk(factory, client, clock):  # type: ignore[no-untyped-def]
    """A student who reported a session and, in the Q&A centre, an answer and a question."""
    org = await factory.org()
    student = await factory.user("student", org)
    other = await factory.user("student", org, school=1)
    tutor = await factory.tutor(org, school=1, subjects=("physics",))
    s, o, t = [await factory.sign_in(u) for u in (student, other, tutor)]
    sid = await ended_session(factory, student, tutor)
    assert (await client.post(f"/api/sessions/{sid}/report", headers=s, json={"reason": "老师态度不好"})).status_code == 201
    clock.advance(60)  # the list is oldest first, both kinds by the service clock
    q = (await client.post("/api/qa/questions", headers=s, json={"subject": "physics", "text": "电阻怎么算"})).json()
    answer = (await client.post(f"/api/qa/questions/{q['id']}/answers", headers=t, json={"text": "加微信 wx: abc12345 细说"})).json()
    r = await client.post(f"/api/qa/questions/{q['id']}/reports", headers=s, json={"reason": "要我加微信", "answer_id": answer["id"]})
    assert r.status_code == 201
    assert "abc12345" not in r.json()["excerpt"]  # the reporter (a minor) gets the masked text back
    # Another student's question, reported by a third party: in the other school's scope only.
    clock.advance(60)
    q2 = (await client.post("/api/qa/questions", headers=o, json={"subject": "physics", "text": "广告 广告"})).json()
    assert (await client.post(f"/api/qa/questions/{q2['id']}/reports", headers=s, json={"reason": "广告"})).status_code == 201
    return org, student, other, tutor, sid, q, answer, q2


async def test_one_list_of_both_kinds_scoped_by_the_student_concerned(client, factory, clock):
    org, student, other, tutor, sid, q, answer, q2 = await desk(factory, client, clock)
    admin = await factory.sign_in(await factory.admin_of(student))
    listed = (await client.get("/api/reports", headers=admin)).json()
    assert [(x["kind"], x["target"], x["session_id"], x["question_id"], x["answer_id"], x["reported_id"]) for x in listed] == [
        ("session", "session", sid, None, None, tutor.id), ("qa", "answer", None, q["id"], answer["id"], tutor.id)]
    assert listed[0]["actions"] == ["dismiss", "suspend"] and listed[1]["actions"] == ["dismiss", "hide", "suspend"]
    assert "abc12345" in listed[1]["excerpt"] and listed[1]["hidden"] is False  # admins review the text as typed
    assert [x["kind"] for x in (await client.get("/api/reports", headers=admin, params={"kind": "qa"})).json()] == ["qa"]
    assert [x["kind"] for x in (await client.get("/api/reports", headers=admin, params={"kind": "session"})).json()] == ["session"]
    assert (await client.get("/api/reports", headers=admin, params={"kind": "chat"})).status_code == 422
    # The other student's school admin sees only the report on that student's question.
    theirs = await factory.sign_in(await factory.admin_of(other))
    assert [(x["kind"], x["target"], x["question_id"]) for x in (await client.get("/api/reports", headers=theirs)).json()] == [
        ("qa", "question", q2["id"])]
    # The city admin sees all three; students and tutors see none.
    city = await factory.sign_in(await factory.user("city_admin", org))
    assert len((await client.get("/api/reports", headers=city)).json()) == 3
    for auth in (await factory.sign_in(student), await factory.sign_in(tutor)):
        assert (await client.get("/api/reports", headers=auth)).status_code == 403
    # Deciding outside one's scope is refused for both kinds, and changes nothing.
    for kind, rid in (("session", listed[0]["id"]), ("qa", listed[1]["id"])):
        r = await client.post(f"/api/reports/{kind}/{rid}/decision", headers=theirs, json={"action": "dismiss", "note": "越权"})
        assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    assert [x["status"] for x in (await client.get("/api/reports", headers=admin)).json()] == ["open", "open"]
    assert (await client.get("/api/qa/reports", headers=admin)).status_code == 404  # one list, not two


async def test_hide_restore_dismiss_and_suspend(client, factory, clock):
    org, student, other, tutor, sid, q, answer, q2 = await desk(factory, client, clock)
    admin = await factory.sign_in(await factory.admin_of(student))
    s, o = await factory.sign_in(student), await factory.sign_in(other)
    session_report, qa_report = (await client.get("/api/reports", headers=admin)).json()

    def decide(kind: str, rid: int, action: str, note: str = "已核实"):  # type: ignore[no-untyped-def]
        return client.post(f"/api/reports/{kind}/{rid}/decision", headers=admin, json={"action": action, "note": note})

    # Each kind takes its own actions; a note is required.
    r = await decide("session", session_report["id"], "hide")
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    assert (await decide("qa", qa_report["id"], "hide", note="x")).status_code == 422
    assert (await decide("qa", qa_report["id"], "restore")).status_code == 409  # nothing hidden yet

    # Hide the reported answer: other students no longer see it; the report moves to actioned.
    r = await decide("qa", qa_report["id"], "hide", "含联系方式")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["hidden"], r.json()["actions"]) == ("actioned", True, ["restore"])
    assert (await client.get(f"/api/qa/questions/{q['id']}", headers=o)).json()["answers"] == []
    assert [x["id"] for x in (await client.get("/api/reports", headers=admin, params={"status": "actioned"})).json()] == [qa_report["id"]]
    assert (await decide("qa", qa_report["id"], "dismiss")).status_code == 409  # decided already

    # Restore it: shown again, and the report counts as dismissed.
    r = await decide("qa", qa_report["id"], "restore", "误判，恢复")
    assert r.status_code == 200 and (r.json()["status"], r.json()["hidden"], r.json()["actions"]) == ("dismissed", False, [])
    assert [a["id"] for a in (await client.get(f"/api/qa/questions/{q['id']}", headers=o)).json()["answers"]] == [answer["id"]]
    assert (await decide("qa", qa_report["id"], "restore")).status_code == 409

    # The session report is dismissed through the path it always had; the tutor keeps working.
    r = await client.post(f"/api/reports/{session_report['id']}/decision", headers=admin, json={"action": "dismiss", "note": "无不当"})
    assert r.status_code == 200 and r.json()["kind"] == "session" and r.json()["status"] == "dismissed"
    assert (await client.get("/api/reports", headers=admin)).json() == []
    assert (await client.get("/api/auth/me", headers=await factory.sign_in(tutor))).status_code == 200

    # A new Q&A report, decided by suspension: the answer hidden, its author suspended and signed out.
    t = await factory.sign_in(tutor)
    again = await client.post(f"/api/qa/questions/{q['id']}/reports", headers=s, json={"reason": "又要微信", "answer_id": answer["id"]})
    r = await decide("qa", again.json()["id"], "suspend", "索要联系方式")
    assert r.status_code == 200 and (r.json()["status"], r.json()["hidden"]) == ("actioned", True)
    assert (await client.get("/api/auth/me", headers=t)).status_code == 401
    assert (await client.get(f"/api/qa/questions/{q['id']}", headers=o)).json()["answers"] == []
    assert (await decide("qa", 10**9, "dismiss")).status_code == 404
    assert (await decide("session", 10**9, "dismiss")).status_code == 404
