"""Watching: ranged streaming only with a link the API signed for someone who may see the
lesson, resume, and honest counting of clicks and complete views (cheats included)."""
from __future__ import annotations

from typing import Any

import httpx

from app.main import create_app

from .conftest import publish


async def _approved(factory, client, videos, org) -> tuple[dict[str, Any], Any]:  # type: ignore[no-untyped-def]
    tutor = await factory.tutor(org, subjects=("physics",))
    th = await factory.sign_in(tutor)
    lesson = await publish(client, th, videos["mp4"], kps=[await factory.knowledge_point("physics", "焦耳定律")])
    ah = await factory.sign_in(await factory.admin_of(tutor))
    assert (await client.post(f"/api/lessons/{lesson['id']}/approve", headers=ah)).status_code == 200
    return lesson, tutor


async def test_ranged_streaming_only_with_a_valid_link(factory, client, app, clock, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    lesson, _ = await _approved(factory, client, videos, org)
    sh = await factory.sign_in(await factory.user("student", org))
    play = (await client.post(f"/api/lessons/{lesson['id']}/plays", headers=sh)).json()
    whole = videos["mp4"].read_bytes()  # an H.264/AAC faststart MP4 is served as uploaded
    r = await client.get(play["video_url"], headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206 and r.content == whole[100:1100]
    assert r.headers["content-range"] == f"bytes 100-1099/{len(whole)}" and r.headers["accept-ranges"] == "bytes"
    r = await client.get(play["video_url"], headers={"Range": f"bytes={len(whole) - 10}-"})
    assert r.status_code == 206 and r.content == whole[-10:]
    assert (await client.get(play["video_url"])).content == whole
    r = await client.get(play["video_url"], headers={"Range": f"bytes={len(whole) + 5}-"})
    assert r.status_code == 416

    tampered = play["video_url"].replace("e=", "e=9")
    assert (await client.get(tampered)).status_code == 404
    assert (await client.get(play["video_url"].split("?")[0])).status_code == 404
    clock.advance(4 * 3600 + 1)  # the link expired
    assert (await client.get(play["video_url"])).status_code == 404

    # Someone of another city never gets a link.
    elsewhere = await factory.org()
    stranger = await factory.sign_in(await factory.user("student", elsewhere))
    assert (await client.post(f"/api/lessons/{lesson['id']}/plays", headers=stranger)).status_code == 404


async def _report(client, sh, lid, pos):  # type: ignore[no-untyped-def]
    r = await client.post(f"/api/lessons/{lid}/progress", headers=sh, json={"position_s": pos})
    assert r.status_code == 200, r.text
    return r.json()


async def test_clicks_complete_views_and_cheats(factory, client, app, clock, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    lesson, tutor = await _approved(factory, client, videos, org)
    lid = lesson["id"]

    # Seeking to the end completes nothing.
    seeker = await factory.sign_in(await factory.user("student", org))
    assert (await client.post(f"/api/lessons/{lid}/plays", headers=seeker)).json()["counted_click"] is True
    clock.advance(1)
    assert (await _report(client, seeker, lid, 6.0))["credited"] is False
    clock.advance(1)
    assert (await _report(client, seeker, lid, 6.0))["completed"] is False

    # Replaying reports (no time passes between them) and 16× playback credit nothing.
    replayer = await factory.sign_in(await factory.user("student", org))
    await client.post(f"/api/lessons/{lid}/plays", headers=replayer)
    for pos in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0):
        got = await _report(client, replayer, lid, pos)
    assert got["covered_s"] == 0 and not got["completed"]
    fast = await factory.sign_in(await factory.user("student", org))
    await client.post(f"/api/lessons/{lid}/plays", json={"from_s": 0}, headers=fast)
    for pos in (1.6, 3.2, 4.8, 6.0):
        clock.advance(0.1)
        got = await _report(client, fast, lid, pos)
    assert got["covered_s"] == 0 and not got["completed"]

    # Two tabs playing different halves at once gain nothing either: one anchor per student and lesson.
    twotabs = await factory.sign_in(await factory.user("student", org))
    await client.post(f"/api/lessons/{lid}/plays", headers=twotabs)
    for a, b in ((1.0, 4.0), (2.0, 5.0), (3.0, 6.0)):
        clock.advance(1)
        await _report(client, twotabs, lid, a)
        got = await _report(client, twotabs, lid, b)
    assert not got["completed"]

    # An honest student at 1× with a pause, and another at 2×, complete it.
    honest = await factory.sign_in(await factory.user("student", org))
    play = (await client.post(f"/api/lessons/{lid}/plays", headers=honest)).json()
    assert play["resume_s"] == 0 and play["counted_click"] is True
    for pos in (2.0, 4.0):
        clock.advance(2)
        got = await _report(client, honest, lid, pos)
    assert got["credited"] and got["covered_s"] == 4 and not got["completed"]
    # They stop and come back later: the player resumes at 4 s, and it is the same click.
    clock.advance(60)
    again = (await client.post(f"/api/lessons/{lid}/plays", headers=honest)).json()
    assert again["resume_s"] == 4.0 and again["counted_click"] is False
    clock.advance(2)
    got = await _report(client, honest, lid, 6.0)
    assert got["completed"] and got["needed_s"] == 6
    quick = await factory.sign_in(await factory.user("student", org))
    await client.post(f"/api/lessons/{lid}/plays", headers=quick)
    for pos in (2.0, 4.0, 6.0):
        clock.advance(1)
        got = await _report(client, quick, lid, pos)
    assert got["completed"]

    # Watching again does not count a second complete view; a new play after the gap is a new click.
    clock.advance(601)
    again = (await client.post(f"/api/lessons/{lid}/plays", headers=honest)).json()
    assert again["resume_s"] == 0 and again["counted_click"] is True
    for pos in (2.0, 4.0, 6.0):
        clock.advance(2)
        await _report(client, honest, lid, pos)

    th = await factory.sign_in(tutor)
    await client.post(f"/api/lessons/{lid}/plays", headers=th)  # the tutor's own plays are not clicks
    seen = (await client.get(f"/api/lessons/{lid}", headers=th)).json()
    assert (seen["clicks"], seen["complete_views"]) == (7, 2)
    r = await client.post(f"/api/lessons/{lid}/progress", headers=th, json={"position_s": 1})
    assert r.status_code == 403


async def test_one_instance_serves_a_lesson_uploaded_through_another(factory, client, app, app_settings, clock, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    lesson, _ = await _approved(factory, client, videos, org)  # uploaded and processed by instance A
    other = create_app(app_settings, clock=clock)  # instance B: same database, same lesson folder
    lifespan = other.router.lifespan_context(other)
    await lifespan.__aenter__()
    try:
        transport = httpx.ASGITransport(app=other, client=("127.0.0.1", 5001))
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as b:
            student = await factory.user("student", org)
            r = await b.post("/api/auth/sign-in", json={"username": student.username, "password": "password123"})
            sh = {"Authorization": f"Bearer {r.json()['access_token']}"}
            page = (await b.get("/api/lessons", headers=sh)).json()
            assert [x["id"] for x in page["rows"]] == [lesson["id"]]
            play = (await b.post(f"/api/lessons/{lesson['id']}/plays", headers=sh)).json()
            r = await b.get(play["video_url"], headers={"Range": "bytes=0-99"})
            assert r.status_code == 206 and r.content == videos["mp4"].read_bytes()[:100]
            r = await client.get(play["video_url"], headers={"Range": "bytes=0-99"})  # and A serves B's link
            assert r.status_code == 206
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_a_replaced_video_goes_back_to_review_and_counting_goes_on(factory, client, app, clock, videos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import wait_processed
    from .videos import make_video

    org = await factory.org()
    lesson, tutor = await _approved(factory, client, videos, org)  # 6 s
    lid = lesson["id"]
    sh = await factory.sign_in(await factory.user("student", org))
    await client.post(f"/api/lessons/{lid}/plays", headers=sh)
    clock.advance(2)
    assert (await _report(client, sh, lid, 2.0))["covered_s"] == 2

    th = await factory.sign_in(tutor)
    longer = make_video(tmp_path / "longer.mp4", 12.0, size=(64, 48), fps=5, acodec=None)
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=longer.read_bytes())
    assert r.status_code == 202 and r.json()["review_status"] == "pending"
    assert (await client.post(f"/api/lessons/{lid}/plays", headers=sh)).status_code == 404  # hidden until reviewed
    assert round((await wait_processed(client, th, lid))["duration_s"]) == 12
    ah = await factory.sign_in(await factory.admin_of(tutor))
    assert (await client.post(f"/api/lessons/{lid}/approve", headers=ah)).status_code == 200

    await client.post(f"/api/lessons/{lid}/plays", json={"from_s": 2.0}, headers=sh)
    for pos in (4.0, 6.0, 8.0, 10.0, 12.0):
        clock.advance(2)
        got = await _report(client, sh, lid, pos)
    assert got["covered_s"] == 12 and got["needed_s"] == 11 and got["completed"]
