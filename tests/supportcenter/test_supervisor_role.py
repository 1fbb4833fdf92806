"""An admin makes an agent a supervisor on the Team members page (SPEC S1, S2, T3, T4)."""
from __future__ import annotations

import html

import pytest
from django_scopes import scope

from supportcenter import services
from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry, Membership
from supportcenter.views import SUPERVISOR_FORM_MESSAGE
from tests.isolation import _body, missing_id

pytestmark = pytest.mark.django_db

MEMBERS = "/admin-center/members/"


def is_supervisor(account, user) -> bool:
    with scope(account=account):
        return Membership.objects.get(account=account, user=user).supervisor


def audits(account) -> list[AuditEntry]:
    with scope(account=account):
        return list(AuditEntry.objects.filter(action="membership.supervisor").order_by("created_at"))


def test_an_admin_makes_an_agent_a_supervisor_and_back(acme, alice, bob, alice_client, bob_client):
    page = html.unescape(alice_client.get(MEMBERS).content.decode())
    assert "Make supervisor" in page and "Yes, as an admin" in page
    assert bob_client.get("/talk/queue/").status_code == 403

    done = alice_client.post(MEMBERS, {"user_id": bob.pk, "supervisor": "1"})
    assert done.status_code == 302 and done["Location"] == MEMBERS
    assert is_supervisor(acme, bob)
    page = html.unescape(alice_client.get(MEMBERS).content.decode())
    assert "Bob Agent is a supervisor: they see and steer the callback queue." in page
    assert "Remove supervisor" in page
    assert bob_client.get("/talk/queue/").status_code == 200  # SPEC S1

    # Setting it again changes nothing and records nothing.
    assert alice_client.post(MEMBERS, {"user_id": bob.pk, "supervisor": "1"}).status_code == 302
    assert len(audits(acme)) == 1

    assert alice_client.post(MEMBERS, {"user_id": bob.pk, "supervisor": "0"}).status_code == 302
    assert not is_supervisor(acme, bob)
    assert bob_client.get("/talk/queue/").status_code == 403
    entries = audits(acme)
    assert [(e.actor_id, e.data["supervisor"], e.data["user"]) for e in entries] == [
        (alice.pk, True, bob.pk), (alice.pk, False, bob.pk)]


def test_agents_and_supervisors_cannot_hand_out_the_role(acme, alice, bob, dave, bob_client):  # SPEC T4
    assert bob_client.post(MEMBERS, {"user_id": dave.pk, "supervisor": "1"}).status_code == 403
    with scope(account=acme):
        services.membership_set_supervisor(account=acme, user_id=bob.pk, supervisor=True, actor=alice)
    assert bob_client.post(MEMBERS, {"user_id": dave.pk, "supervisor": "1"}).status_code == 403
    with scope(account=acme), pytest.raises(ServiceError) as refused:
        services.membership_set_supervisor(account=acme, user_id=dave.pk, supervisor=True, actor=bob)
    assert refused.value.message == services.SUPERVISOR_ADMINS_ONLY_MESSAGE
    assert not is_supervisor(acme, dave)


def test_bad_input_is_refused_and_writes_nothing(acme, alice, bob, alice_client):
    for data in ({}, {"user_id": "bob", "supervisor": "1"}, {"user_id": bob.pk, "supervisor": "yes"},
                 {"user_id": bob.pk}):
        answer = alice_client.post(MEMBERS, data)
        assert answer.status_code == 400, data
        assert SUPERVISOR_FORM_MESSAGE in answer.content.decode()
    admin = alice_client.post(MEMBERS, {"user_id": alice.pk, "supervisor": "1"})
    assert admin.status_code == 422
    assert services.SUPERVISOR_ADMINS_ALREADY_MESSAGE in html.unescape(admin.content.decode())
    assert not is_supervisor(acme, bob) and not is_supervisor(acme, alice)
    assert audits(acme) == []


def test_another_accounts_member_answers_like_a_missing_one(acme, globex, alice, bob, charlie, charlie_client):
    # SPEC T3: charlie, globex's admin, names acme's agent
    foreign = charlie_client.post(MEMBERS, {"user_id": bob.pk, "supervisor": "1"})
    missing = charlie_client.post(MEMBERS, {"user_id": missing_id(), "supervisor": "1"})
    assert foreign.status_code == missing.status_code == 404
    assert _body(foreign) == _body(missing)
    assert not is_supervisor(acme, bob)
    with scope(account=globex), pytest.raises(ServiceError):
        services.membership_set_supervisor(account=globex, user_id=bob.pk, supervisor=True, actor=charlie)
    assert audits(globex) == []
