"""One layout from a phone to a wide screen, on every page (issue 13, item 2).

Each page is opened at 1280 and 390 px wide: nothing may scroll sideways. The components
that once collided across pages are measured too: the simulator's keypad keys (squashed
by the chart legend's rule) and the dashboard's figures (shrunk by the home cards' rule).
Screenshots go to ``SC_SHOTS`` (default /tmp/shots/) to be looked at.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import account_url, sign_in
from tests.browser.site_pages import LOGIN, admin_pages, agent_pages, make_objects, open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SC_SHOTS", "/tmp/shots"))
WIDTHS = (1280, 390)

# The elements sticking out past the right edge, to say *what* scrolls sideways.
OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} right=${Math.round(box.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, out: out.slice(0, 8)};
}"""


@pytest.fixture
def sized_page(browser, request):
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 800 if width > 700 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.width = width
    yield page
    context.close()


def fits(page, name: str, role: str) -> str | None:
    """None when the page fits its viewport; else what sticks out. Takes the screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{page.width}-{role}-{name}.png"), full_page=True)
    measured = page.evaluate(OVERFLOW_JS)
    if measured["scroll"] <= measured["inner"]:
        return None
    return f"{name} ({role}, {page.width} px): {measured['scroll']} px wide: {measured['out']}"


def show_keypad(page) -> None:
    """The keypad is shown once a call is placed; its layout is what is measured here."""
    page.evaluate("document.getElementById('sim-call').hidden = false")


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=lambda w: f"{w}px")
def test_it_fits_every_page_in_the_window(sized_page, live_server, acme, alice, bob):
    page = sized_page
    objects = make_objects(acme, alice, bob)
    problems = []

    page.goto(account_url(live_server, acme, LOGIN.path))
    page.wait_for_selector(LOGIN.ready)
    problems.append(fits(page, LOGIN.name, "anonymous"))

    sign_in(page, live_server, acme, "alice@acme.test")
    for site_page in admin_pages(objects):
        open_page(page, live_server, acme, site_page)
        if site_page.name == "simulator":
            show_keypad(page)
        problems.append(fits(page, site_page.name, "admin"))

    page.context.clear_cookies()
    sign_in(page, live_server, acme, "bob@acme.test")
    for site_page in agent_pages(objects):
        open_page(page, live_server, acme, site_page)
        problems.append(fits(page, site_page.name, "agent"))

    problems = [p for p in problems if p]
    assert not problems, "pages scroll sideways:\n" + "\n".join(problems)


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=lambda w: f"{w}px")
def test_it_gives_the_simulator_keys_room_to_press(sized_page, live_server, acme, alice):
    page = sized_page
    make_objects(acme, alice)
    sign_in(page, live_server, acme, "alice@acme.test")
    page.goto(account_url(live_server, acme, "/talk/simulator/"))
    show_keypad(page)
    widths = page.eval_on_selector_all("#sim-call button[data-key]", "keys => keys.map(k => k.getBoundingClientRect().width)")
    heights = page.eval_on_selector_all("#sim-call button[data-key]", "keys => keys.map(k => k.getBoundingClientRect().height)")
    assert len(widths) == 12
    assert min(widths) >= 40, f"keypad keys {widths}"
    assert min(heights) >= 40, f"keypad keys {heights}"


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=lambda w: f"{w}px")
def test_it_shows_the_dashboard_figures_large_with_their_unit(sized_page, live_server, acme, alice):
    page = sized_page
    make_objects(acme, alice)
    sign_in(page, live_server, acme, "alice@acme.test")
    page.goto(account_url(live_server, acme, "/dashboard/talk/"))
    page.wait_for_selector("[data-tile]")
    tiles = page.eval_on_selector_all(
        ".dash-tile-value",
        """values => values.map(value => {
          const box = value.getBoundingClientRect();
          const unit = value.parentElement.querySelector(".dash-tile-unit");
          const unitBox = unit && unit.getBoundingClientRect();
          return {
            size: parseFloat(getComputedStyle(value).fontSize),
            color: getComputedStyle(value).color,
            sameLine: !unit || (unitBox.left >= box.right - 1 && unitBox.top < box.bottom && unitBox.bottom > box.top),
          };
        })""",
    )
    assert len(tiles) >= 13
    assert all(t["size"] >= 24 for t in tiles), tiles
    assert all(t["sameLine"] for t in tiles), tiles
    # The figure is ink, not the muted grey of a label.
    assert all(t["color"] == "rgb(31, 41, 51)" for t in tiles), tiles


def test_the_console_puts_your_status_first_on_a_phone(browser, live_server, acme, bob):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, live_server, acme, "bob@acme.test")
        page.goto(account_url(live_server, acme, "/talk/console/"))
        page.wait_for_selector("#console-status")
        tops = page.evaluate(
            """() => Object.fromEntries(['console-status-title', 'console-offer-title', 'console-device-title',
                 'console-queues-title', 'console-recent-title'].map(id =>
                 [id, document.getElementById(id).getBoundingClientRect().top]))"""
        )
        assert min(tops, key=tops.get) == "console-status-title", tops
        # The offer right after it: that is what the agent acts on.
        assert sorted(tops, key=tops.get)[1] == "console-offer-title", tops
    finally:
        context.close()
