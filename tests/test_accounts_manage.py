"""Admins manage accounts in their scope: find, reset a forgotten password, suspend, reinstate."""
from .factories import PASSWORD


async def _sign_in(client, username, password):  # type: ignore[no-untyped-def]
    return await client.post("/api/auth/sign-in", json={"username": username, "password": password})


async def test_a_school_admin_resets_a_students_forgotten_password(client, factory):
    org = await factory.org()
    student = await factory.user("student", org, real_name="张小明")
    await factory.user("student", org, real_name="李华")
    admin = await factory.admin_of(student)
    auth = await factory.sign_in(admin)
    old_device = await factory.sign_in(student)

    found = (await client.get("/api/accounts", headers=auth, params={"q": "小明"})).json()
    assert [a["username"] for a in found] == [student.username]
    assert (await client.get("/api/accounts", headers=auth, params={"q": "%"})).json() == []  # a literal %, not a wildcard

    r = await client.post(f"/api/accounts/{student.id}/password-reset", headers=auth)
    assert r.status_code == 200, r.text
    new = r.json()["password"]
    assert len(new) >= 10 and r.json()["username"] == student.username
    assert (await _sign_in(client, student.username, PASSWORD)).status_code == 401
    assert (await _sign_in(client, student.username, new)).status_code == 200
    assert (await client.get("/api/auth/me", headers=old_device)).status_code == 401  # signed out everywhere


async def test_admins_act_only_within_their_scope(client, factory):
    org = await factory.org()
    here = await factory.user("student", org, school=0)
    elsewhere = await factory.user("student", org, school=2)  # another district
    school_admin = await factory.admin_of(here)
    district_admin = await factory.user("district_admin", org, school=0)
    city_admin = await factory.user("city_admin", org)
    auth = await factory.sign_in(school_admin)
    assert elsewhere.id not in [a["id"] for a in (await client.get("/api/accounts", headers=auth)).json()]
    for target in (elsewhere, district_admin, city_admin, school_admin):
        r = await client.post(f"/api/accounts/{target.id}/password-reset", headers=auth)
        assert r.status_code == 403 and r.json()["error"] == "Forbidden", (target.role, r.text)
    r = await client.post(f"/api/accounts/{school_admin.id}/suspend", headers=await factory.sign_in(district_admin),
                          json={"reason": "离职"})
    assert r.status_code == 200  # a district admin manages its school admins …
    r = await client.post(f"/api/accounts/{district_admin.id}/suspend", headers=await factory.sign_in(city_admin),
                          json={"reason": "离职"})
    assert r.status_code == 403  # … but nobody manages an admin above a school
    student_auth = await factory.sign_in(here)
    assert (await client.get("/api/accounts", headers=student_auth)).status_code == 403
    assert (await client.post("/api/accounts/999999/reinstate", headers=await factory.sign_in(city_admin))).status_code == 404


async def test_suspend_and_reinstate(client, factory):
    org = await factory.org()
    tutor = await factory.tutor(org)
    admin = await factory.admin_of(tutor)
    auth = await factory.sign_in(admin)
    assert (await client.post(f"/api/accounts/{tutor.id}/suspend", headers=auth, json={"reason": "x"})).status_code == 422
    r = await client.post(f"/api/accounts/{tutor.id}/suspend", headers=auth, json={"reason": "多次被举报"})
    assert r.json()["status"] == "suspended" and r.json()["suspended_reason"] == "多次被举报"
    r = await client.post(f"/api/accounts/{tutor.id}/suspend", headers=auth, json={"reason": "多次被举报"})
    assert r.status_code == 409 and r.json()["error"] == "InvalidState"
    r = await _sign_in(client, tutor.username, PASSWORD)
    assert r.status_code == 403 and r.json()["error"] == "AccountSuspended"
    r = await client.post(f"/api/accounts/{tutor.id}/reinstate", headers=auth)
    assert r.json()["status"] == "active"
    assert (await _sign_in(client, tutor.username, PASSWORD)).status_code == 200
