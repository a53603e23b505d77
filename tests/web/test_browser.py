"""A student page and a tutor page in real Chromium, through a whole session and its troubles."""
from __future__ import annotations

import re

from playwright.async_api import Page, expect
from sqlalchemy import select

from app.models import PointsEntry, TutoringSession

from ..images import png
from .conftest import DESKTOP, PHONE, Pages, shot

QUESTION = "串联电路里电流处处相等吗？第二问不会"


async def ask(student: Page, text: str = QUESTION, photo: bool = True) -> None:
    await student.goto(student.url.split("#")[0] + "#/ask")
    await student.select_option("#subject", "physics")
    await student.fill("#question", text)
    if photo:
        await student.set_input_files("#photo", files=[{"name": "题目.png", "mimeType": "image/png", "buffer": png((120, 90), "blue")}])
        await expect(student.locator("#thumbs img")).to_have_count(1)
    await student.click("#ask-submit")


async def start_session(factory, pages: Pages, shots: bool = False):  # type: ignore[no-untyped-def]
    """A student (phone) asks with a photo; the tutor (laptop) is rung and accepts; both are live."""
    org = await factory.org()
    student_user = await factory.user("student", org, school=1)
    tutor_user = await factory.tutor(org, subjects=("physics",))
    tutor = await pages.open(tutor_user.username, DESKTOP)
    await tutor.click("#duty-toggle")
    await expect(tutor.locator("#duty-state")).to_contain_text("在线，等待学生求助")
    student = await pages.open(student_user.username, PHONE)
    if shots:
        await shot(student, "student-ask")
    await ask(student)
    offer = tutor.locator("article.offer")
    await expect(offer).to_contain_text(QUESTION)
    await expect(offer).to_contain_text("初二")
    await expect(offer.locator("img")).to_have_count(1)  # the student's photo, shown to the tutor
    assert "🔔" in await tutor.title()
    if shots:
        await shot(tutor, "tutor-offer-ringing")
    await offer.locator("button.accept").click()
    for page in (student, tutor):
        await page.wait_for_url("**#/session/*")
        await expect(page.locator("#media-status")).to_have_text("语音：已接通", timeout=20_000)
    session_id = int(student.url.rsplit("/", 1)[1])
    # The countdown to the 30-minute cap runs on the page's own clock, set against the server's.
    await expect(student.locator("#countdown")).to_have_text(re.compile(r"^(30:00|29:[0-5]\d)$"), timeout=10_000)
    return student, tutor, session_id, student_user, tutor_user


async def inbound_packets(page: Page) -> int:
    return await page.evaluate("() => window.__tutoring.call.inboundPackets()")


async def say(page: Page, text: str) -> None:
    await page.fill("#chat-input", text)
    await page.press("#chat-input", "Enter")


