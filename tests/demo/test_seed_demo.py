from __future__ import annotations

import io

from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled

from demo.seeding import DEMO_PASSWORD
from supportcenter.models import Account, Membership, User


def test_seed_demo_is_idempotent_and_alice_can_sign_in(db):  # SPEC O1
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    with scopes_disabled():
        assert sorted(Account.objects.values_list("subdomain", flat=True)) == ["acme", "globex"]
        assert User.objects.count() == 4
        roles = sorted(Membership.objects.values_list("account__subdomain", "user__email", "role"))
    assert roles == [
        ("acme", "alice@acme.test", "admin"),
        ("acme", "bob@acme.test", "agent"),
        ("acme", "dave@acme.test", "agent"),
        ("globex", "charlie@globex.test", "admin"),
    ]
    client = Client(HTTP_HOST="acme.localhost")
    response = client.post("/login/", {"username": "alice@acme.test", "password": DEMO_PASSWORD})
    assert response.status_code == 302
