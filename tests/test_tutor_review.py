"""The three-level review of a tutor's application: school → district → city."""
from sqlalchemy import select

from app.models import TutorReview


def application(school_code: str, **over):  # type: ignore[no-untyped-def]
    body = {"password": "long-password", "real_name": "李老师", "school_code": school_code,
            "title": "intermediate", "subjects": ["physics"], "grade_bands": ["junior"], "fields": "电学"}
    body.update(over)
    return body


async def test_three_levels_with_rejection_and_resubmission(client, factory):
    org = await factory.org()
    school_admin = await factory.sign_in(await factory.user("school_admin", org))
    district_admin = await factory.sign_in(await factory.user("district_admin", org))
    city_admin = await factory.sign_in(await factory.user("city_admin", org))
    kp = await factory.knowledge_point("physics", "电功率")

    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code, expertise=[kp]))
    assert r.status_code == 201, r.text
    tutor_id = r.json()["tutor_id"]
    assert r.json()["status"] == "pending_school" and r.json()["expertise"] == [kp]
    tutor = {"Authorization": "Bearer " + (await client.post("/api/auth/sign-in", json={
        "username": r.json()["username"], "password": "long-password"})).json()["access_token"]}

    # Out of order: the district cannot decide before the school.
    r = await client.post(f"/api/tutors/applications/{tutor_id}/approve", headers=district_admin)
    assert r.status_code == 409 and r.json()["error"] == "InvalidState"
    queue = (await client.get("/api/tutors/applications", headers=school_admin)).json()
    assert [a["tutor_id"] for a in queue] == [tutor_id]

    r = await client.post(f"/api/tutors/applications/{tutor_id}/approve", headers=school_admin)
    assert r.json()["status"] == "pending_district"
    r = await client.post(f"/api/tutors/applications/{tutor_id}/reject", headers=district_admin,
                          json={"reason": "职称证明不清晰"})
    assert r.json()["status"] == "rejected"
    mine = (await client.get("/api/tutors/me/application", headers=tutor)).json()
    assert mine["rejected_level"] == "district" and mine["rejected_reason"] == "职称证明不清晰"

    # Amend and resubmit: the review starts again at the school.
    r = await client.put("/api/tutors/me/application", headers=tutor, json={
        "title": "senior", "subjects": ["physics", "math"], "grade_bands": ["junior", "senior"], "expertise": [kp]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending_school" and r.json()["title"] == "senior"
    for admin, expected in ((school_admin, "pending_district"), (district_admin, "pending_city"), (city_admin, "approved")):
        r = await client.post(f"/api/tutors/applications/{tutor_id}/approve", headers=admin)
        assert r.json()["status"] == expected
    final = (await client.get("/api/tutors/me/application", headers=tutor)).json()
    assert final["approved_at"] is not None
    assert [(h["action"], h["level"]) for h in final["history"]] == [
        ("submitted", None), ("approved", "school"), ("rejected", "district"), ("resubmitted", None),
        ("approved", "school"), ("approved", "district"), ("approved", "city")]
    # An approved application cannot be silently amended back into review.
    r = await client.put("/api/tutors/me/application", headers=tutor, json={
        "title": "senior", "subjects": ["physics"], "grade_bands": ["junior"]})
    assert r.status_code == 409


async def test_rejection_needs_a_reason(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    tutor_id = (await client.post("/api/tutors/applications", json=application(org.schools[0].code))).json()["tutor_id"]
    r = await client.post(f"/api/tutors/applications/{tutor_id}/reject", headers=admin, json={})
    assert r.status_code == 422
    async with factory.session() as db:
        actions = (await db.execute(select(TutorReview.action).where(TutorReview.tutor_id == tutor_id))).scalars().all()
    assert actions == ["submitted"]


async def test_application_input_is_checked(client, factory):
    org = await factory.org()
    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code, title="junior"))
    assert r.status_code == 422 and "中级" in r.json()["detail"]
    r = await client.post("/api/tutors/applications", json=application("NOPE"))
    assert r.status_code == 422 and r.json()["field"] == "school_code"
    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code, subjects=["alchemy"]))
    assert r.status_code == 422 and "alchemy" in r.json()["detail"]
    math_kp = await factory.knowledge_point("math")
    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code, expertise=[math_kp]))
    assert r.status_code == 422 and r.json()["field"] == "knowledge_point_ids"
    first = await client.post("/api/tutors/applications", json=application(org.schools[0].code))
    second = await client.post("/api/tutors/applications", json=application(org.schools[0].code))
    assert first.status_code == second.status_code == 201  # each applicant gets a username of their own
    assert first.json()["username"] != second.json()["username"]


async def test_an_approved_tutor_edits_the_profile_students_read_without_a_new_review(client, factory):
    org = await factory.org()
    tutor = await factory.tutor(org, subjects=("physics",))
    auth = await factory.sign_in(tutor)
    kp = await factory.knowledge_point("physics", "电功率")
    other = await factory.knowledge_point("math", "二次函数")
    r = await client.put("/api/tutors/me/profile", headers=auth,
                         json={"fields": "电学", "bio": "教初中物理十年，微信 abc123456", "expertise": [kp]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "approved" and body["fields"] == "电学" and body["expertise"] == [kp]
    assert "abc123456" not in body["bio"] and "教初中物理十年" in body["bio"]  # students read it: masked
    r = await client.put("/api/tutors/me/profile", headers=auth, json={"expertise": [other]})  # not their subject
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    assert (await client.get("/api/tutors/me/application", headers=auth)).json()["expertise"] == [kp]  # nothing lost
