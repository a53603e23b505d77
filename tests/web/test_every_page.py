"""Every feature the API has is reached through the pages' navigation, never a typed URL
(issue 21, item 7): applying to tutor, a session's record with reporting and blocking, the admins'
report review with the transcript, the calendar, the tables, and changing one's password."""
from __future__ import annotations

import json
from datetime import timedelta

from playwright.async_api import expect

from app.models import HelpRequest, SessionEvent, TutoringSession, utcnow

from ..factories import PASSWORD
from .conftest import DESKTOP, PHONE, Pages, shot


async def ended_session_with_chat(factory, student, tutor) -> int:  # type: ignore[no-untyped-def]
    live = utcnow() - timedelta(hours=1)
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="math", text="二次函数的顶点", status="matched", closed_at=live)
        db.add(req)
        await db.flush()
        s = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="math", state="ended",
                            matched_at=live, live_at=live, ended_at=live + timedelta(minutes=12), duration_s=720,
                            end_reason="hangup_student")
        db.add(s)
        await db.flush()
        db.add_all([SessionEvent(session_id=s.id, seq=1, kind="chat", sender_id=tutor.id, body=json.dumps({"text": "先配方"}),
                                 created_at=live + timedelta(minutes=1)),
                    SessionEvent(session_id=s.id, seq=2, kind="chat", sender_id=student.id, body=json.dumps({"text": "明白了"}),
                                 created_at=live + timedelta(minutes=2))])
        await db.commit()
        return s.id


