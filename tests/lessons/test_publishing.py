"""Publishing and review: upload → processing → review → catalogue, on both setups, with the
files checked for what they really are."""
from __future__ import annotations

from pathlib import Path

import av

from .conftest import publish, wait_processed


async def test_upload_processing_review_and_catalogue(factory, client, app, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    tutor = await factory.tutor(org, subjects=("physics",))
    th = await factory.sign_in(tutor)
    student = await factory.user("student", org, school=3)  # another district of the same city
    sh = await factory.sign_in(student)
    joule = await factory.knowledge_point("physics", "焦耳定律")
    lesson = await publish(client, th, videos["mp4"], kps=[joule], title="焦耳定律 实验")
    assert lesson["media_status"] == "ready" and lesson["review_status"] == "pending"
    assert round(lesson["duration_s"]) == 6 and (lesson["width"], lesson["height"]) == (160, 120)
    poster = await client.get(lesson["poster_url"])
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"  # a JPEG

    # Not visible to students before review: not in the catalogue, not by id.
    assert (await client.get("/api/lessons", headers=sh)).json()["total"] == 0
    assert (await client.get(f"/api/lessons/{lesson['id']}", headers=sh)).status_code == 404

    # The reviewer: an admin of the tutor's school; another school's admin cannot.
    other_admin = await factory.admin_of(student)
    oh = await factory.sign_in(other_admin)
    assert (await client.get("/api/lessons/review", headers=oh)).json() == []
    r = await client.post(f"/api/lessons/{lesson['id']}/approve", headers=oh)
    assert r.status_code == 403, r.text
    ah = await factory.sign_in(await factory.admin_of(tutor))
    queue = (await client.get("/api/lessons/review", headers=ah)).json()
    assert [x["id"] for x in queue] == [lesson["id"]]
    r = await client.post(f"/api/lessons/{lesson['id']}/reject", headers=ah, json={"reason": ""})
    assert r.status_code == 422
    r = await client.post(f"/api/lessons/{lesson['id']}/reject", headers=ah, json={"reason": "标题写错了"})
    assert r.json()["review_status"] == "rejected" and r.json()["reject_reason"] == "标题写错了"
    mine = (await client.get("/api/lessons/mine", headers=th)).json()
    assert mine[0]["reject_reason"] == "标题写错了"
    r = await client.post(f"/api/lessons/{lesson['id']}/approve", headers=ah)
    assert r.status_code == 409 and r.json()["error"] == "InvalidState"

    # The tutor amends and so resubmits; the admin approves; students find it.
    r = await client.put(f"/api/lessons/{lesson['id']}", headers=th, json={"title": "焦耳定律的实验"})
    assert r.json()["review_status"] == "pending" and r.json()["reject_reason"] is None
    r = await client.post(f"/api/lessons/{lesson['id']}/approve", headers=ah)
    assert r.status_code == 200 and r.json()["review_status"] == "approved", r.text

    chapter = await factory.knowledge_point("physics", "电功率")  # the chapter finds its points' lessons
    for query in ({"knowledge_point_id": joule}, {"knowledge_point_id": chapter}, {"q": "焦耳"}, {"q": "实验 焦耳"},
                  {"subject": "physics", "band": "junior"}, {"tutor_id": tutor.id}, {"sort": "most_watched"}):
        page = (await client.get("/api/lessons", headers=sh, params=query)).json()
        assert [x["id"] for x in page["rows"]] == [lesson["id"]], query
    for query in ({"q": "欧姆"}, {"subject": "math"}, {"band": "senior"},
                  {"knowledge_point_id": await factory.knowledge_point("physics", "欧姆定律")}):
        assert (await client.get("/api/lessons", headers=sh, params=query)).json()["total"] == 0, query
    links = (await client.get("/api/lessons/by-knowledge-point", headers=sh, params={"ids": f"{joule},{chapter}"})).json()
    assert links == {str(joule): 1}

    # Publishing earned the tutor points under the policy (the ledger).
    from sqlalchemy import select

    from app.models import PointsEntry
    async with factory.session() as db:
        entries = (await db.execute(select(PointsEntry.source_kind, PointsEntry.points).where(PointsEntry.tutor_id == tutor.id))).all()
    assert [(k, float(p)) for k, p in entries] == [("lesson", 1.0)]


async def test_a_webm_upload_becomes_a_phone_ready_mp4(factory, client, app, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    th = await factory.sign_in(await factory.tutor(org, subjects=("physics",)))
    lesson = await publish(client, th, videos["webm"], kps=[await factory.knowledge_point("physics", "焦耳定律")])
    assert lesson["media_status"] == "ready", lesson
    play = (await client.post(f"/api/lessons/{lesson['id']}/plays", headers=th)).json()
    r = await client.get(play["video_url"])
    assert r.headers["content-type"] == "video/mp4"
    stored = Path(app.state.lesson_storage.path(play["video_url"].split("/")[-1].split("?")[0]))
    with av.open(str(stored)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
    assert r.content[4:8] == b"ftyp" and r.content.index(b"moov") < r.content.index(b"mdat")  # index first
    # Only the served file and its poster are kept; the WebM upload is gone.
    assert sorted(p.suffix for p in app.state.lesson_storage.root.iterdir()) == [".jpg", ".mp4"]


async def test_bad_files_get_a_clear_error_and_leave_nothing(factory, client, app, app_settings, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    th = await factory.sign_in(await factory.tutor(org, subjects=("physics",)))
    kp = await factory.knowledge_point("physics", "焦耳定律")
    r = await client.post("/api/lessons", headers=th, json={"title": "坏文件", "subject": "physics", "band": "junior",
                                                            "knowledge_point_ids": [kp]})
    lid = r.json()["id"]
    root: Path = app.state.lesson_storage.root

    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=videos["junk"].read_bytes())
    assert r.status_code == 422 and r.json()["error"] == "VideoRejected", r.text
    assert "MP4" in r.json()["detail"]
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=b"")
    assert r.status_code == 422 and r.json()["error"] == "VideoRejected"
    app_settings.lesson_max_bytes = 10_000
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=videos["mp4"].read_bytes())
    assert r.status_code == 413 and r.json()["error"] == "VideoTooLarge" and r.json()["limit_bytes"] == 10_000

    async def chunks():  # type: ignore[no-untyped-def]
        data = videos["mp4"].read_bytes()
        for i in range(0, len(data), 4096):
            yield data[i:i + 4096]
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=chunks())  # no length announced
    assert r.status_code == 413 and r.json()["error"] == "VideoTooLarge"
    app_settings.lesson_max_bytes = 600 * 1024 * 1024
    # A body far past the JSON and picture caps still reaches the lesson's own streaming check.
    r = await client.put(f"/api/lessons/{lid}/video", headers={**th, "content-type": "video/mp4"}, content=b"\0" * (7 * 1024 * 1024))
    assert r.status_code == 422 and r.json()["error"] == "VideoRejected", r.text
    app_settings.lesson_max_duration_s = 5
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=videos["mp4"].read_bytes())
    assert r.status_code == 422 and r.json()["error"] == "VideoTooLong", r.text
    app_settings.lesson_max_duration_s = 905
    assert list(root.iterdir()) == []
    assert (await client.get(f"/api/lessons/{lid}", headers=th)).json()["media_status"] == "awaiting_upload"

    # A file cut short passes the quick check but fails processing, with the reason, and no file kept.
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=videos["cut"].read_bytes())
    assert r.status_code == 202
    lesson = await wait_processed(client, th, lid)
    assert lesson["media_status"] == "failed" and "cut short" in lesson["failure_reason"]
    assert list(root.iterdir()) == []
    ah = await factory.sign_in(await factory.user("school_admin", org))
    assert (await client.get("/api/lessons/review", headers=ah)).json() == []  # nothing to review

    # The tutor uploads a good file to the same lesson.
    r = await client.put(f"/api/lessons/{lid}/video", headers=th, content=videos["mp4"].read_bytes())
    assert r.status_code == 202
    assert (await wait_processed(client, th, lid))["media_status"] == "ready"


