"""Friendly error pages and the favicon (issue 13, item 2)."""
from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from supportcenter import selectors, urls, views
from supportcenter.auth import ADMIN_ONLY_MESSAGE
from tests.conftest import PASSWORD, host_of, page_client


def test_it_shows_a_page_of_the_site_for_an_unknown_address(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "css/app.css" in html and "Go to the start page" in html
    assert "URLconf" not in html  # not Django's technical page


def test_it_tells_an_agent_why_the_admin_center_is_refused(bob_client):
    response = bob_client.get("/admin-center/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and str(ADMIN_ONLY_MESSAGE) in html and "css/app.css" in html


def test_it_shows_a_page_of_the_site_when_a_page_fails(acme, alice, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "member_list", broken)
    client = page_client(acme, alice)
    client.raise_request_exception = False
    response = client.get("/admin-center/members/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "css/app.css" in html
    assert "the database went away" not in html


def test_it_answers_a_failed_api_request_in_json():
    assert urls.handler500 == "supportcenter.views.error_500"
    response = views.error_500(RequestFactory().get("/api/v2/tickets.json"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"


def test_it_says_a_form_expired_instead_of_a_csrf_failure(acme, alice):
    client = Client(HTTP_HOST=host_of(acme), enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice@acme.test", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


@pytest.mark.parametrize("host", ["acme", None], ids=["account", "base domain"])
def test_it_serves_the_favicon_where_browsers_ask_for_it(acme, host):
    response = Client(HTTP_HOST=host_of(acme if host else None)).get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")
