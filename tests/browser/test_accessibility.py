"""An axe-core scan of every page (issue 13, item 7): no serious or critical violation.

axe-core comes from the axe-playwright-python package (PyPI, a test extra); nothing of
it is committed. Each page is scanned at 1280 and 390 px: the phone layout rearranges
tables and the console, and contrast is checked on what is shown. A visible keyboard
focus ring is checked on its own (axe cannot see focus styles).
"""
from __future__ import annotations

import pytest

from tests.browser.conftest import account_url, sign_in
from tests.browser.site_pages import LOGIN, admin_pages, agent_pages, make_objects, open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def blocking_violations(axe, page, name: str) -> list[str]:
    results = axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
        found.append(f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}: {targets}")
    return found


@pytest.mark.parametrize("width", (1280, 390), ids=lambda w: f"{w}px")
def test_it_finds_no_serious_violation_on_any_page(browser, axe, live_server, acme, alice, bob, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    objects = make_objects(acme, alice, bob)
    found = []
    try:
        page.goto(account_url(live_server, acme, LOGIN.path))
        page.wait_for_selector(LOGIN.ready)
        found += blocking_violations(axe, page, LOGIN.name)

        sign_in(page, live_server, acme, "alice@acme.test")
        for site_page in admin_pages(objects):
            open_page(page, live_server, acme, site_page)
            if site_page.name == "simulator":
                page.evaluate("document.getElementById('sim-call').hidden = false")
            found += blocking_violations(axe, page, site_page.name)

        page.context.clear_cookies()
        sign_in(page, live_server, acme, "bob@acme.test")
        for site_page in agent_pages(objects):
            open_page(page, live_server, acme, site_page)
            found += blocking_violations(axe, page, site_page.name)
    finally:
        context.close()
    assert not found, "\n".join(found)


FOCUS_RING_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, width: parseFloat(style.outlineWidth), style: style.outlineStyle};
}"""


def test_it_shows_where_the_keyboard_is(page, live_server, acme, alice):
    """Tabbing lands on a link, a field or a button with an outline of at least 2 px."""
    make_objects(acme, alice)
    sign_in(page, live_server, acme, "alice@acme.test")
    for path in ("/tickets/", "/admin-center/talk/lines/"):
        page.goto(account_url(live_server, acme, path))
        for _ in range(4):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING_JS)
            assert ring["style"] != "none" and ring["width"] >= 2, (path, ring)