async def test_only_approved_tutors_publish_and_only_owners_upload(factory, client, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    kp = await factory.knowledge_point("physics", "焦耳定律")
    body = {"title": "x", "subject": "physics", "band": "junior", "knowledge_point_ids": [kp]}
    pending = await factory.sign_in(await factory.tutor(org, status="pending_school"))
    assert (await client.post("/api/lessons", headers=pending, json=body)).status_code == 403
    th = await factory.sign_in(await factory.tutor(org))
    r = await client.post("/api/lessons", headers=th, json={**body, "knowledge_point_ids": [await factory.knowledge_point("math")]})
    assert r.status_code == 422 and r.json()["field"] == "knowledge_point_ids"
    lid = (await client.post("/api/lessons", headers=th, json=body)).json()["id"]
    other = await factory.sign_in(await factory.tutor(org))
    r = await client.put(f"/api/lessons/{lid}/video", headers=other, content=videos["mp4"].read_bytes())
    assert r.status_code == 404
    student = await factory.sign_in(await factory.user("student", org))
    assert (await client.post("/api/lessons", headers=student, json=body)).status_code == 403


async def test_a_lesson_left_processing_by_a_stopped_instance_is_taken_over(factory, client, app, clock, videos) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from app.models import Lesson

    org = await factory.org()
    th = await factory.sign_in(await factory.tutor(org, subjects=("physics",)))
    kp = await factory.knowledge_point("physics", "焦耳定律")
    lid = (await client.post("/api/lessons", headers=th, json={"title": "接手", "subject": "physics", "band": "junior",
                                                               "knowledge_point_ids": [kp]})).json()["id"]
    # Another instance stored the upload and claimed the lesson, then stopped before finishing.
    storage = app.state.lesson_storage
    key = storage.new_key(lid, ".upload")
    storage.path(key).write_bytes(videos["mp4"].read_bytes())
    now = datetime.fromtimestamp(clock.now(), timezone.utc)
    async with factory.session() as db:
        await db.execute(update(Lesson).where(Lesson.id == lid).values(
            media_status="processing", upload_key=key, lease_until=now + timedelta(minutes=5)))
        await db.commit()
    await app.state.lesson_worker.sweep()  # its lease still runs: nobody else touches it
    await app.state.lesson_worker.idle()
    assert (await client.get(f"/api/lessons/{lid}", headers=th)).json()["media_status"] == "processing"
    clock.advance(6 * 60)  # the lease ran out
    await app.state.lesson_worker.sweep()
    lesson = await wait_processed(client, th, lid)
    assert lesson["media_status"] == "ready" and round(lesson["duration_s"]) == 6
