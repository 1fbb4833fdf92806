"""Real-browser tests: Playwright driving Debian's Chromium (it cannot download its own)."""
from __future__ import annotations

import os
import shutil

import pytest

from callsim import gateway
from tests.talk.calls_support import ClientTransport

# Playwright's sync API keeps an event loop in this thread; Django would then refuse
# ORM calls made by the test itself. The live server runs in its own thread anyway.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: Playwright's sync API leaves an event loop running in
# this thread while it lives, which would break the asyncio tests collected later.
@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page(browser):
    yield from _new_page(browser)


@pytest.fixture
def second_page(browser):
    """Another person's browser (its own cookies): a supervisor and an agent side by side."""
    yield from _new_page(browser)


@pytest.fixture
def console_inline(settings, monkeypatch):
    """For tests of the agent console on the (WSGI) live server: tasks run inline (the live
    server's thread reads the same settings, so it routes and dials inline), the simulator's
    calls reach the server through Django's test client, and the console polls every second
    (no socket on a WSGI server)."""
    settings.TASKS_SYNC = True
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)
    settings.CONSOLE_POLL_SECONDS = 1


def account_url(live_server, account, path: str = "/") -> str:
    port = live_server.url.rsplit(":", 1)[1]
    return f"http://{account.subdomain}.localhost:{port}{path}"


def sign_in(page, live_server, account, email: str, next_path: str = "/") -> None:
    """Sign in through the login page, as a person would, and wait for ``next_path``."""
    from urllib.parse import quote

    from tests.conftest import PASSWORD

    page.goto(account_url(live_server, account, f"/login/?next={quote(next_path)}"))
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")
    page.wait_for_selector(".mainnav")
