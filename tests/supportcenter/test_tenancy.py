from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django_scopes import ScopeError, scope

from supportcenter.models import ApiToken, Membership
from supportcenter.tenancy import NO_ACCOUNT_MESSAGE, subdomain_from_host
from tests.conftest import basic_auth, new_token


@pytest.mark.parametrize(
    "host, expected",
    [
        ("acme.localhost", "acme"),
        ("ACME.localhost:8000", "acme"),
        ("localhost:8000", None),
        ("127.0.0.1:8000", None),
        ("a.b.localhost", ""),
        ("acme.localhost.", "acme"),
        ("evil-localhost", None),
    ],
)
def test_it_reads_the_subdomain_from_the_host(host, expected):  # SPEC T1
    assert subdomain_from_host(host) == expected


@override_settings(BASE_DOMAIN="support.example.com", ALLOWED_HOSTS=[".support.example.com"])
def test_it_uses_the_configured_base_domain():
    assert subdomain_from_host("acme.support.example.com") == "acme"
    assert subdomain_from_host("acme.localhost") is None


def test_it_finds_the_account_from_the_subdomain(alice_client, acme):  # SPEC T1
    response = alice_client.get("/")
    assert response.status_code == 200
    assert response.context["account"] == acme
    assert b"Acme Support" in response.content


def test_it_answers_404_for_an_unknown_subdomain(db):
    response = Client(HTTP_HOST="nosuch.localhost").get("/login/")
    assert response.status_code == 404
    assert NO_ACCOUNT_MESSAGE.encode() in response.content


def test_it_answers_404_for_a_nested_subdomain(acme):
    assert Client(HTTP_HOST="x.acme.localhost").get("/login/").status_code == 404


def test_it_shows_a_landing_page_on_the_bare_domain(db):
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert b"Each company has its own address" in response.content


def test_it_finds_the_account_from_the_api_credential_on_the_bare_domain(acme, alice, globex, charlie):
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, new_token(acme, alice)))
    response = client.get("/api/v2/users/me.json")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "alice@acme.test"


def test_it_refuses_the_api_on_the_bare_domain_without_a_credential(db):
    response = Client(HTTP_HOST="localhost").get("/api/v2/users/me.json")
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


def test_an_unscoped_query_on_a_tenant_table_raises(alice):  # SPEC T2
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        ApiToken.objects.filter(user=alice).exists()


def test_a_scoped_query_sees_only_its_account(acme, alice, bob, globex, charlie):  # SPEC T2
    with scope(account=acme):
        emails = sorted(m.user.email for m in Membership.objects.select_related("user"))
    assert emails == ["alice@acme.test", "bob@acme.test"]
    with scope(account=globex):
        assert [m.user.email for m in Membership.objects.select_related("user")] == ["charlie@globex.test"]


def test_a_request_without_an_account_runs_no_tenant_query(db, alice):
    # The landing page has no account: a tenant query there would raise, not leak.
    from supportcenter.tenancy import membership_of

    class FakeRequest:
        account = None
        user = alice

    assert membership_of(FakeRequest()) is None
