"""The dashboard page's one request (`GET /api/stats/dashboard`): the same figures as the six tables
it replaces (each checked against brute-force counts in test_dashboard_figures.py), in every scope,
and what is kept: an open period's answer for up to TUTORING_DASHBOARD_CACHE_S, a closed one never."""
import asyncio
from datetime import datetime, timedelta

from app.models import Question, User
from app.stats.cache import FigureCache

from .factories import _HASH
from .test_dashboard_figures import PERIODS, SH, build


async def test_the_one_answer_equals_the_six_tables_in_every_scope(client, factory):  # type: ignore[no-untyped-def]
    org, *_ = await build(factory)
    city = await factory.sign_in(await factory.user("city_admin", org))
    district = await factory.sign_in(await factory.user("district_admin", org, school=0))
    school = await factory.sign_in(await factory.user("school_admin", org, school=1))

    async def rows(path, headers, **params):  # type: ignore[no-untyped-def]
        r = await client.get(f"/api/stats/{path}", headers=headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()["rows"]

    for start, end in PERIODS:
        period = {"from": str(start), "to": str(end)}
        for headers, narrow in ((city, {}), (city, {"district_id": org.districts[1].id}), (city, {"school_id": org.schools[2].id}),
                                (district, {}), (school, {})):
            r = await client.get("/api/stats/dashboard", headers=headers, params={**period, **narrow})
            assert r.status_code == 200, r.text
            got = r.json()
            month = start.strftime("%Y-%m")
            assert got["stars_month"] == month
            assert got["trend"] == await rows("trend", headers, **period, **narrow)
            assert got["participation"] == await rows("participation", headers, **period, **narrow)
            assert got["hot_spots"] == await rows("hot-spots", headers, **period, **narrow, limit=10)
            assert got["students"] == await rows("leaderboards/students", headers, **period, **narrow, limit=10)
            assert got["classes"] == await rows("leaderboards/classes", headers, **period, **narrow, limit=10)
            assert got["stars"] == await rows("stars", headers, month=month, **narrow)
            assert got["participation"], (start, narrow)  # every scope here has schools with students


async def test_scope_and_bad_periods_are_refused(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    school = await factory.sign_in(await factory.user("school_admin", org, school=0))
    student = await factory.sign_in(await factory.user("student", org))
    ok = {"from": "2026-11-01", "to": "2026-12-01"}
    r = await client.get("/api/stats/dashboard", headers=school, params={**ok, "school_id": org.schools[1].id})
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    r = await client.get("/api/stats/dashboard", headers=student, params=ok)
    assert r.status_code == 403
    r = await client.get("/api/stats/dashboard", headers=school, params={"from": "2026-12-01", "to": "2026-11-01"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"


async def _ask(factory, student: User, when: datetime) -> None:  # type: ignore[no-untyped-def]
    async with factory.session() as db:
        db.add(Question(student_id=student.id, subject_code="math", text="?", created_at=when))
        await db.commit()


async def test_an_open_period_is_kept_briefly_and_a_closed_one_never(client, factory, clock):  # type: ignore[no-untyped-def]
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    async with factory.session() as db:
        kid = User(username="dash_kid", password_hash=_HASH, role="student", real_name="学生", city_id=org.city.id,
                   district_id=org.schools[0].district_id, school_id=org.schools[0].id, class_id=org.classes[0].id, grade=8,
                   created_at=datetime(2026, 10, 1, tzinfo=SH))
        db.add(kid)
        await db.commit()
    today = datetime.fromtimestamp(clock.now(), SH)
    this_month = {"from": str(today.date().replace(day=1)), "to": str(today.date() + timedelta(days=1))}
    last_month = {"from": "2026-10-01", "to": "2026-11-01"}

    async def asked(params):  # type: ignore[no-untyped-def]
        r = await client.get("/api/stats/dashboard", headers=admin, params=params)
        assert r.status_code == 200, r.text
        return sum(row["questions"] for row in r.json()["participation"])

    assert await asked(this_month) == 0
    await _ask(factory, kid, today - timedelta(minutes=5))
    assert await asked(this_month) == 0  # kept: the answer of a moment ago
    # … while the table itself is always computed afresh
    table = await client.get("/api/stats/participation", headers=admin, params=this_month)
    assert table.json()["rows"][0]["questions"] == 1
    clock.t += 16  # past TUTORING_DASHBOARD_CACHE_S (15 s)
    assert await asked(this_month) == 1

    # A closed period: a late correction shows at once.
    assert await asked(last_month) == 0
    await _ask(factory, kid, datetime(2026, 10, 20, 19, 0, tzinfo=SH))
    assert await asked(last_month) == 1


async def test_concurrent_requests_for_one_figure_share_one_computation() -> None:
    class Still:
        def now(self) -> float:
            return 0.0
    cache, runs = FigureCache(Still()), []

    async def compute() -> int:
        runs.append(1)
        await asyncio.sleep(0.01)
        return len(runs)
    got = await asyncio.gather(*[cache.get("k", compute, keep=False) for _ in range(5)])
    assert got == [1] * 5 and len(runs) == 1
    assert await cache.get("k", compute, keep=False) == 2  # not kept: computed again

    async def fails() -> int:
        raise ValueError("boom")
    results = await asyncio.gather(*[cache.get("e", fails, keep=True) for _ in range(3)], return_exceptions=True)
    assert all(isinstance(e, ValueError) for e in results)
    assert await cache.get("e", compute, keep=True) == 3  # a failure is not kept
