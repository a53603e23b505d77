"""The Q&A centre through its API, on both setups: the whole flow, the statistics it moves, and
every access it must refuse."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.models import PointsEntry, Question
from app.qa import moderation
from app.live.service import ts

from .images import png

PERIOD = {"from": "2026-11-23", "to": "2026-11-30"}  # the week of the tests' evening (see tests/infra.py)


async def photo(client, auth, colour: str = "red") -> str:  # type: ignore[no-untyped-def]
    r = await client.post("/api/images", headers=auth, files={"file": ("p.png", png(colour=colour), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def people(factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org)
    tutor = await factory.tutor(org, school=1, subjects=("physics",))
    return org, student, tutor


async def test_ask_answer_follow_up_accept_and_the_records_it_moves(client, factory, app):
    org, student, tutor = await people(factory)
    other_tutor = await factory.tutor(org, school=2, subjects=("physics",))
    s, t, t2 = [await factory.sign_in(u) for u in (student, tutor, other_tutor)]
    admin = await factory.sign_in(await factory.user("city_admin", org))
    kp = await factory.knowledge_point("physics")
    before = (await client.get("/api/stats/participation", headers=admin, params=PERIOD)).json()["rows"]
    school_before = next(r for r in before if r["school_id"] == org.schools[0].id)

    r = await client.post("/api/qa/questions", headers=s, json={
        "subject": "physics", "text": "焦耳定律的公式怎么用？我的电话13800138000", "knowledge_point_ids": [kp],
        "image_ids": [await photo(client, s)]})
    assert r.status_code == 201, r.text
    q = r.json()
    assert "13800138000" not in q["text"] and q["flagged"] is True and q["mine"] is True
    assert q["status"] == "open" and q["knowledge_point_ids"] == [kp] and len(q["images"]) == 1

    # The tutor's feed: the question, filterable by knowledge point; its photo readable.
    feed = (await client.get("/api/qa/feed", headers=t)).json()
    assert [x["id"] for x in feed] == [q["id"]] and feed[0]["mine"] is False and feed[0]["grade"] == 8
    assert feed[0]["knowledge_point_ids"] == [kp] and feed[0]["images"] == q["images"]  # read with the list, drawn the same
    found = (await client.get("/api/qa/search", headers=t, params={"q": "焦耳定律"})).json()["results"]
    assert [(x["id"], x["knowledge_point_ids"], x["images"], x["grade"]) for x in found] == [(q["id"], [kp], q["images"], 8)]
    assert (await client.get("/api/qa/feed", headers=t, params={"knowledge_point_id": kp})).json()[0]["id"] == q["id"]
    other_kp = await factory.knowledge_point("math")
    assert (await client.get("/api/qa/feed", headers=t, params={"knowledge_point_id": other_kp})).json() == []
    assert (await client.get(q["images"][0]["url"], headers=t)).headers["content-type"] == "image/png"

    # "I'm answering": the other tutor sees it taken and cannot take it.
    assert (await client.post(f"/api/qa/questions/{q['id']}/claim", headers=t)).json()["claimed_by"] == tutor.id
    assert (await client.get("/api/qa/feed", headers=t2)).json()[0]["claimed_by"] == tutor.id
    r = await client.post(f"/api/qa/questions/{q['id']}/claim", headers=t2)
    assert r.status_code == 409 and r.json()["error"] == "AlreadyClaimed"

    r = await client.post(f"/api/qa/questions/{q['id']}/answers", headers=t,
                          json={"text": "Q=I²Rt，先算电流。加我微信 wx: abc12345", "image_ids": [await photo(client, t, "blue")]})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert "abc12345" not in answer["text"] and len(answer["images"]) == 1
    assert (await client.post(f"/api/qa/questions/{q['id']}/answers", headers=t, json={"text": "再答一次"})).status_code == 409
    r = await client.put(f"/api/qa/answers/{answer['id']}", headers=t,
                         json={"text": "Q=I²Rt：先算电流，再代入。", "image_ids": [answer["images"][0]["id"]]})
    assert r.status_code == 200 and r.json()["text"] == "Q=I²Rt：先算电流，再代入。" and r.json()["updated_at"]

    notes = (await client.get("/api/qa/notifications", headers=s)).json()
    assert notes["unread"] == 1 and notes["items"][0]["kind"] == "qa_answer"
    assert [e.kind for e in await app.state.events.read(student.id, 0)] == ["qa_answer"]

    r = await client.post(f"/api/qa/answers/{answer['id']}/replies", headers=s, json={"text": "电流怎么算？"})
    assert r.status_code == 201 and r.json()["role"] == "student"
    r = await client.post(f"/api/qa/answers/{answer['id']}/replies", headers=t, json={"text": "I=P/U。"})
    assert r.status_code == 201 and r.json()["role"] == "tutor"
    seen = (await client.get(f"/api/qa/questions/{q['id']}", headers=s)).json()
    assert [x["text"] for x in seen["answers"][0]["replies"]] == ["电流怎么算？", "I=P/U。"]
    assert (await client.get("/api/qa/notifications", headers=s)).json()["unread"] == 2
    assert (await client.post("/api/qa/notifications/read", headers=s, json={})).json()["unread"] == 0

    r = await client.post(f"/api/qa/answers/{answer['id']}/accept", headers=s, json={"rating": 5})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["answers"][0]["accepted"] is True
    assert r.json()["answers"][0]["rating"] == 5
    assert (await client.post(f"/api/qa/answers/{answer['id']}/accept", headers=s, json={})).status_code == 409
    assert (await client.put(f"/api/qa/answers/{answer['id']}", headers=t, json={"text": "改"})).status_code == 409
    assert (await client.get("/api/qa/feed", headers=t)).json() == []

    # Points: exactly one entry, at the Q&A rate × the rating's factor.
    async with factory.session() as db:
        entries = (await db.execute(select(PointsEntry).where(PointsEntry.tutor_id == tutor.id))).scalars().all()
    settings = app.state.settings
    assert [(e.source_kind, e.source_id) for e in entries] == [("answer", answer["id"])]
    assert float(entries[0].points) == round(settings.qa_points_per_answer * settings.points_rating_factors[4], 2)
    archive = (await client.get("/api/stats/archive", headers=t, params=PERIOD)).json()["rows"]
    assert [(row["kind"], row["id"], float(row["points"])) for row in archive] == [("答疑", answer["id"], float(entries[0].points))]
    workload = (await client.get("/api/stats/tutors/me", headers=t, params=PERIOD)).json()
    assert workload["answers"] == 1
    after = (await client.get("/api/stats/participation", headers=admin, params=PERIOD)).json()["rows"]
    school_after = next(r for r in after if r["school_id"] == org.schools[0].id)
    assert school_after["questions"] == school_before["questions"] + 1
    assert school_after["question_students"] == school_before["question_students"] + 1
    school_admin = await factory.sign_in(await factory.admin_of(student))
    weekly = (await client.get("/api/stats/classes/weekly", headers=school_admin, params=PERIOD)).json()["rows"]
    assert sum(row["questions"] for row in weekly) == 1
    tutor_notes = (await client.get("/api/qa/notifications", headers=t)).json()
    assert [n["kind"] for n in tutor_notes["items"]] == ["qa_accepted", "qa_reply"]


async def test_every_forbidden_access_is_refused(client, factory):
    org, student, tutor = await people(factory)
    classmate = await factory.user("student", org)
    math_tutor = await factory.tutor(org, subjects=("math",))
    senior_tutor = await factory.tutor(org, subjects=("physics",), junior=False, senior=True)
    pending = await factory.tutor(org, subjects=("physics",), status="pending_school")
    s, c, t, m, sr, p = [await factory.sign_in(u) for u in (student, classmate, tutor, math_tutor, senior_tutor, pending)]
    far_admin = await factory.sign_in(await factory.user("school_admin", org, school=3))
    near_admin = await factory.sign_in(await factory.admin_of(student))
    q = (await client.post("/api/qa/questions", headers=s, json={"subject": "physics", "text": "浮力怎么算"})).json()
    url = f"/api/qa/questions/{q['id']}"

    assert (await client.post("/api/qa/questions", headers=t, json={"subject": "physics", "text": "x"})).status_code == 403
    for who in (m, sr):  # outside their subjects / grade bands
        r = await client.post(f"{url}/answers", headers=who, json={"text": "答"})
        assert r.status_code == 403 and r.json()["error"] == "NotYourSubject"
        assert (await client.post(f"{url}/claim", headers=who)).status_code == 403
    assert (await client.get("/api/qa/feed", headers=m)).json() == []
    assert (await client.post(f"{url}/answers", headers=p, json={"text": "答"})).json()["error"] == "NotApproved"
    assert (await client.post(f"{url}/answers", headers=c, json={"text": "答"})).status_code == 403  # a student
    foreign_photo = await photo(client, c)
    r = await client.post(f"{url}/answers", headers=t, json={"text": "答", "image_ids": [foreign_photo]})
    assert r.status_code == 422  # someone else's upload
    answer = (await client.post(f"{url}/answers", headers=t, json={"text": "用阿基米德原理"})).json()
    a_url = f"/api/qa/answers/{answer['id']}"
    assert (await client.post(f"{a_url}/accept", headers=c, json={})).status_code == 403  # someone else's question
    assert (await client.post(f"{a_url}/accept", headers=t, json={})).status_code == 403
    assert (await client.post(f"{url}/close", headers=c)).status_code == 403
    assert (await client.post(f"{a_url}/replies", headers=c, json={"text": "我也想问"})).status_code == 403
    assert (await client.post(f"{a_url}/replies", headers=m, json={"text": "补充"})).status_code == 403
    assert (await client.put(a_url, headers=m, json={"text": "改"})).status_code == 403
    assert (await client.post(f"{a_url}/rate", headers=s, json={"rating": 4})).status_code == 409  # not accepted yet

    # Hidden: the asker still reads it (with the reason), another student does not, nor its photos.
    assert (await client.post(f"{url}/hide", headers=far_admin, json={"reason": "不当内容"})).status_code == 403
    assert (await client.post(f"{url}/hide", headers=s, json={"reason": "不当内容"})).status_code == 403
    r = await client.post(f"{url}/hide", headers=near_admin, json={"reason": "含有不当内容"})
    assert r.status_code == 200 and r.json()["hidden"] is True
    assert (await client.get(url, headers=s)).json()["hidden_reason"] == "含有不当内容"
    assert (await client.get(url, headers=c)).status_code == 403
    assert (await client.get(url, headers=far_admin)).status_code == 403
    assert (await client.get("/api/qa/search", headers=c, params={"q": "浮力"})).json()["results"] == []
    assert [x["id"] for x in (await client.get("/api/qa/search", headers=s, params={"q": "浮力"})).json()["results"]] == [q["id"]]
    assert (await client.get("/api/qa/feed", headers=t)).json() == []
    assert (await client.post(f"{a_url}/replies", headers=s, json={"text": "还在吗"})).status_code == 409
    for path in ("/api/reports", "/api/qa/backlog"):
        assert (await client.get(path, headers=s)).status_code == 403
    assert (await client.get("/api/qa/feed", headers=s)).status_code == 403


async def test_a_request_nobody_took_becomes_a_question_the_student_sees(client, factory, clock):
    org, student, tutor = await people(factory)
    s = await factory.sign_in(student)
    kp = await factory.knowledge_point("physics")
    clock.t = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()  # Saturday: closed
    pic = await photo(client, s)
    r = await client.post("/api/help-requests", headers=s, json={"subject": "physics", "text": "电功率怎么算",
                                                                 "knowledge_point_ids": [kp], "image_ids": [pic]})
    assert r.status_code == 409 and r.json()["error"] == "OutsideServiceWindow"
    r = await client.post(f"/api/help-requests/{r.json()['request_id']}/to-question", headers=s)
    assert r.status_code == 200, r.text
    req = r.json()
    assert req["status"] == "converted" and req["question_id"]
    mine = (await client.get("/api/qa/questions/mine", headers=s)).json()
    assert [(x["id"], x["text"], x["knowledge_point_ids"], x["source_request_id"]) for x in mine] == \
        [(req["question_id"], "电功率怎么算", [kp], req["id"])]
    assert [i["id"] for i in mine[0]["images"]] == [pic]
    # Again: the same question, not a second one.
    again = await client.post(f"/api/help-requests/{req['id']}/to-question", headers=s)
    assert again.json()["question_id"] == req["question_id"]
    # Asking with fallback_to_question keeps it as a question at once.
    r = await client.post("/api/help-requests", headers=s, json={"subject": "physics", "text": "串联电路的电压",
                                                                 "fallback_to_question": True})
    assert r.status_code == 409
    assert len((await client.get("/api/qa/questions/mine", headers=s)).json()) == 2
    t = await factory.sign_in(tutor)
    assert len((await client.get("/api/qa/feed", headers=t)).json()) == 2


async def test_chinese_search_and_similar_answered_questions(client, factory):
    org, student, tutor = await people(factory)
    s, t = await factory.sign_in(student), await factory.sign_in(tutor)
    kp = await factory.knowledge_point("physics")
    texts = ["串联电路中电流处处相等吗", "并联电路的总电阻怎么求", "凸透镜成像的规律是什么"]
    ids = []
    for i, text in enumerate(texts):
        body = {"subject": "physics", "text": text, "knowledge_point_ids": [kp] if i == 1 else []}
        ids.append((await client.post("/api/qa/questions", headers=s, json=body)).json()["id"])
    await client.post(f"/api/qa/questions/{ids[1]}/answers", headers=t, json={"text": "倒数之和等于总电阻的倒数"})

    async def found(q: str, **extra: str) -> list[int]:
        r = await client.get("/api/qa/search", headers=t, params={"q": q, **extra})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    assert await found("电路") == [ids[1], ids[0]]
    assert await found("电流 相等") == [ids[0]]
    assert await found("透镜成像") == [ids[2]]
    assert await found("倒数") == [ids[1]]  # an answer's words find its question
    assert await found("电路", subject="math") == []
    assert await found("电磁铁") == []
    r = await client.get("/api/qa/search", headers=t, params={"q": "？！"})
    assert r.status_code == 422

    similar = (await client.get("/api/qa/questions/similar", headers=s, params={
        "subject": "physics", "text": "并联电路电阻的求法", "knowledge_point_ids": [kp]})).json()
    assert [x["id"] for x in similar] == [ids[1]]  # only answered ones
    assert similar[0]["answers"][0]["text"] == "倒数之和等于总电阻的倒数"


async def test_escalation_reports_and_moderation(client, factory, app, clock):
    org, student, tutor = await people(factory)
    s, t = await factory.sign_in(student), await factory.sign_in(tutor)
    admin = await factory.sign_in(await factory.admin_of(student))
    q = (await client.post("/api/qa/questions", headers=s, json={"subject": "physics", "text": "没人回答的问题"})).json()

    async def escalate() -> int:
        async with factory.session() as db:
            n = await moderation.escalate(db, app.state.settings, ts(clock.now()), app.state.events)
            after = db.info.pop("after_commit", [])
            await db.commit()
        for callback in after:
            await callback()
        return n

    assert await escalate() == 0 and (await client.get("/api/qa/backlog", headers=admin)).json() == []
    clock.advance(app.state.settings.qa_escalate_after_s + 1)
    assert await escalate() == 1 and await escalate() == 0
    assert [x["id"] for x in (await client.get("/api/qa/backlog", headers=admin)).json()] == [q["id"]]
    assert [e.kind for e in await app.state.events.read(tutor.id, 0)] == ["qa_escalated"]
    assert (await client.get("/api/qa/notifications", headers=t)).json()["unread"] == 1

    answer = (await client.post(f"/api/qa/questions/{q['id']}/answers", headers=t, json={"text": "加QQ 12345678 详聊"})).json()
    assert (await client.get("/api/qa/backlog", headers=admin)).json() == []
    r = await client.post(f"/api/qa/questions/{q['id']}/reports", headers=s, json={"reason": "老师要我加QQ", "answer_id": answer["id"]})
    assert r.status_code == 201
    reports = (await client.get("/api/reports", headers=admin)).json()
    assert [(x["kind"], x["id"], x["answer_id"]) for x in reports] == [("qa", r.json()["id"], answer["id"])]
    assert "12345678" in reports[0]["excerpt"]  # admins review the text as typed
    far = await factory.sign_in(await factory.user("school_admin", org, school=3))
    assert (await client.get("/api/reports", headers=far)).json() == []
    assert (await client.post(f"/api/reports/qa/{reports[0]['id']}/decision", headers=far,
                              json={"action": "suspend", "note": "越权"})).status_code == 403
    r = await client.post(f"/api/reports/qa/{reports[0]['id']}/decision", headers=admin,
                          json={"action": "suspend", "note": "索要联系方式"})
    assert r.status_code == 200 and r.json()["status"] == "actioned"
    seen = (await client.get(f"/api/qa/questions/{q['id']}", headers=s)).json()
    assert seen["answers"] == []  # hidden from the student
    assert (await client.get("/api/qa/feed", headers=t)).status_code in (401, 403)  # the tutor is suspended
    async with factory.session() as db:
        assert (await db.execute(select(func.count()).select_from(Question))).scalar() == 1


async def test_tutors_on_duty_hear_of_a_new_question_and_claims_expire(client, factory, app, clock):
    org, student, tutor = await people(factory)
    idle = await factory.tutor(org, school=2, subjects=("physics",))  # not on duty: not told at once
    maths = await factory.tutor(org, school=3, subjects=("math",))
    s, t, i, m = [await factory.sign_in(u) for u in (student, tutor, idle, maths)]
    for auth in (t, m):
        assert (await client.post("/api/duty", headers=auth)).status_code == 200
    q = (await client.post("/api/qa/questions", headers=s, json={"subject": "physics", "text": "电磁感应的条件"})).json()
    assert [e.kind for e in await app.state.events.read(tutor.id, 0) if e.kind.startswith("qa_")] == ["qa_question"]
    assert [e.data["question_id"] for e in await app.state.events.read(tutor.id, 0) if e.kind == "qa_question"] == [q["id"]]
    assert (await client.get("/api/qa/notifications", headers=t)).json()["unread"] == 1
    assert (await client.get("/api/qa/notifications", headers=m)).json()["unread"] == 0
    assert (await client.get("/api/qa/notifications", headers=i)).json()["unread"] == 0

    assert (await client.post(f"/api/qa/questions/{q['id']}/claim", headers=t)).status_code == 200
    assert (await client.post(f"/api/qa/questions/{q['id']}/claim", headers=i)).status_code == 409
    clock.advance(app.state.settings.qa_claim_s + 1)  # the claim has run out
    assert (await client.get("/api/qa/feed", headers=i)).json()[0]["claimed_by"] is None
    assert (await client.post(f"/api/qa/questions/{q['id']}/claim", headers=i)).json()["claimed_by"] == idle.id
