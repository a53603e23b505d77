"""A newcomer's first look at the demo city, in the browser: what the last round of trying the
service as a new user found wrong on screen (issue 21, item 6)."""
from __future__ import annotations

from playwright.async_api import expect

from sqlalchemy import select

from app.models import TutoringSession, User
from app.seed.demo import DEMO_PASSWORD, seed_demo

from .conftest import DESKTOP, PHONE, Pages, shot


async def _demo(factory, app_settings) -> None:  # type: ignore[no-untyped-def]
    async with factory.session() as db:
        await seed_demo(db, app_settings)
        await db.commit()


async def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


async def test_a_student_and_a_tutor_of_the_demo_city_see_tidy_pages(factory, client, app_settings, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    await _demo(factory, app_settings)
    page = await pages.browser.new_page(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    await page.goto(pages.base + "/")
    await expect(page.locator("#username")).to_be_visible()
    await expect(page.locator("#sign-out")).to_be_hidden()  # nobody to sign out yet
    await page.close()

    async with factory.session() as db:
        sessions = (await db.execute(select(TutoringSession.student_id, TutoringSession.rating)
                                     .where(TutoringSession.state == "ended", TutoringSession.live_at.is_not(None)))).all()
        unrated = {sid for sid, rating in sessions if rating is None}
        all_rated = sorted({sid for sid, _ in sessions} - unrated)[0]
        names = dict((await db.execute(select(User.id, User.username).where(User.id.in_([all_rated, min(unrated)])))).all())
    page = await pages.open(names[all_rated], PHONE, password=DEMO_PASSWORD)
    await page.goto(pages.base + "/#/history")
    await expect(page.locator("#sessions tbody tr").first).to_be_visible()
    assert "null" not in await page.locator("#view").inner_text()  # nothing unrated: no stray "null"

    student = await pages.open(names[min(unrated)], PHONE, password=DEMO_PASSWORD)
    await student.goto(pages.base + "/#/history")
    links = student.locator("a.unrated")
    await expect(links.first).to_be_visible()
    for text in await links.all_inner_texts():  # named by when and what, not "#322"
        assert not text.startswith("#") and any(ch.isdigit() for ch in text), text
    await student.goto(pages.base + "/#/ask")
    await expect(student.locator("#photo-album")).to_be_visible()  # a styled button …
    raw = await student.locator("#photo").evaluate("(e) => e.getBoundingClientRect().width")
    assert raw <= 1  # … not the browser's raw "Choose Files" (the input stays, visually hidden, for the label)
    await no_sideways_scroll(student)

    tutor = await pages.open("tutor5", DESKTOP, password=DEMO_PASSWORD)
    title = await tutor.locator("h1").first.inner_text()
    assert "老师 老师" not in title and "老师老师" not in title, title
    await expect(tutor.locator("#sessions tbody tr").first).to_be_visible()
    times = await tutor.locator("#sessions tbody tr td:first-child").all_inner_texts()
    stamps = await tutor.evaluate("() => [...document.querySelectorAll('#sessions tbody tr')].map((r) => r.dataset.session)")
    assert len(times) == len(stamps) > 1
    token = (await client.post("/api/auth/sign-in", json={"username": "tutor5", "password": DEMO_PASSWORD})).json()["access_token"]
    sessions = {s["id"]: s for s in (await client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"})).json()}
    order = [sessions[int(i)]["live_at"] or sessions[int(i)]["matched_at"] for i in stamps]
    assert order == sorted(order, reverse=True)  # newest first by when the session happened


async def test_the_dashboard_at_phone_width_after_a_resize(factory, app_settings, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    await _demo(factory, app_settings)
    page = await pages.open("city_admin", DESKTOP, password=DEMO_PASSWORD)
    await page.click("nav a[href='#/dashboard']")
    await page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-hot'))")
    # Counts are whole numbers: the axis does not step by 0.2.
    ticks = await page.evaluate("() => Chart.getChart(document.getElementById('chart-hot')).scales.y.ticks.map((t) => t.value)")
    assert ticks and all(float(v).is_integer() for v in ticks), ticks
    await page.set_viewport_size(PHONE)
    await page.wait_for_timeout(400)
    await no_sideways_scroll(page)
    # A school's name stays on one line in the tables (it had wrapped one character per line).
    cell = page.locator("#participation-table tbody tr td:nth-child(2)").first
    height = await cell.evaluate("(td) => [td.getBoundingClientRect().height, parseFloat(getComputedStyle(td).lineHeight) || 20]")
    assert height[0] < 2 * height[1] + 16, height
    # Classes are named as schools name them.
    names = await page.locator("section:has(h2:text('班级排行')) tbody tr td:nth-child(2)").all_inner_texts()
    assert names and all("年级" not in n and n.endswith("班") for n in names), names
    await shot(page, "admin-dashboard-phone")


async def test_api_docs_render_with_the_network_cut(pages: Pages) -> None:
    page = await pages.browser.new_page(viewport=DESKTOP)
    outside: list[str] = []

    async def only_local(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(pages.base):
            await route.continue_()
        else:  # no CDN, no internet: every other request fails, as it would offline
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_local)
    await page.goto(pages.base + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Open online tutoring", timeout=30_000)
    await expect(page.locator(".opblock-tag-section").first).to_be_visible()  # the operations, from /openapi.json
    assert outside == []
    await page.close()
