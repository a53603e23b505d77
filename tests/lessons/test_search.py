"""Title search is the Q&A centre's Chinese search (character bigrams, app/kit/search.py): the
same queries find the same things in both, newest first, on both setups."""
from __future__ import annotations

from .conftest import publish

TITLES = ["串联电路中电流处处相等吗", "并联电路的总电阻怎么求", "凸透镜成像的规律是什么"]


async def test_title_search_finds_lessons_as_the_qa_centre_finds_questions(factory, client, app, clock, videos) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    tutor = await factory.tutor(org, subjects=("physics",))
    th = await factory.sign_in(tutor)
    ah = await factory.sign_in(await factory.admin_of(tutor))
    student = await factory.user("student", org, school=3)
    sh = await factory.sign_in(student)
    kp = await factory.knowledge_point("physics", "焦耳定律")
    lessons, questions = [], []
    for title in TITLES:  # published and asked in this order: the last is the newest of each
        lesson = await publish(client, th, videos["mp4"], kps=[kp], title=title)
        assert (await client.post(f"/api/lessons/{lesson['id']}/approve", headers=ah)).status_code == 200
        lessons.append(lesson["id"])
        r = await client.post("/api/qa/questions", headers=sh, json={"subject": "physics", "text": title, "knowledge_point_ids": []})
        assert r.status_code == 201, r.text
        questions.append(r.json()["id"])
        clock.advance(60)

    async def lessons_found(q: str) -> list[int]:
        r = await client.get("/api/lessons", headers=sh, params={"q": q})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["rows"])
        return [lessons.index(x["id"]) for x in r.json()["rows"]]

    async def questions_found(q: str) -> list[int]:
        r = await client.get("/api/qa/search", headers=sh, params={"q": q})
        assert r.status_code == 200, r.text
        return [questions.index(x["id"]) for x in r.json()["results"]]

    # A two-character word finds the lessons whose title holds it, newest first; an unrelated one nothing.
    assert await lessons_found("电路") == [1, 0]
    assert await lessons_found("透镜") == [2]
    assert await lessons_found("电磁") == []
    # Every word must be there, wherever the word boundaries are; letters and full-width forms fold.
    assert await lessons_found("电流 相等") == [0]
    assert await lessons_found("路中") == [0]
    assert await lessons_found("电阻 透镜") == []
    for q in ("电路", "透镜", "电磁", "电流 相等", "路中", "电阻 透镜", "总电阻", "规律是什么", "成像 凸透镜", "电"):
        assert await lessons_found(q) == await questions_found(q), q
    # Ranked pages follow each other: page by page, the same list, nothing twice or skipped.
    paged = []
    for offset in range(3):
        r = await client.get("/api/lessons", headers=sh, params={"q": "电路", "limit": 1, "offset": offset})
        assert r.json()["total"] == 2
        paged += [lessons.index(x["id"]) for x in r.json()["rows"]]
    assert paged == [1, 0]
    # Search narrows the other filters and keeps the chosen order.
    r = await client.get("/api/lessons", headers=sh, params={"q": "电路", "sort": "most_watched"})
    assert [lessons.index(x["id"]) for x in r.json()["rows"]] == [1, 0]
    r = await client.get("/api/lessons", headers=sh, params={"q": "电路", "subject": "math"})
    assert r.json()["total"] == 0
    # Nothing to search for: the Q&A centre's error.
    r = await client.get("/api/lessons", headers=sh, params={"q": "？！"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"

    # A new title is searched by its new words only (and, approved again, found).
    r = await client.put(f"/api/lessons/{lessons[2]}", headers=th, json={"title": "欧姆定律的实验"})
    assert r.status_code == 200, r.text
    assert (await client.post(f"/api/lessons/{lessons[2]}/approve", headers=ah)).status_code == 200
    assert await lessons_found("透镜") == []
    assert await lessons_found("欧姆") == [2]
