"""The hub's dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
it shows nothing without a token, logs in once, and shows each step of a conversation and each
state change live, without reloading; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.hub import HubRun

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def hub(make_hub: Callable[..., HubRun], store_url: str) -> HubRun:
    if CHROMIUM is None:
        pytest.skip(reason="Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright", reason="playwright is in the test extra")
    run = make_hub(store_url)
    run.start()
    for who in ("alice", "bob", "admin"):
        run.mint(who)
    return run


async def cli(hub: HubRun, *args: str, who: str | None = None) -> dict[str, object]:
    result = await asyncio.to_thread(hub.cli, "--json", *args, who=who)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout) if result.stdout.strip() else {}
    return data


async def test_dashboard_follows_a_conversation_live(hub: HubRun, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            # A phone's screen: the first-class user over WireGuard.
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(hub.url + "/")
            await expect(page.locator("input[name=token]")).to_be_visible()
            body = await page.inner_text("body")
            assert "alice" not in body and "bob" not in body  # nothing of the agents without a token
            await page.fill("input[name=token]", hub.tokens["bob"])  # an agent's token is not enough
            await page.click("button[type=submit]")
            await expect(page.locator("#refused")).to_be_visible()
            await page.fill("input[name=token]", hub.tokens["admin"])
            await page.click("button[type=submit]")
            await expect(page.locator("#agents tbody tr")).to_have_count(3)
            await expect(page.locator("#live")).to_have_text("live")
            await page.evaluate("window.__sameLoad = true")

            bob = page.locator('#agents tr[data-agent="bob"]')
            await expect(bob.locator(".state")).to_have_text("idle", timeout=15000)
            # The demo keeps no transcript: no model or tokens to show, and the columns say so.
            await expect(bob.locator(".model")).to_have_text("—")
            await expect(bob.locator(".tokens")).to_have_text("—")
            sent = await cli(hub, "msg", "send", "bob", "--subject", "review", "please look", who="alice")
            message = page.locator(f'[data-message="{sent["id"]}"]')
            await expect(message).to_contain_text("please look", timeout=10000)
            await expect(message.locator(".who")).to_contain_text("woken", timeout=15000)
            await expect(bob.locator(".unread")).to_have_text("1")
            await expect(page.locator('#events li[data-kind="wake"]').first).to_contain_text("bob")

            await cli(hub, "msg", "read", str(sent["id"]), who="bob")
            await expect(message.locator(".who")).to_contain_text("read", timeout=10000)
            await expect(bob.locator(".unread")).to_have_text("0", timeout=10000)
            answer = await cli(hub, "msg", "reply", str(sent["id"]), "done", who="bob")
            await expect(page.locator(f'[data-message="{answer["id"]}"]')).to_contain_text(
                "done", timeout=10000
            )

            # a state change shows live too (the hub watches the panes)
            await asyncio.to_thread(hub.cli, "send", "bob", "delay3 think")
            await expect(bob.locator(".state")).to_have_text("busy", timeout=15000)
            await expect(bob.locator(".state")).to_have_text("idle", timeout=20000)

            await cli(hub, "msg", "close", str(sent["thread_id"]), who="alice")
            thread = page.locator(f'[data-thread="{sent["thread_id"]}"]')
            await expect(thread).to_have_count(0, timeout=10000)
            assert await page.evaluate("window.__sameLoad === true"), "the page reloaded"
            await page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
        finally:
            await browser.close()
