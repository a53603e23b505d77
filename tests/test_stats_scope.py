"""One scope rule for every statistics table: what a request asks for is intersected with the
caller's scope, and anything outside it is 403 (issue 15, finding 1)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import ActivityHour

from .test_participation import START

PERIOD = {"from": "2026-11-02", "to": "2026-11-09"}
# Every statistics table that takes a school (the payroll takes a district, hot spots a class too).
BY_SCHOOL = ["/api/stats/online-rate", "/api/stats/tutors", "/api/stats/tutors/totals",
             "/api/stats/classes/weekly", "/api/stats/hot-spots", "/api/stats/participation",
             "/api/stats/leaderboards/students", "/api/stats/leaderboards/tutors", "/api/stats/leaderboards/classes",
             "/api/stats/trend", "/api/stats/stars"]
BY_DISTRICT = [p for p in BY_SCHOOL if p != "/api/stats/classes/weekly"] + ["/api/stats/payroll"]


def _params(path: str, **where: int) -> dict[str, object]:
    if path.endswith("/stars"):
        return {"month": "2026-11", **where}
    return {**PERIOD, **where, **({"by": "subject"} if path.endswith("/totals") else {})}


@pytest.mark.parametrize("role", ["school_admin", "district_admin", "city_admin"])
async def test_every_table_refuses_what_lies_outside_the_callers_scope(client, factory, role):  # type: ignore[no-untyped-def]
    org, elsewhere = await factory.org(), await factory.org()  # elsewhere: another city
    admin = await factory.sign_in(await factory.user(role, org))
    # schools[0], [1] are in districts[0]; [2], [3] in districts[1].
    mine = {"school_admin": [0], "district_admin": [0, 1], "city_admin": [0, 1, 2, 3]}[role]
    wrong: list[str] = []

    async def expect(path: str, status: int, **where: int) -> None:
        r = await client.get(path, headers=admin, params=_params(path, **where))
        if r.status_code != status or (status == 403 and r.json()["error"] != "Forbidden"):
            wrong.append(f"{path} {where}: {r.status_code} {r.text[:120]}")

    for path in BY_SCHOOL:
        # Out of scope: each school the role may not see; in scope: the farthest one it may.
        for i, school in enumerate(org.schools):
            if i not in mine or i == mine[-1]:
                await expect(path, 200 if i in mine else 403, school_id=school.id)
        await expect(path, 403, school_id=elsewhere.schools[0].id)
        await expect(path, 403, school_id=10**9)  # no such school: refused alike
    for path in BY_DISTRICT:
        if role != "city_admin":
            await expect(path, 403 if role == "school_admin" and path.endswith("/payroll") else 200,
                         district_id=org.districts[0].id)
        ok = 403 if role == "school_admin" and path.endswith("/payroll") else 200
        await expect(path, ok if role == "city_admin" else 403, district_id=org.districts[1].id)
        await expect(path, 403, district_id=elsewhere.districts[0].id)
    # A school together with a district it is not in asks for nothing: refused, never widened.
    await expect("/api/stats/leaderboards/students", 403, school_id=org.schools[0].id, district_id=org.districts[1].id)
    for i, klass in enumerate(org.classes):
        await expect("/api/stats/hot-spots", 200 if i in mine else 403, class_id=klass.id)
    await expect("/api/stats/hot-spots", 403, class_id=elsewhere.classes[0].id)
    await expect("/api/stats/hot-spots", 403, class_id=org.classes[0].id, school_id=org.schools[1].id)
    assert wrong == []


async def test_a_district_admin_never_reads_another_districts_students(client, factory):  # type: ignore[no-untyped-def]
    """The drill's case: a district admin asked another district's school and got its students by name."""
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("district_admin", org))
    here, there = await factory.user("student", org, 0), await factory.user("student", org, 2)
    hour = int((START + timedelta(days=1)).timestamp()) // 3600
    async with factory.session() as db:
        for s in (here, there):
            db.add(ActivityHour(student_id=s.id, school_id=s.school_id, class_id=s.class_id, hour=hour,
                                one_to_one=1, questions=0, attendances=0))
        await db.commit()
    r = await client.get("/api/stats/leaderboards/students", headers=admin, params={**PERIOD, "school_id": there.school_id})
    assert r.status_code == 403
    r = await client.get("/api/stats/leaderboards/students", headers=admin, params=PERIOD)
    assert [x["id"] for x in r.json()["rows"]] == [here.id]
