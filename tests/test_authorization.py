"""Every authorisation boundary: a test per forbidden access."""
from .images import png


async def _request(client, auth):  # type: ignore[no-untyped-def]
    r = await client.post("/api/help-requests", headers=auth, json={"subject": "math", "text": "一元二次方程"})
    assert r.status_code == 201
    return r.json()["id"]


async def test_student_cannot_read_anothers_request(client, factory):
    org = await factory.org()
    alice = await factory.sign_in(await factory.user("student", org))
    bob = await factory.sign_in(await factory.user("student", org))
    rid = await _request(client, alice)
    r = await client.get(f"/api/help-requests/{rid}", headers=bob)
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    assert (await client.get("/api/help-requests", headers=bob)).json() == []


async def test_student_cannot_cancel_anothers_request(client, factory):
    org = await factory.org()
    alice = await factory.sign_in(await factory.user("student", org))
    bob = await factory.sign_in(await factory.user("student", org))
    rid = await _request(client, alice)
    assert (await client.post(f"/api/help-requests/{rid}/cancel", headers=bob)).status_code == 403
    assert (await client.get(f"/api/help-requests/{rid}", headers=alice)).json()["status"] == "open"


async def test_student_cannot_see_anothers_image(client, factory):
    org = await factory.org()
    alice = await factory.sign_in(await factory.user("student", org))
    bob = await factory.sign_in(await factory.user("student", org))
    url = (await client.post("/api/images", headers=alice, files={"file": ("a.png", png(), "image/png")})).json()["url"]
    assert (await client.get(url, headers=bob)).status_code == 403


async def test_tutor_cannot_file_help_requests(client, factory):
    org = await factory.org()
    tutor = await factory.sign_in(await factory.tutor(org))
    r = await client.post("/api/help-requests", headers=tutor, json={"subject": "math", "text": "?"})
    assert r.status_code == 403


async def test_student_cannot_use_admin_endpoints(client, factory):
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    assert (await client.get("/api/schools", headers=student)).status_code == 403
    assert (await client.get("/api/tutors/applications", headers=student)).status_code == 403
    r = await client.post("/api/rosters/classes", headers=student, files={"file": ("c.csv", b"school_code,grade,name\n", "text/csv")})
    assert r.status_code == 403


async def test_school_admin_sees_only_their_school(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    schools = (await client.get("/api/schools", headers=admin)).json()
    assert [s["id"] for s in schools] == [org.schools[0].id]
    assert (await client.get(f"/api/schools/{org.schools[0].id}/classes", headers=admin)).status_code == 200
    r = await client.get(f"/api/schools/{org.schools[1].id}/classes", headers=admin)
    assert r.status_code == 403


async def test_school_admin_cannot_review_another_schools_tutor(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    other = await factory.tutor(org, school=1, status="pending_school")
    assert (await client.post(f"/api/tutors/applications/{other.id}/approve", headers=admin)).status_code == 403
    assert (await client.get(f"/api/tutors/applications/{other.id}", headers=admin)).status_code == 403
    assert (await client.get("/api/tutors/applications", headers=admin)).json() == []


async def test_school_admin_cannot_import_into_another_school(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    csv = f"school_code,grade,name\n{org.schools[1].code},8,2班\n".encode()
    r = await client.post("/api/rosters/classes", headers=admin, files={"file": ("c.csv", csv, "text/csv")})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"line": 2, "column": "school_code", "error": f"school {org.schools[1].code!r} is outside your scope"}]


async def test_district_admin_sees_only_their_district(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("district_admin", org, school=0))
    ids = sorted(s["id"] for s in (await client.get("/api/schools", headers=admin)).json())
    assert ids == sorted(s.id for s in org.schools if s.district_id == org.districts[0].id)
    outside = next(s for s in org.schools if s.district_id != org.districts[0].id)
    assert (await client.get(f"/api/schools/{outside.id}/classes", headers=admin)).status_code == 403


async def test_district_admin_cannot_review_another_districts_tutor(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("district_admin", org, school=0))
    other = await factory.tutor(org, school=2, status="pending_district")
    assert (await client.post(f"/api/tutors/applications/{other.id}/approve", headers=admin)).status_code == 403


async def test_district_admin_cannot_import_districts(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("district_admin", org))
    r = await client.post("/api/rosters/districts", headers=admin, files={"file": ("d.csv", "code,name\nX,新区\n".encode(), "text/csv")})
    assert r.status_code == 403


async def test_admin_of_another_school_cannot_see_a_students_image(client, factory):
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org, school=0))
    own_admin = await factory.sign_in(await factory.user("school_admin", org, school=0))
    other_admin = await factory.sign_in(await factory.user("school_admin", org, school=1))
    url = (await client.post("/api/images", headers=student, files={"file": ("a.png", png(), "image/png")})).json()["url"]
    assert (await client.get(url, headers=own_admin)).status_code == 200
    assert (await client.get(url, headers=other_admin)).status_code == 403
