"""The content security policy in a real browser (issue 14, item 6).

Every page, as an admin and as an agent (and signed out, and the error pages), answers with
the strict policy of settings.CONTENT_SECURITY_POLICY, and Chromium reports no violation
of it: no inline script, style, style attribute or handler is left anywhere, Swagger UI
included. Violations are heard twice: a ``securitypolicyviolation`` listener that an init
script puts in every document (init scripts are not subject to the page's policy), and
Chromium's console message ("... violates the following Content Security Policy ...").

The live server of pytest-django is WSGI, without WebSockets: the sockets of the console
and the dashboard are proven on a daphne process serving this test's database
(PostgreSQL), where ``connect-src 'self'`` must let ``ws://`` of the same host through.
"""
from __future__ import annotations

import json
import sys

import pytest
from django.test import Client
from playwright.sync_api import expect

from supportcenter import selectors
from supportcenter.models import Account
from tests.browser.conftest import account_url, sign_in
from tests.browser.site_pages import LOGIN, SitePage, admin_pages, agent_pages, make_objects
from tests.supportcenter.test_access_log import free_port, serve, shares_database
from tests.talk.factories import make_greeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

LISTEN_FOR_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.scReportViolation([event.effectiveDirective, event.blockedURI, event.sourceFile + ":" + event.lineNumber,
                            event.sample, location.pathname].join(" | "));
});
"""


def directives(header: str | None) -> dict[str, list[str]]:
    parsed = {}
    for part in (header or "").split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict(header: str | None, where: str) -> None:
    policy = directives(header)
    assert policy, f"{where}: no Content-Security-Policy header"
    for name, sources in STRICT.items():
        assert policy.get(name) == sources, f"{where}: {name} is {policy.get(name)}"
    assert set(policy.get("img-src", [])) <= {"'self'", "data:"}, f"{where}: img-src {policy.get('img-src')}"
    assert "unsafe" not in header, f"{where}: {header}"


class Watched:
    """A browser context whose documents report every policy violation to ``violations``."""

    def __init__(self, browser):
        self.violations: list[str] = []
        self.checked: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.context.expose_function("scReportViolation", self._report)
        self.context.add_init_script(LISTEN_FOR_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", self._console)
        self.responses = []
        self.page.on("response", lambda response: self.responses.append(response))

    def _report(self, text: str) -> None:
        self.violations.append(text)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def open(self, url: str, ready: str, name: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response.status == status, f"{name}: {response.status}"
        assert_strict(response.headers.get("content-security-policy"), name)
        self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        self.checked.append(name)


@pytest.fixture
def watched(browser):
    watched = Watched(browser)
    yield watched
    watched.context.close()


@pytest.fixture(autouse=True)
def quick_polls(settings):
    settings.CONSOLE_POLL_SECONDS = 1  # the WSGI live server: the console polls (and meets a 401 soon)


def extra_admin_pages(objects: dict, greeting) -> list[SitePage]:
    """The admin pages site_pages does not walk: the forms for new things and an edit form."""
    return [
        SitePage("line-new", "/admin-center/talk/lines/new/", "form"),
        SitePage("greeting-new", "/admin-center/talk/greetings/new/", "form"),
        SitePage("greeting-detail", f"/admin-center/talk/greetings/{greeting.pk}/", "form"),
        SitePage("greetings-filtered", "/admin-center/talk/greetings/?category=callback", "#talk-greetings"),
    ]


def test_every_page_runs_under_the_strict_policy_with_no_violation(watched, live_server, acme, alice, bob,
                                                                     monkeypatch):
    objects = make_objects(acme, alice, bob)
    greeting = make_greeting(acme, "Evening welcome", category="welcome")
    page = watched.page
    port = live_server.url.rsplit(":", 1)[1]

    # Signed out: the base domain's landing page and an account's sign-in page.
    watched.open(f"http://localhost:{port}/", "h1", "landing")
    watched.open(account_url(live_server, acme, LOGIN.path), LOGIN.ready, "login")

    sign_in(page, live_server, acme, "alice@acme.test")
    for site_page in admin_pages(objects) + extra_admin_pages(objects, greeting):
        status = 404 if site_page.name == "not-found" else 200
        watched.open(account_url(live_server, acme, site_page.path), site_page.ready, f"admin {site_page.name}", status)
    # The greetings filter submits itself on change (a listener of app.js, not an inline handler).
    watched.open(account_url(live_server, acme, "/admin-center/talk/greetings/"), "#talk-greetings", "greetings")
    with page.expect_navigation():
        page.select_option("#category-filter", "welcome")
    assert "category=welcome" in page.url
    # The simulator's call panel, shown as a call would show it.
    watched.open(account_url(live_server, acme, "/talk/simulator/"), "#sim-dial", "simulator")
    page.evaluate("document.getElementById('sim-call').hidden = false")

    # The API reference: Swagger UI draws the schema, its start-up script a file of its own.
    watched.open(account_url(live_server, acme, "/api/docs/"), "#swagger-ui .info", "api-docs")
    expect(page.locator("#swagger-ui")).to_contain_text("/api/v2/users/me.json")
    script = [r for r in watched.responses if r.url == account_url(live_server, acme, "/api/docs/?script=")]
    assert script and script[0].ok and script[0].headers["content-type"].startswith("application/javascript")

    # Error pages: a page that fails (500), the Team plan's upgrade notice.
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "member_list", broken)
    watched.open(account_url(live_server, acme, "/admin-center/members/"), "h1", "server-error", 500)
    monkeypatch.undo()
    Account.objects.filter(pk=acme.pk).update(plan=Account.Plan.TEAM)
    watched.open(account_url(live_server, acme, "/dashboard/talk/"), "text=Upgrade to see the Talk dashboard", "upgrade")
    Account.objects.filter(pk=acme.pk).update(plan=Account.Plan.PROFESSIONAL)

    page.context.clear_cookies()
    sign_in(page, live_server, acme, "bob@acme.test")
    for site_page in agent_pages(objects):
        status = 403 if site_page.name == "forbidden" else 200
        watched.open(account_url(live_server, acme, site_page.path), site_page.ready, f"agent {site_page.name}", status)
    # The console with bob's offer, then signed out under it: the notice app.js writes.
    watched.open(account_url(live_server, acme, "/talk/console/"), "#offer-number", "console with an offer")
    page.context.clear_cookies()
    expect(page.locator(".signed-out-notice")).to_contain_text("Signed out")

    # A form whose CSRF cookie is gone: the "form expired" page (403).
    watched.open(account_url(live_server, acme, LOGIN.path), LOGIN.ready, "login again")
    page.context.clear_cookies()
    page.fill("#id_username", "bob@acme.test")
    page.fill("#id_password", "whatever-it-is")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[type=submit]")
    assert posted.value.status == 403
    assert_strict(posted.value.headers.get("content-security-policy"), "csrf-failure")
    page.wait_for_selector("text=This form has expired")
    page.wait_for_load_state("networkidle")

    # A host Django refuses (400, the page rendered without the request).
    watched.open(f"http://bad_host.localhost:{port}/", "h1", "bad-request", 400)

    assert watched.violations == []
    assert len(watched.checked) >= len(admin_pages(objects)) + len(agent_pages(objects)) + 10


def test_json_api_answers_carry_the_policy_and_still_work(acme, alice_api):
    """The policy is on every response (it costs a header and stops nothing a JSON client
    does); the API answers as before."""
    response = alice_api.get("/api/v2/users/me.json")
    assert response.status_code == 200 and response.json()["user"]["email"] == "alice@acme.test"
    assert_strict(response["Content-Security-Policy"], "users/me.json")
    schema = Client(HTTP_HOST="localhost").get("/api/schema/")
    assert schema.status_code == 200 and "unsafe" not in schema["Content-Security-Policy"]


# --- The sockets, on daphne ------------------------------------------------------------------
@pytest.fixture
def daphne(transactional_db, tmp_path):
    if not shares_database():
        pytest.skip("a daphne process reads this test's rows only on PostgreSQL (SQLite's test database is in memory)")
    port = free_port()
    command = [sys.executable, "-m", "supportcenter.logs", "-b", "127.0.0.1", "-p", str(port),
               "supportcenter.asgi:application"]
    with serve(command, tmp_path, "daphne", port) as served:
        yield served


def socket_messages(page) -> list[dict]:
    """Every JSON message the page's WebSockets receive."""
    received: list[dict] = []

    def on_socket(socket) -> None:
        def on_frame(payload) -> None:
            try:
                received.append({"url": socket.url, **json.loads(payload)})
            except (TypeError, ValueError):
                pass

        socket.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return received


