"""A class in real Chromium: a tutor and three students in separate browser contexts, audio
through each media backend — the service's aiortc room and Janus (started for this run by
scripts/ensure-janus.sh; the test fails if it cannot be) —, the floor passed and heard, the board
on every canvas, a student leaving and rejoining, the cap ending the class, and the records it leaves."""
from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from app.models import ClassAttendance, PointsEntry

from ..janus import janus_server, janus_settings  # noqa: F401 - the run's Janus
from .conftest import DESKTOP, PHONE, Pages


@pytest.fixture(params=["aiortc", "janus"])
def class_media(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def app_settings(app_settings, class_media, request, tmp_path):  # type: ignore[no-untyped-def]
    if class_media == "janus":
        return janus_settings(app_settings, request.getfixturevalue("janus_server"), f"browser-{tmp_path.name}:")
    return app_settings

STATS = """async () => {
  const room = window.__tutoring.classRoom;
  let energy = 0, packets = 0;
  if (room && room.state.pc) (await room.state.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') { energy += s.totalAudioEnergy || 0; packets += s.packetsReceived || 0; }
  });
  return { energy, packets };
}"""


async def audio(page: Page) -> dict[str, float]:
    return await page.evaluate(STATS)  # type: ignore[no-any-return]


async def hears_more(page: Page, than: float, timeout: int = 20_000) -> None:
    await page.wait_for_function(f"async () => (await ({STATS})()).energy > {than} + 1e-6", timeout=timeout)


async def enter(page: Page, cid: int, listens: bool = True) -> None:
    """Into the class; its media connected, and (a listener) its audio arriving. The aiortc room
    sends the tutor silence while nobody has the floor; Janus forwards packets only from a voice."""
    await page.goto(page.url.split("#")[0] + "#/classes")
    await page.locator(f"#class-list li[data-class-id='{cid}'] a.enter").click()
    await page.wait_for_function(f"() => window.__tutoring.classRoom && window.__tutoring.classRoom.classId === {cid}")
    await page.wait_for_function("() => window.__tutoring.classRoom.state.pc && window.__tutoring.classRoom.state.pc.connectionState === 'connected'",
                                 timeout=20_000)
    if listens:
        await page.wait_for_function(STATS.replace("return { energy, packets };", "return packets > 20;"), timeout=20_000)


async def test_a_class_with_a_tutor_and_three_students_in_chromium(factory, pages: Pages, app, clock, class_media) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    tutor_user = await factory.tutor(org, subjects=("math",))
    users = [await factory.user("student", org, school=i % 2) for i in range(3)]
    tutor = await pages.open(tutor_user.username, DESKTOP)
    await tutor.goto(tutor.url.split("#")[0] + "#/classes")
    await tutor.fill("#class-title", "一次函数的图像")
    await tutor.fill("#class-starts", "2026-11-25T19:30")
    await tutor.click("#schedule-class button[type=submit]")
    await expect(tutor.locator("#class-list li")).to_contain_text("一次函数的图像")
    cid = int(await tutor.locator("#class-list li").first.get_attribute("data-class-id") or 0)

    students = []
    for u in users:
        page = await pages.open(u.username, PHONE)
        await page.goto(page.url.split("#")[0] + "#/classes")
        await page.locator(f"#class-list li[data-class-id='{cid}'] button.enrol").click()
        await expect(page.locator(f"#class-list li[data-class-id='{cid}'] .enrolled")).to_be_visible()
        students.append(page)

    clock.advance(30 * 60)  # 19:30: the tutor opens the class, the students come in
    await enter(tutor, cid, listens=False)
    for page in students:
        await enter(page, cid)
    for page in students:  # every student hears the tutor's (fake) microphone
        await hears_more(page, 0.0)
    if class_media == "janus":  # the four connections are Janus's, not the service's
        assert app.state.classes.media.name == "janus"
        assert await app.state.classes.media.room_stats(cid) == {"participants": 4, "connected": 4, "floor": None,
                                                                  "tutor": tutor_user.id}
    quiet = (await audio(tutor))["energy"]
    assert quiet < 1e-6  # nobody has the floor: the tutor hears silence

    first, second, third = students
    await first.click("#raise-hand")
    hand = tutor.locator(f"#participants li[data-user-id='{users[0].id}']")
    await expect(hand).to_contain_text("举手中")
    await hand.locator("button.give-floor").click()
    await expect(first.locator("#class-status")).to_contain_text("你正在发言")
    await hears_more(tutor, quiet)  # the tutor hears the floor holder
    await tutor.evaluate("() => window.__tutoring.classRoom.state.mic.getAudioTracks().forEach((t) => { t.enabled = false; })")
    await tutor.wait_for_timeout(500)
    before = [(await audio(p))["energy"] for p in (second, third)]
    for page, e in zip((second, third), before):
        await hears_more(page, e)  # with the tutor silent, the others still hear the floor holder
    await tutor.click("#take-floor")
    await expect(first.locator("#class-status")).to_have_text("")
    await hand.locator("button.mute-voice").click()  # the voice apart from the chat
    await expect(first.locator("#class-notice")).to_have_text("老师关闭了你的声音：全班听不到你。")
    await expect(hand).to_contain_text("声音已关闭")
    await hand.locator("button.mute-voice").click()
    await expect(first.locator("#class-notice")).to_have_text("")

    box = await tutor.locator("#board").bounding_box()
    assert box
    await tutor.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    await tutor.mouse.down()
    for i in range(1, 11):
        await tutor.mouse.move(box["x"] + box["width"] * (0.2 + 0.06 * i), box["y"] + box["height"] * 0.5)
    await tutor.mouse.up()
    for page in students:
        await page.wait_for_function("() => window.__tutoring.classRoom.board.strokes.length === 1")

    await third.click("#leave-class")  # the third leaves for five minutes and comes back
    await expect(tutor.locator(f"#participants li[data-user-id='{users[2].id}']")).to_have_count(0)
    clock.advance(5 * 60)
    await enter(third, cid)
    await third.wait_for_function("() => window.__tutoring.classRoom.board.strokes.length === 1")  # the board as it is
    await hears_more(third, 0.0)

    clock.advance(25 * 60)  # 20:00: the cap
    await app.state.classes.tick()
    for page in (tutor, *students):
        await expect(page.locator("#class-status")).to_have_text("课堂已结束。")

    async with factory.session() as db:
        rows = dict((await db.execute(select(ClassAttendance.student_id, ClassAttendance.seconds)
                                      .where(ClassAttendance.live_class_id == cid))).all())
        points = (await db.execute(select(PointsEntry.points).where(PointsEntry.source_kind == "class",
                                                                      PointsEntry.source_id == cid))).scalars().all()
    assert rows == {users[0].id: 1800, users[1].id: 1800, users[2].id: 1500}
    assert points == [Decimal("6.15")]  # 30 minutes × 0.2 + 3 attendees × 0.05
