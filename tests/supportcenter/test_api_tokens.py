from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_scopes import scope

from supportcenter.models import ApiToken, AuditEntry
from supportcenter.services import DESCRIPTION_REQUIRED_MESSAGE, NOT_A_MEMBER_MESSAGE
from tests.conftest import basic_auth, new_token
from tests.isolation import assert_isolated, missing_id

TOKENS = "/admin-center/api-tokens/"


def _tokens(account):
    with scope(account=account):
        return list(ApiToken.objects.select_related("user"))


def test_an_admin_creates_a_token_and_sees_it_once(alice_client, acme, alice, bob):  # SPEC T4
    response = alice_client.post(TOKENS, {"description": "Zapier", "user": bob.pk})
    assert response.status_code == 302
    page = alice_client.get(TOKENS)
    raw = page.context["new_token"]["raw"]
    assert raw.encode() in page.content
    [token] = _tokens(acme)
    assert (token.user, token.description) == (bob, "Zapier")
    assert token.key_hash != raw and raw not in token.key_hash
    # Shown once: the next visit has it no more.
    assert raw.encode() not in alice_client.get(TOKENS).content
    # And it works for bob.
    me = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(bob.email, raw)).get("/api/v2/users/me.json")
    assert me.json()["user"]["email"] == "bob@acme.test"
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="api_token.create", target_id=str(token.pk), actor=alice).exists()


def test_a_token_needs_a_description_and_nothing_is_written(alice_client, acme, alice):
    response = alice_client.post(TOKENS, {"description": "  ", "user": alice.pk})
    assert response.status_code == 400
    assert _tokens(acme) == []


def test_a_token_cannot_be_made_for_a_non_member(alice_client, acme, alice, globex, charlie):
    response = alice_client.post(TOKENS, {"description": "x", "user": charlie.pk})
    assert response.status_code == 400
    assert _tokens(acme) == [] and _tokens(globex) == []


def test_service_refusals_carry_their_messages(acme, alice, globex, charlie):
    from supportcenter import services
    from supportcenter.errors import ServiceError

    with scope(account=acme):
        with pytest.raises(ServiceError, match=DESCRIPTION_REQUIRED_MESSAGE):
            services.api_token_create(account=acme, user=alice, description=" ", actor=alice)
        with pytest.raises(ServiceError, match=NOT_A_MEMBER_MESSAGE):
            services.api_token_create(account=acme, user=charlie, description="x", actor=alice)


def test_an_admin_revokes_a_token(alice_client, acme, alice):
    raw = new_token(acme, alice)
    [token] = _tokens(acme)
    response = alice_client.post(f"{TOKENS}{token.pk}/revoke/")
    assert response.status_code == 302
    assert not _tokens(acme)[0].is_active
    me = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, raw)).get("/api/v2/users/me.json")
    assert me.status_code == 401
    # Revoking again changes nothing and records nothing more.
    alice_client.post(f"{TOKENS}{token.pk}/revoke/")
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1


def test_globex_cannot_revoke_or_see_acme_tokens(acme, alice, charlie_client, globex):  # SPEC T3
    new_token(acme, alice)
    [token] = _tokens(acme)
    assert_isolated(
        charlie_client, f"{TOKENS}{token.pk}/revoke/", f"{TOKENS}{missing_id()}/revoke/", method="post"
    )
    assert _tokens(acme)[0].is_active
    assert b"tests" not in charlie_client.get(TOKENS).content


def test_an_agent_cannot_create_or_revoke_tokens(bob_client, acme, alice, bob):
    new_token(acme, alice)
    [token] = _tokens(acme)
    assert bob_client.post(TOKENS, {"description": "x", "user": bob.pk}).status_code == 403
    assert bob_client.post(f"{TOKENS}{token.pk}/revoke/").status_code == 403
    assert len(_tokens(acme)) == 1 and _tokens(acme)[0].is_active


def test_the_command_prints_a_working_token(acme, alice):
    out = io.StringIO()
    call_command("create_api_token", "--account", "acme", "--email", "alice@acme.test", stdout=out)
    raw = out.getvalue().strip()
    me = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=basic_auth(alice.email, raw)).get("/api/v2/users/me.json")
    assert me.status_code == 200 and me.json()["user"]["email"] == "alice@acme.test"


@pytest.mark.parametrize(
    "account, email, message",
    [
        ("nosuch", "alice@acme.test", "No account with subdomain"),
        ("acme", "nobody@acme.test", "No user with email"),
        ("acme", "charlie@globex.test", NOT_A_MEMBER_MESSAGE),
    ],
)
def test_the_command_explains_what_is_wrong(acme, alice, charlie, account, email, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", "--account", account, "--email", email, stdout=io.StringIO())
    assert _tokens(acme) == []
