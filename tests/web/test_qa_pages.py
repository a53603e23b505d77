"""The Q&A centre in real Chromium: a student asks with a photo, a tutor finds it in the feed and
answers with a photo, the student follows up, the tutor replies, the student accepts and rates —
and the points ledger, the tutor's archive and the school's participation move by exactly one."""
from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import func, select

from app.models import PointsEntry

from ..images import png
from .conftest import DESKTOP, PHONE, Pages, shot

PERIOD = {"from": "2026-11-23", "to": "2026-11-30"}
QUESTION = "焦耳定律里的电流为什么要平方？"


async def photo(page: Page, field: str, colour: str) -> None:
    await page.set_input_files(field, files=[{"name": "步骤.png", "mimeType": "image/png", "buffer": png((120, 90), colour)}])
    await expect(page.locator(f"{field}-thumbs img")).to_have_count(1)


async def figures(client, factory, admin, tutor_auth, school_id: int) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    async with factory.session() as db:
        points = (await db.execute(select(func.count()).select_from(PointsEntry))).scalar_one()
    archive = (await client.get("/api/stats/archive", headers=tutor_auth, params=PERIOD)).json()["rows"]
    rows = (await client.get("/api/stats/participation", headers=admin, params=PERIOD)).json()["rows"]
    school = next(r for r in rows if r["school_id"] == school_id)
    return points, len(archive), school["questions"], school["question_students"]


async def test_ask_answer_follow_up_and_accept_in_two_browsers(factory, pages: Pages, client) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    admin = await factory.sign_in(await factory.user("city_admin", org))
    tutor_auth = await factory.sign_in(tutor_user)
    before = await figures(client, factory, admin, tutor_auth, org.schools[1].id)

    student = await pages.open(student_user.username, PHONE)
    await expect(student.locator("#ask-submit")).to_be_visible()  # the home view has finished drawing
    await student.click("a[href='#/qa']")
    await expect(student.locator("h1")).to_have_text("问答中心")
    await student.select_option("#qa-subject", "physics")
    await student.fill("#qa-text", QUESTION)
    await photo(student, "#qa-photo", "blue")
    await shot(student, "student-qa-ask")
    await student.click("#qa-submit")
    await student.wait_for_url("**#/qa/*")
    await expect(student.locator("#qa-question-text")).to_have_text(QUESTION)
    await expect(student.locator("#qa-question img")).to_have_count(1)

    tutor = await pages.open(tutor_user.username, DESKTOP)
    await expect(tutor.locator("#duty-state")).to_be_visible()  # the home view has finished drawing
    await tutor.click("a[href='#/qa-feed']")
    await expect(tutor.locator("#duty-state")).to_have_count(0)
    card = tutor.locator("#qa-feed li", has_text=QUESTION)
    await expect(card).to_have_count(1)
    await shot(tutor, "tutor-qa-feed")
    await card.locator("a").click()
    await tutor.click("#qa-claim")
    await expect(tutor.locator("#qa-claimed")).to_have_text("我正在回答")
    await tutor.fill("#qa-answer-text", "Q=I²Rt：电流产生热量与电流的平方成正比，见照片里的推导。")
    await photo(tutor, "#qa-answer-photo", "green")
    await tutor.click("#qa-answer-send")
    answer = tutor.locator("[data-answer]")
    await expect(answer.locator("img")).to_have_count(1)

    # The student hears of the answer on the event stream; the page refreshes itself.
    s_answer = student.locator("[data-answer]")
    await expect(s_answer.locator(".qa-answer-text")).to_contain_text("电流的平方", timeout=10_000)
    await expect(s_answer.locator("img")).to_have_count(1)
    await s_answer.locator(".qa-reply-text").fill("那电阻变大时热量怎么变？")
    await s_answer.locator(".qa-reply-send").click()
    await expect(answer.locator(".qa-student")).to_contain_text("那电阻变大时热量怎么变？", timeout=10_000)
    await answer.locator(".qa-reply-text").fill("电流不变时，热量与电阻成正比。")
    await answer.locator(".qa-reply-send").click()
    await expect(s_answer.locator(".qa-tutor")).to_contain_text("热量与电阻成正比", timeout=10_000)
    await s_answer.locator("select.qa-rating").select_option("5")
    await s_answer.locator(".qa-accept").click()
    await expect(student.locator("#qa-status")).to_have_text("已采纳")
    await expect(student.locator("[data-answer] .qa-accepted")).to_have_text("已采纳")
    await shot(student, "student-qa-accepted")

    after = await figures(client, factory, admin, tutor_auth, org.schools[1].id)
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1, 1]  # points entry, archive row, questions, askers