async def test_a_teacher_applies_from_the_sign_in_page(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    page = await pages.browser.new_page(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    await page.goto(pages.base + "/")
    await page.click("#apply-link a")
    await page.fill("#apply-password", "a-long-password")
    await page.fill("#apply-name", "王建国")
    await page.fill("#apply-school", org.schools[0].code)
    await page.click("#apply-submit")
    await expect(page.locator("#apply-result")).to_have_text("请至少选择一个学科。")  # checked before sending
    await page.check("input[name=subjects][value=physics]")
    await page.check("input[name=bands][value=junior]")
    await page.click("#apply-submit")
    await expect(page.locator("#apply-done")).to_be_visible()
    username = await page.locator("#apply-assigned").inner_text()
    r = await factory.client.post("/api/auth/sign-in", json={"username": username, "password": "a-long-password"})
    assert r.status_code == 200  # the applicant signs in with the assigned name to follow the review
    await page.close()
    admin = await factory.user("school_admin", org)
    desk = await pages.open(admin.username, DESKTOP)
    await expect(desk.locator("#applications")).to_contain_text("王建国")


async def test_a_student_rereads_a_session_reports_it_and_an_admin_acts(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    student_user = await factory.user("student", org)
    tutor_user = await factory.tutor(org, school=1)
    session_id = await ended_session_with_chat(factory, student_user, tutor_user)

    student = await pages.open(student_user.username, PHONE)
    await student.click("nav a[href='#/history']")
    await student.click(f"#sessions tr[data-session='{session_id}'] a.record")
    chat = student.locator("#record-chat li")
    await expect(chat).to_have_count(2)
    await expect(chat.nth(0)).to_contain_text("老师 · ")  # who and when, then what
    await expect(chat.nth(0)).to_contain_text("先配方")
    await expect(chat.nth(1)).to_contain_text("我 · ")
    await student.fill("#report-reason", "老师让我加他的微信")
    await student.click("#report-submit")
    await expect(student.locator("#report-done")).to_be_visible()
    await student.click("#block-tutor")
    await expect(student.locator("#block-tutor")).to_be_disabled()

    # The same student reports an answer in the Q&A centre: it joins the same list.
    helper = await factory.tutor(org, school=2, subjects=("math",))
    s_auth, h_auth = await factory.sign_in(student_user), await factory.sign_in(helper)
    q = (await factory.client.post("/api/qa/questions", headers=s_auth, json={"subject": "math", "text": "配方法的步骤"})).json()
    a = (await factory.client.post(f"/api/qa/questions/{q['id']}/answers", headers=h_auth, json={"text": "加我QQ 12345678 再讲"})).json()
    r = await factory.client.post(f"/api/qa/questions/{q['id']}/reports", headers=s_auth, json={"reason": "回答里要我的QQ", "answer_id": a["id"]})
    assert r.status_code == 201, r.text

    admin_user = await factory.user("school_admin", org)
    admin = await pages.open(admin_user.username, DESKTOP)
    await admin.click("nav a[href='#/reports']")
    await expect(admin.locator("#reports article")).to_have_count(2)
    await shot(admin, "admin-reports")
    await admin.select_option("#reports-kind", "session")
    await expect(admin.locator("#reports article[data-kind='qa']")).to_have_count(0)
    await admin.select_option("#reports-kind", "")
    answer_card = admin.locator("#reports article[data-kind='qa']")
    await expect(answer_card).to_contain_text("回答里要我的QQ")
    await expect(answer_card.locator("blockquote")).to_have_text("加我QQ 12345678 再讲")  # as typed, for the admin
    await answer_card.locator("input").fill("含联系方式")
    await answer_card.locator("button.hide").click()
    await expect(answer_card).to_contain_text("内容已隐藏。")
    await admin.select_option("#reports-status", "actioned")
    answer_card = admin.locator("#reports article[data-kind='qa']")
    await expect(answer_card).to_contain_text("该内容现已隐藏。")
    await answer_card.locator("input").fill("复核：误判")
    await answer_card.locator("button.restore").click()
    await expect(answer_card).to_contain_text("内容已恢复显示")
    shown = (await factory.client.get(f"/api/qa/questions/{q['id']}", headers=await factory.sign_in(tutor_user))).json()
    assert [x["id"] for x in shown["answers"]] == [a["id"]]
    await admin.select_option("#reports-status", "open")  # the Q&A report is dismissed now: the session's is left
    card = admin.locator("#reports article")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("老师让我加他的微信")
    await expect(card.locator(".chat-log li")).to_have_count(2)  # the transcript, beside the report
    await card.locator("button.suspend").click()
    await expect(card.locator("p.error")).to_have_text("请写处理说明。")
    await card.locator("input").fill("核实：索要联系方式")
    await card.locator("button.suspend").click()
    await expect(card).to_contain_text(f"已停用账号 #{tutor_user.id}")
    r = await factory.client.post("/api/auth/sign-in", json={"username": tutor_user.username, "password": PASSWORD})
    assert r.status_code in (401, 403) and r.json()["error"] in ("AccountSuspended", "InvalidCredentials")


async def test_admins_reach_the_calendar_tables_and_their_account(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    admin_user = await factory.user("city_admin", org)
    page = await pages.open(admin_user.username, DESKTOP)
    await page.click("nav a[href='#/calendar']")
    await page.fill("#calendar-day", "2027-01-01")
    await page.select_option("#calendar-kind", "closed")
    await page.fill("#calendar-note", "元旦")
    await page.click("#calendar-submit")
    await expect(page.locator("#calendar-days tr[data-day='2027-01-01']")).to_contain_text("元旦")

    await page.click("nav a[href='#/tables']")
    await expect(page.locator("#online-rate tbody tr")).to_have_count(4)  # 初中/高中 × teachers/students
    await expect(page.locator("#tables")).to_contain_text("积分报酬")

    await page.click("nav a[href='#/account']")
    await page.fill("#old-password", "wrong-password")
    await page.fill("#new-password", "new-password-1")
    await page.fill("#new-password-again", "new-password-2")
    await page.click("#password-submit")
    await expect(page.locator("#password-error")).to_have_text("两次输入的新密码不一样。")
    await page.fill("#new-password-again", "new-password-1")
    await page.click("#password-submit")
    await expect(page.locator("#password-error")).not_to_be_empty()  # the server refuses the wrong current password


async def test_a_school_admin_resets_a_forgotten_password_and_suspends_an_account(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.user("student", org, real_name="张小明")
    tutor = await factory.tutor(org)
    admin = await factory.admin_of(student)
    page = await pages.open(admin.username, DESKTOP)
    await page.click("nav a[href='#/people']")
    await page.fill("#people-q", "小明")
    await page.click("#people-submit")
    row = page.locator(f"#people tr[data-user='{student.id}']")
    await expect(page.locator("#people tbody tr")).to_have_count(1)
    await row.locator("button.reset").click()
    new = await row.locator("code.new-password").inner_text()
    r = await factory.client.post("/api/auth/sign-in", json={"username": student.username, "password": new})
    assert r.status_code == 200  # the student signs in with what the admin handed over

    await page.fill("#people-q", tutor.username)
    await page.click("#people-submit")
    row = page.locator(f"#people tr[data-user='{tutor.id}']")
    await row.locator("input").fill("多次被举报")
    await row.locator("button.suspend").click()
    await expect(page.locator(f"#people tr[data-user='{tutor.id}']")).to_contain_text("已停用：多次被举报")
    r = await factory.client.post("/api/auth/sign-in", json={"username": tutor.username, "password": PASSWORD})
    assert r.json()["error"] == "AccountSuspended"
    await page.locator(f"#people tr[data-user='{tutor.id}'] button.reinstate").click()
    await expect(page.locator(f"#people tr[data-user='{tutor.id}']")).to_contain_text("正常")


async def test_a_tutor_edits_the_profile_from_the_desk(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    tutor = await factory.tutor(org)
    page = await pages.open(tutor.username, DESKTOP)
    await page.click("#profile-edit summary")
    await page.fill("#profile-bio", "教初中数学十年，电话 13812345678")
    await page.click("#profile-save")
    await expect(page.locator("#profile-note")).to_have_text("已保存。联系方式会被隐去。")
    bio = await page.input_value("#profile-bio")
    assert "教初中数学十年" in bio and "13812345678" not in bio
