"""Views feed the figures: per lesson, tutor, subject, knowledge point and school, the lesson
leaderboard, the tutors' lesson workload and archive, and the points ledger."""
from __future__ import annotations

from .test_watching import _approved, _report

PERIOD = {"from": "2026-11-23", "to": "2026-11-30"}


async def _watch(client, clock, sh, lid, complete: bool) -> None:  # type: ignore[no-untyped-def]
    await client.post(f"/api/lessons/{lid}/plays", headers=sh)
    for pos in ((2.0, 4.0, 6.0) if complete else (2.0,)):
        clock.advance(2)
        await _report(client, sh, lid, pos)


async def test_views_feed_the_figures_archive_workload_and_points(factory, client, app, clock, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    lesson, tutor = await _approved(factory, client, videos, org)
    lid = lesson["id"]
    here = [await factory.sign_in(await factory.user("student", org, school=0)) for _ in range(2)]
    there = await factory.sign_in(await factory.user("student", org, school=2))  # the other district
    await _watch(client, clock, here[0], lid, complete=True)
    await _watch(client, clock, here[1], lid, complete=False)
    await _watch(client, clock, there, lid, complete=True)

    city = await factory.sign_in(await factory.user("city_admin", org))
    school = await factory.sign_in(await factory.admin_of(tutor))
    joule = await factory.knowledge_point("physics", "焦耳定律")
    expected = {"lesson": lid, "tutor": tutor.id, "subject": "physics", "knowledge_point": joule}
    for by, key in expected.items():
        rows = (await client.get("/api/lessons/stats/views", headers=city, params={**PERIOD, "by": by})).json()["rows"]
        assert [(r["id"], r["clicks"], r["complete_views"]) for r in rows] == [(key, 3, 2)], by
    rows = (await client.get("/api/lessons/stats/views", headers=city, params={**PERIOD, "by": "school"})).json()["rows"]
    assert {(r["id"], r["clicks"], r["complete_views"]) for r in rows} == {(org.schools[0].id, 2, 1), (org.schools[2].id, 1, 1)}
    # A school admin counts their own students' watching only.
    rows = (await client.get("/api/lessons/stats/views", headers=school, params={**PERIOD, "by": "lesson"})).json()["rows"]
    assert [(r["clicks"], r["complete_views"]) for r in rows] == [(2, 1)]
    # Another week has none.
    rows = (await client.get("/api/lessons/stats/views", headers=city, params={"from": "2026-11-30", "to": "2026-12-07", "by": "lesson"})).json()
    assert rows["rows"] == []

    board = (await client.get("/api/lessons/stats/leaderboard", headers=school, params=PERIOD)).json()["rows"]
    assert [(r["rank"], r["id"], r["complete_views"]) for r in board] == [(1, lid, 2)]

    work = (await client.get("/api/lessons/stats/workload", headers=school, params=PERIOD)).json()["rows"]
    assert [(w["tutor_id"], w["lessons_published"], w["clicks"], w["complete_views"], w["points"]) for w in work] == \
        [(tutor.id, 1, 3, 2, "1.10")]  # 1 point for publishing + 2 × 0.05 for complete views
    th = await factory.sign_in(tutor)
    arch = (await client.get("/api/lessons/stats/archive", headers=th, params=PERIOD)).json()["rows"]
    assert [(a["lesson_id"], a["clicks"], a["complete_views"], a["points"]) for a in arch] == [(lid, 3, 2, "1.10")]
    arch = (await client.get("/api/lessons/stats/archive", headers=city, params={**PERIOD, "tutor_id": tutor.id})).json()
    assert arch["rows"][0]["complete_views"] == 2
    csv = await client.get("/api/lessons/stats/archive", headers=th, params={**PERIOD, "format": "csv"})
    assert "完整观看次数" in csv.content.decode("utf-8-sig")
    elsewhere = await factory.org()
    stranger = await factory.sign_in(await factory.user("school_admin", elsewhere))
    r = await client.get("/api/lessons/stats/archive", headers=stranger, params={**PERIOD, "tutor_id": tutor.id})
    assert r.status_code == 404
    student = here[0]
    assert (await client.get("/api/lessons/stats/views", headers=student, params={**PERIOD, "by": "lesson"})).status_code == 403

    # The ledger carries the lesson points, so the district's payroll includes them.
    district = (await client.get("/api/stats/payroll", headers=city,
                                 params={**PERIOD, "district_id": org.districts[0].id})).json()
    assert [(r["tutor_id"], r["points"]) for r in district["tutors"]] == [(tutor.id, "1.10")]
