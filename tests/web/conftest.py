"""Browser tests: Debian's Chromium driven by Playwright against the real server (uvicorn on a
real socket, the page served from http://localhost so that getUserMedia works), with fake
microphones. Screenshots go to test-artifacts/screenshots (not committed)."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from ..factories import PASSWORD
from ..live.helpers import Server

CHROMIUM = os.environ.get("TUTORING_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # never skip: scripts/ensure-browser.sh installs it
        raise AssertionError(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh (make test does)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


@pytest.fixture
def backend() -> str:
    # One setup is enough for what a browser sees; the same flows run on both setups in tests/live.
    return "sqlite"


@pytest.fixture
async def site(app) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    srv = await Server(app).start()
    yield srv.base.replace("127.0.0.1", "localhost")
    await srv.stop()


class Pages:
    def __init__(self, browser: Browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    async def open(self, username: str, viewport: dict[str, int], lang: str = "zh-CN", password: str = PASSWORD) -> Page:
        """A signed-in page in its own browser context (its own storage, like another device)."""
        # Users are in Beijing; a browser in UTC would hide date bugs that they see (the day before until 08:00).
        ctx = await self.browser.new_context(viewport=viewport, locale=lang, timezone_id="Asia/Shanghai")
        self.contexts.append(ctx)
        page = await ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{username}: {e}"))
        page.on("dialog", lambda d: d.accept())
        await page.goto(self.base + "/")
        await page.fill("#username", username)
        await page.fill("#password", password)
        await page.click("form button[type=submit]")
        await page.wait_for_function("() => window.__tutoring.me && window.__tutoring.live && window.__tutoring.live.state === 'online'")
        return page

    async def close(self) -> None:
        for ctx in self.contexts:
            await ctx.close()


@pytest.fixture
async def pages(browser: Browser, site: str) -> AsyncIterator[Pages]:
    p = Pages(browser, site)
    yield p
    await p.close()
    assert not p.errors, f"uncaught errors in the pages: {p.errors}"


async def shot(page: Page, name: str) -> None:
    """The screen at 360 px and at 1280 px wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before: Any = page.viewport_size
    for label, size in (("360", PHONE), ("1280", DESKTOP)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(before)
