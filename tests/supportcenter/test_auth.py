from __future__ import annotations

import base64

import pytest
from django.test import Client
from django_scopes import scope

from supportcenter import services
from supportcenter.auth import ADMIN_ONLY_MESSAGE
from supportcenter.models import ApiToken, Membership
from supportcenter.views import NOT_MEMBER_LOGIN_MESSAGE
from tests.conftest import PASSWORD, api_client, basic_auth, new_token

ME = "/api/v2/users/me.json"
UNAUTHENTICATED = {"error": "Couldn't authenticate you"}


def test_it_authenticates_a_token_in_the_zendesk_convention(acme, alice):  # SPEC T4
    response = api_client(acme, alice).get(ME)
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["id"] == alice.pk
    assert (user["name"], user["email"], user["role"]) == ("Alice Admin", "alice@acme.test", "admin")


def test_it_records_when_a_token_was_last_used(acme, alice):
    raw = new_token(acme, alice)
    Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, raw)).get(ME)
    with scope(account=acme):
        assert ApiToken.objects.get(user=alice).last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        basic_auth("alice@acme.test", "not-the-token"),
        "Basic " + base64.b64encode(b"alice@acme.test:demo-password").decode(),
        "Basic !!!not-base64",
        "Bearer abc",
    ],
)
def test_it_refuses_a_wrong_credential(acme, alice, header):
    new_token(acme, alice)
    response = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=header).get(ME)
    assert response.status_code in (401, 403)
    assert response.json() == UNAUTHENTICATED


def test_it_refuses_a_token_with_another_users_email(acme, alice, bob):
    raw = new_token(acme, alice)
    response = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(bob.email, raw)).get(ME)
    assert response.status_code == 401


def test_it_refuses_a_revoked_token(acme, alice):
    raw = new_token(acme, alice)
    with scope(account=acme):
        token = ApiToken.objects.get(user=alice)
        services.api_token_revoke(account=acme, token=token, actor=alice)
    response = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, raw)).get(ME)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    bare = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, raw)).get(ME)
    assert bare.status_code == 401


def test_it_refuses_globex_token_on_acme_host(acme, alice, globex, charlie):  # SPEC T3
    response = api_client(globex, charlie, host=acme).get(ME)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_it_refuses_the_token_of_a_member_who_left(acme, bob):
    raw = new_token(acme, bob)
    with scope(account=acme):
        Membership.objects.filter(user=bob).update(is_active=False)
    response = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(bob.email, raw)).get(ME)
    assert response.status_code == 401


def test_it_accepts_the_session_of_a_member(alice_client):  # SPEC T4
    response = alice_client.get(ME)
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "alice@acme.test"


def test_it_refuses_the_session_of_another_accounts_user(acme, charlie):
    client = Client(HTTP_HOST="acme.localhost")
    client.force_login(charlie)
    assert client.get(ME).status_code in (401, 403)
    assert client.get("/").status_code == 302  # to the login page of acme


def test_alice_can_sign_in_and_out(acme, alice):
    client = Client(HTTP_HOST="acme.localhost")
    page = client.get("/login/")
    assert page.status_code == 200 and b"Sign in to Acme Support" in page.content
    response = client.post("/login/", {"username": "alice@acme.test", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused(acme, alice):
    response = Client(HTTP_HOST="acme.localhost").post(
        "/login/", {"username": "alice@acme.test", "password": "wrong"}
    )
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content


def test_a_user_of_another_account_cannot_sign_in(acme, globex, charlie):  # SPEC T3
    response = Client(HTTP_HOST="acme.localhost").post(
        "/login/", {"username": "charlie@globex.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert NOT_MEMBER_LOGIN_MESSAGE.encode() in response.content
    assert "_auth_user_id" not in Client().session


def test_an_agent_is_refused_the_admin_center(bob_client):  # SPEC T4
    response = bob_client.get("/admin-center/api-tokens/")
    assert response.status_code == 403
    assert ADMIN_ONLY_MESSAGE.encode() in response.content


def test_pages_of_an_account_need_a_login(acme):
    response = Client(HTTP_HOST="acme.localhost").get("/admin-center/api-tokens/")
    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")