def test_the_consoles_and_dashboards_sockets_connect_under_the_policy(watched, daphne, acme, alice, bob):  # SPEC R13
    page = watched.page
    received = socket_messages(page)
    sign_in(page, daphne, acme, "bob@acme.test", "/talk/console/")
    response = page.reload()
    assert_strict(response.headers.get("content-security-policy"), "console on daphne")
    expect(page.locator("#console-link")).to_have_attribute("data-state", "live")
    _wait_for(page, lambda: any(m.get("type") == "hello" and m["url"].endswith("/ws/agent/") for m in received))

    # A status change is pushed back to the console over its socket.
    page.get_by_role("radio", name="Online").click()
    expect(page.locator("#console-availability")).to_contain_text("Available")
    _wait_for(page, lambda: any(m.get("type") == "agent.status" for m in received))

    # The dashboard's socket too (queue tiles refresh on its hints).
    page.goto(account_url(daphne, acme, "/dashboard/talk/"))
    page.wait_for_selector("[data-tile]")
    _wait_for(page, lambda: any(m.get("type") == "hello" and m["url"].endswith("/ws/events/") for m in received))
    assert watched.violations == []


def _wait_for(page, condition, timeout_ms: int = 10_000) -> None:
    waited = 0
    while not condition():
        assert waited < timeout_ms, "no such WebSocket message"
        page.wait_for_timeout(100)
        waited += 100
