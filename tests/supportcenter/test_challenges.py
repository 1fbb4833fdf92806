"""Who gets a Basic challenge: API clients, never a page's script (issue 13, item 1; SPEC A3, R13)."""
from __future__ import annotations

from django.test import Client

from supportcenter.auth import SESSION_CHALLENGE, SIGNED_OUT_BODY
from tests.conftest import host_of


def test_an_api_client_without_credentials_is_asked_for_basic(acme):  # SPEC A3
    response = Client(HTTP_HOST=host_of(acme)).get("/api/v2/users/me.json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'


def test_a_pages_script_is_told_it_is_signed_out_without_a_basic_challenge(acme):
    browser = Client(HTTP_HOST=host_of(acme), HTTP_SEC_FETCH_MODE="cors")
    response = browser.get("/api/v2/users/me.json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == SESSION_CHALLENGE
    cookie_only = Client(HTTP_HOST=host_of(acme))  # an older browser: no Fetch metadata, an ended session's cookie
    cookie_only.cookies["sessionid"] = "expired"
    response = cookie_only.get("/talk/console/state.json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == SESSION_CHALLENGE


def test_a_token_client_with_a_session_cookie_still_gets_basic(acme):
    client = Client(HTTP_HOST=host_of(acme), HTTP_AUTHORIZATION="Basic bm9wZQ==")
    client.cookies["sessionid"] = "expired"
    response = client.get("/api/v2/users/me.json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Basic realm="api"'


def test_a_pages_json_request_gets_401_json_not_the_sign_in_page(acme):  # SPEC R13
    response = Client(HTTP_HOST=host_of(acme)).get("/talk/simulator/1.json", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json() == SIGNED_OUT_BODY and response["WWW-Authenticate"] == SESSION_CHALLENGE
    page = Client(HTTP_HOST=host_of(acme)).get("/talk/simulator/", HTTP_ACCEPT="text/html")
    assert page.status_code == 302 and "/login/" in page["Location"]