async def test_a_whole_session_in_two_browsers(factory, pages: Pages, app, clock) -> None:  # type: ignore[no-untyped-def]
    student, tutor, session_id, student_user, tutor_user = await start_session(factory, pages, shots=True)

    # Audio flows both ways: each side has received RTP packets from the other's fake microphone.
    for page in (student, tutor):
        await page.wait_for_function("async () => (await window.__tutoring.call.inboundPackets()) > 20", timeout=15_000)

    # The tutor draws on the whiteboard with the mouse; the stroke appears on the student's canvas.
    box = await tutor.locator("#board").bounding_box()
    assert box
    await tutor.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    await tutor.mouse.down()
    for i in range(1, 11):
        await tutor.mouse.move(box["x"] + box["width"] * (0.2 + 0.06 * i), box["y"] + box["height"] * 0.5)
    await tutor.mouse.up()
    await student.wait_for_function("() => window.__tutoring.board.strokes.length === 1")
    # Ink at the middle of the stroke (board x 5000, y 5000), none far away from it.
    assert await student.evaluate("() => window.__tutoring.board.inkAt(5000, 5000)")
    assert not await student.evaluate("() => window.__tutoring.board.inkAt(5000, 9000)")

    # Chat both ways; contact details are masked before the other side sees them.
    await say(student, "老师好，第二问怎么想？")
    await expect(tutor.locator("#chat-log")).to_contain_text("老师好，第二问怎么想？")
    await say(tutor, "先看电流表接在哪里，加我微信 abc12345")
    await expect(student.locator("#chat-log")).to_contain_text("先看电流表接在哪里")
    await expect(student.locator("#chat-log")).not_to_contain_text("abc12345")
    # Each line says who wrote it and when: the student reads the tutor's name, the tutor "学生".
    await expect(student.locator("#chat-log li.them").last).to_contain_text(f"{tutor_user.real_name} · ")
    await expect(tutor.locator("#chat-log li.them").last).to_contain_text("学生 · ")
    await expect(student.locator("#chat-log li.me").last).to_contain_text("我 · ")
    # Muting is shown on the other side.
    await tutor.click("#mute")
    await expect(student.locator("#peer-muted")).to_have_text("对方已静音")
    await tutor.click("#mute")
    await expect(student.locator("#peer-muted")).to_have_text("")
    await shot(student, "student-session")
    await shot(tutor, "tutor-session")

    clock.advance(7 * 60)  # seven minutes of tutoring on the server's clock
    await student.click("#hangup")
    await student.wait_for_url(f"**#/rate/{session_id}")
    await expect(tutor.locator("#flash")).to_contain_text("学生挂断")
    await tutor.wait_for_url("**#/tutor")

    await expect(student.locator("form")).to_contain_text("07:00")
    await expect(student.locator("#rate-tutor")).to_have_text(f"辅导老师：{tutor_user.real_name}")  # whom they rate
    await student.locator("#stars label").nth(4).click()
    await student.fill("#comment", "讲得很清楚")
    await shot(student, "student-rate")
    await student.click("#rate-submit")
    await student.wait_for_url("**#/history")
    row = student.locator(f"#sessions tr[data-session='{session_id}']")
    await expect(row).to_contain_text("★★★★★")
    await expect(row).to_contain_text("07:00")

    # The tutor's archive shows the session and its figures.
    await tutor.reload()
    await expect(tutor.locator(f"#sessions tr[data-session='{session_id}']")).to_contain_text("学生挂断")
    figures = tutor.locator("#archive-figures")
    await expect(figures.locator("div").nth(0)).to_have_text("1辅导次数")
    await expect(figures.locator("div").nth(1)).to_have_text("7.00辅导分钟")
    await expect(figures.locator("div").nth(2)).to_have_text("5.00平均评分")
    await shot(tutor, "tutor-desk")
    # ... and downloads as a spreadsheet: the session with its minutes, rating and points.
    async with tutor.expect_download() as info:
        await tutor.locator("#archive-export button.export-csv").click()
    lines = open(await (await info.value).path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "时间,类别,编号,学科,内容,分钟,评分,积分" and len(lines) == 2
    cells = lines[1].split(",")
    assert cells[1:4] == ["一对一辅导", str(session_id), "物理"] and cells[5:7] == ["7.00", "5"] and float(cells[7]) > 0

    async with app.state.sessionmaker() as db:
        s = await db.get(TutoringSession, session_id)
        assert (s.state, s.end_reason, s.duration_s, s.rating, s.rating_comment) == ("ended", "hangup_student", 420, 5, "讲得很清楚")
        points = (await db.execute(select(PointsEntry).where(PointsEntry.source_kind == "one_to_one", PointsEntry.source_id == session_id))).scalars().all()
        assert [p.tutor_id for p in points] == [tutor_user.id]


async def test_the_students_connection_drops_and_comes_back(factory, pages: Pages, app) -> None:  # type: ignore[no-untyped-def]
    student, tutor, session_id, *_ = await start_session(factory, pages)
    ctx = student.context

    # The phone loses its network: the websocket is cut and nothing can reconnect for a while.
    await ctx.set_offline(True)
    await student.evaluate("() => window.__tutoring.live.ws.close()")
    await expect(student.locator("#conn")).to_contain_text("网络已断开")
    await expect(tutor.locator("#peer-status")).to_have_text("对方网络断开，等待对方重连…")
    await say(student, "我这边网断了一下")  # typed while offline: sent after the reconnect
    await ctx.set_offline(False)

    await expect(student.locator("#conn")).to_have_text("● 已连接", timeout=15_000)
    await expect(tutor.locator("#chat-log")).to_contain_text("对方已重新连接")
    await expect(tutor.locator("#chat-log")).to_contain_text("我这边网断了一下")
    await say(tutor, "没关系，我们继续")
    await expect(student.locator("#chat-log")).to_contain_text("没关系，我们继续")
    # Audio still flows on both sides after the drop.
    before = await inbound_packets(tutor)
    await tutor.wait_for_function(f"async () => (await window.__tutoring.call.inboundPackets()) > {before + 10}", timeout=10_000)
    async with app.state.sessionmaker() as db:
        assert (await db.get(TutoringSession, session_id)).state == "live"


async def test_waiting_cancel_and_a_request_outside_the_window(factory, pages: Pages, clock) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    student_user = await factory.user("student", org)
    student = await pages.open(student_user.username, PHONE)

    # Nobody of the subject is on duty: the student is told so at once (no queue position or
    # estimate that cannot come true) and offered Q&A; they cancel instead.
    await ask(student, "二次函数的顶点怎么求", photo=False)
    await student.wait_for_url("**#/wait/*")
    await expect(student.locator("#wait-status")).to_contain_text("现在没有在线的这门学科的老师。")
    await expect(student.locator("#to-question")).to_be_visible()
    await shot(student, "student-waiting")
    await student.click("#cancel")
    await expect(student.locator("#wait-message")).to_have_text("已取消这次求助。")
    await expect(student.locator("#cancel")).to_have_count(0)

    # After 21:00 the window is closed: the page says so and when it opens next, in Chinese.
    clock.advance(2.5 * 3600)  # 21:30 on a Wednesday
    await student.goto(student.url.split("#")[0] + "#/ask")
    await expect(student.locator("#window-status")).to_contain_text("现在不是在线辅导时间。下次开放：")
    await expect(student.locator("#window-status")).to_contain_text("18:00")
    # Before filling anything in, the student is offered the forms that work now.
    await expect(student.locator("#closed-qa")).to_have_text("到问答中心提问")
    await expect(student.locator("#closed-lessons")).to_have_text("看微课")
    await ask(student, "二次函数的顶点怎么求", photo=False)
    error = student.locator("#ask-error")
    await expect(error).to_contain_text("现在不是在线辅导时间。下次开放：")
    await expect(error).to_contain_text("周四")
    await shot(student, "student-outside-window")
    await student.click("#to-question")
    await expect(student.locator("#question-saved")).to_have_text("已转为问答中心的问题，老师会在那里回答你。")


async def test_english_is_one_switch_away(pages: Pages, browser) -> None:  # type: ignore[no-untyped-def]
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    pages.contexts.append(page.context)
    await page.goto(pages.base + "/")
    await expect(page.locator("h1")).to_have_text("登录")
    await page.click("#lang-switch")
    await expect(page.locator("h1")).to_have_text("Sign in")
    await page.fill("#username", "nobody")
    await page.fill("#password", "wrong-password")
    await page.keyboard.press("Enter")
    await expect(page.locator("p.error")).to_have_text("Wrong username or password.")
    await page.reload()  # the choice is remembered
    await expect(page.locator("h1")).to_have_text("Sign in")
