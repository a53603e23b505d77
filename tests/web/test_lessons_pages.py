"""Micro-lessons in the browser: a tutor uploads through the page (progress shown), an admin
approves, a student finds the lesson by knowledge point and plays it to the end in Chromium
(the WebM upload was turned into H.264/AAC MP4, which Debian's Chromium plays), and the
complete view shows in the tutor's archive and in the admin's figures."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from matching import SystemClock

from ..lessons.videos import make_video
from .conftest import DESKTOP, PHONE, Pages, shot


@pytest.fixture
def clock() -> SystemClock:
    # Counting a complete view needs the server's time to pass while the video plays.
    return SystemClock()


async def test_upload_review_find_and_watch_to_the_end(factory, pages: Pages, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    tutor = await factory.tutor(org, subjects=("physics",))
    admin = await factory.admin_of(tutor)
    student = await factory.user("student", org)  # of the tutor's school, so in the school admin's figures
    joule = await factory.knowledge_point("physics", "焦耳定律")
    video = make_video(tmp_path / "焦耳定律.webm", 4.0, fmt="webm", vcodec="libvpx-vp9", acodec="libopus", size=(320, 240))

    page = await pages.open(tutor.username, DESKTOP)
    await page.wait_for_load_state("networkidle")  # the home view has finished drawing before we leave it
    await page.goto(pages.base + "/#/lessons/mine")
    await page.fill("#up-title", "焦耳定律的实验")
    await page.select_option("#up-subject", "physics")
    await expect(page.locator(f"#up-kp option[value='{joule}']")).to_have_count(1)
    await page.select_option("#up-kp", str(joule))
    await page.set_input_files("#up-file", str(video))
    await page.click("#upload-form button[type=submit]")
    await expect(page.locator("#up-progress")).to_have_attribute("value", "100")
    await expect(page.locator("#up-status")).to_contain_text("上传完成")
    card = page.locator("#my-lessons article").first
    await expect(card.locator("[data-media=ready]")).to_be_visible(timeout=30_000)
    await expect(card.locator("[data-review=pending]")).to_have_text(" · 等待审核")
    await shot(page, "lessons-tutor")

    desk = await pages.open(admin.username, DESKTOP)
    await desk.wait_for_load_state("networkidle")
    await desk.goto(pages.base + "/#/lessons/review")
    item = desk.locator("#lesson-review article")
    await expect(item).to_have_count(1)
    await item.get_by_role("button", name="观看视频").click()
    await expect(item.locator("video")).to_have_count(1)
    await shot(desk, "lessons-review")
    await item.get_by_role("button", name="通过").click()
    await expect(desk.locator("#lesson-review")).to_contain_text("没有等待你审核的微课。")

    phone = await pages.open(student.username, PHONE)
    await phone.wait_for_load_state("networkidle")
    await phone.goto(pages.base + "/#/lessons")
    await phone.select_option("#lesson-subject", "physics")
    await expect(phone.locator(f"#lesson-kp option[value='{joule}']")).to_have_count(1)
    await phone.select_option("#lesson-kp", str(joule))
    found = phone.locator("#lesson-list article")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("焦耳定律的实验")
    await shot(phone, "lessons-catalogue")
    for words, n in (("实验", 1), ("欧姆", 0), ("定律 实验", 1)):  # title search: the Q&A centre's, by two characters
        await phone.fill("#lesson-q", words)
        await phone.press("#lesson-q", "Enter")
        await expect(found).to_have_count(n)
    # With words typed, the default order is named for what it is: best match first, then newest.
    await expect(phone.locator("#lesson-sort option[value='newest']")).to_have_text("最相关（同等时最新）")
    await found.get_by_role("link", name="焦耳定律的实验").click()
    await expect(phone.locator("#player")).to_have_count(1)
    played = await phone.evaluate("() => document.getElementById('player').play().then(() => true, (e) => String(e))")
    assert played is True, f"Chromium could not play the lesson's H.264/AAC MP4: {played}"
    await phone.wait_for_function("() => document.getElementById('player').ended", timeout=30_000)
    await phone.wait_for_function("() => window.__tutoring.lesson && window.__tutoring.lesson.completed", timeout=10_000)
    await expect(phone.locator("#lesson-progress")).to_have_text("已完整观看本课。")
    await shot(phone, "lessons-player")

    await page.reload()
    await expect(page.locator("#lesson-archive tbody tr td.views")).to_have_text("1")
    await page.goto(pages.base + "/#/tutor")  # the tutor's main archive counts the lesson and its complete view
    figures = page.locator("#archive-figures")
    await expect(figures.locator("div", has_text="发布微课").locator("b")).to_have_text("1")
    await expect(figures.locator("div", has_text="微课完整观看").locator("b")).to_have_text("1")
    await desk.reload()
    for table in (desk.locator("#lesson-figures table").first, desk.locator("#lesson-figures table").last):  # scope, city board
        await expect(table.locator("td.views")).to_have_text("1")
