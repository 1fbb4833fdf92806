"""No page asks another site for anything (issue 13, item 6; SPEC A2): a walk through every
page, the API reference (Swagger UI from the sidecar package) included, records every request
the browser makes, and any console error. (Redoc was removed: its bundle always loads its
maker's logo from their CDN.)"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import account_url, sign_in
from tests.browser.site_pages import LOGIN, SitePage, admin_pages, agent_pages, make_objects, open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

API_REFERENCES = [SitePage("api-docs", "/api/docs/", "#swagger-ui .info")]


def test_a_walk_through_every_page_stays_on_this_site(page, live_server, acme, alice, bob):
    objects = make_objects(acme, alice, bob)
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error" else None)
    open_page(page, live_server, acme, LOGIN)
    sign_in(page, live_server, acme, "alice@acme.test", "/")
    walked = []
    for site_page in admin_pages(objects) + API_REFERENCES:
        open_page(page, live_server, acme, site_page)
        page.wait_for_load_state("networkidle")
        walked.append(site_page.name)
    page.context.clear_cookies()
    sign_in(page, live_server, acme, "bob@acme.test", "/")
    for site_page in agent_pages(objects):
        open_page(page, live_server, acme, site_page)
        page.wait_for_load_state("networkidle")
        walked.append(f"agent {site_page.name}")
    foreign = sorted({url for url in requested if urlsplit(url).hostname not in ("localhost", "acme.localhost")
                      and not url.startswith(("data:", "blob:"))})
    assert foreign == []
    # The 404 and 403 pages are asked for on purpose; anything else a page logs as an error is a defect.
    assert [e for e in errors if "404" not in e and "403" not in e] == []
    assert len(walked) == len(admin_pages(objects)) + 1 + len(agent_pages(objects)) and len(requested) > 50
    assert account_url(live_server, acme, "/api/docs/") in requested
