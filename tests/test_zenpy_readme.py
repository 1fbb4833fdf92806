"""zenpy's own README, run against a live server, unpatched (issue 15, item 7; SPEC A1, A4).

Zenpy is the published Python Zendesk client. Every example in its README that the
product can honour is here as a user would write it: create a ticket from a
description (and get the audit back), a different requester, a private comment, tags,
custom fields, the documented searches, users and groups, then the Talk calls zenpy
offers. zenpy reaches the live server through its own ZENPY_FORCE_NETLOC /
ZENPY_FORCE_SCHEME settings; nothing in it is patched.
"""
from __future__ import annotations

import pytest
from django_scopes import scope

from supportcenter import services as core_services
from tests.talk.factories import make_line
from tests.tickets.helpers import make_ticket

zenpy = pytest.importorskip("zenpy")
from zenpy.lib.api_objects import Comment, CustomField, Ticket, User  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def test_quickstart_create_from_a_description_returns_the_audit(zendesk):  # SPEC A1, K1
    audit = zendesk.tickets.create(Ticket(subject="Important", description="Thing"))
    assert type(audit).__name__ == "TicketAudit"
    ticket = audit.ticket
    assert (ticket.subject, ticket.description, ticket.status) == ("Important", "Thing", "new")
    assert [event["type"] for event in audit.audit.events][-1] == "Comment"  # zenpy keeps events as dicts
    comments = list(zendesk.tickets.comments(ticket=ticket.id))
    assert [(c.body, c.public) for c in comments] == [("Thing", True)]
    assert comments[0].audit_id == audit.audit.id


def test_creating_a_ticket_with_a_different_requester(zendesk, acme):  # SPEC A1, K1
    audit = zendesk.tickets.create(
        Ticket(description="Some description", requester=User(name="bob", email="bob@example.com"))
    )
    requester = zendesk.users(id=audit.ticket.requester_id)
    assert (requester.name, requester.email, requester.role) == ("bob", "bob@example.com", "end-user")
    # The ticket reads it back as an object, as the README's search loop does.
    assert zendesk.tickets(id=audit.ticket.id).requester.name == "bob"


def test_commenting_on_a_ticket_privately(zendesk):  # SPEC A1, K2
    ticket_id = zendesk.tickets.create(Ticket(subject="Printer", description="PC LOAD LETTER")).ticket.id
    ticket = zendesk.tickets(id=ticket_id)
    ticket.comment = Comment(body="Important private comment", public=False)
    result = zendesk.tickets.update(ticket)
    assert type(result).__name__ == "TicketAudit"
    comments = list(zendesk.tickets.comments(ticket=ticket_id))
    assert [(c.body, c.public) for c in comments] == [
        ("PC LOAD LETTER", True), ("Important private comment", False)]


def test_an_html_comment_keeps_its_plain_body(zendesk):  # SPEC A1
    audit = zendesk.tickets.create(Ticket(
        subject="Html comment example",
        comment=Comment(body="The smoke is very colorful", html_body="<h2>The smoke is <i>very</i> colourful</h2>"),
    ))
    [comment] = zendesk.tickets.comments(ticket=audit.ticket.id)
    assert comment.body == "The smoke is very colorful"


def test_appending_tags_and_custom_fields(zendesk):  # SPEC A1
    audit = zendesk.tickets.create(Ticket(
        subject="Has custom field", description="Wow, such field",
        custom_fields=[CustomField(id=43528467, value=1337)],
    ))
    ticket = zendesk.tickets(id=audit.ticket.id)
    assert [(f["id"], f["value"]) for f in ticket.custom_fields] == [(43528467, 1337)]

    ticket.tags.extend(["onetag", "twotag", "threetag", "four"])
    zendesk.tickets.update(ticket)
    ticket = zendesk.tickets(id=audit.ticket.id)
    assert sorted(ticket.tags) == ["four", "onetag", "threetag", "twotag"]

    ticket.custom_fields.append(CustomField(id=43528468, value="blue"))
    zendesk.tickets.update(ticket)
    ticket = zendesk.tickets(id=audit.ticket.id)
    assert [(f["id"], f["value"]) for f in ticket.custom_fields] == [(43528467, 1337), (43528468, "blue")]


def test_the_documented_searches(zendesk, acme, bob, globex):  # SPEC A1
    printer = zendesk.tickets.create(Ticket(subject="Printer", description="PC LOAD LETTER",
                                            assignee_id=bob.pk, status="open")).ticket
    zendesk.tickets.create(Ticket(subject="Paper", description="Out of paper", status="pending"))
    solved = zendesk.tickets.create(Ticket(subject="Old", description="PC LOAD LETTER again", status="solved")).ticket
    make_ticket(globex, subject="PC LOAD LETTER at globex")

    found = list(zendesk.search("PC LOAD LETTER", type="ticket", assignee="bob@acme.test"))
    assert [t.id for t in found] == [printer.id]
    assert found[0].requester is None or found[0].requester.name  # linked objects resolve

    open_or_pending = zendesk.search(type="ticket", status_less_than="solved", sort_order="desc")
    assert {t.subject for t in open_or_pending} == {"Printer", "Paper"}
    assert [t.id for t in zendesk.search(type="ticket", status="open")] == [printer.id]
    assert {t.id for t in zendesk.search("LETTER", type="ticket")} == {printer.id, solved.id}


def test_users_and_groups(zendesk, acme, alice, bob):  # SPEC A1
    with scope(account=acme):
        group = core_services.group_create(account=acme, name="Phones", actor=alice)
        core_services.group_membership_create(account=acme, group_id=group.pk, user_id=bob.pk, actor=alice)
    assert zendesk.users.me().email == "alice@acme.test"
    assert {u.email for u in zendesk.users()} >= {"alice@acme.test", "bob@acme.test"}
    assert zendesk.users(id=bob.pk).name == "Bob Agent"
    assert [g.name for g in zendesk.groups()] == ["Phones"]
    assert [m.user_id for m in zendesk.group_memberships()] == [bob.pk]
    assert [m.group_id for m in zendesk.users.group_memberships(bob.pk)] == [group.pk]
    assert [m.user_id for m in zendesk.groups.memberships(group.pk)] == [bob.pk]


def test_show_many_audits_and_update_many(zendesk):  # SPEC A1
    first = zendesk.tickets.create(Ticket(subject="One", description="1")).ticket
    second = zendesk.tickets.create(Ticket(subject="Two", description="2")).ticket
    assert {t.subject for t in zendesk.tickets(ids=[first.id, second.id])} == {"One", "Two"}

    audits = list(zendesk.tickets.audits(ticket=first.id))
    assert [e["type"] for e in audits[0].events][0] == "Create"

    job = zendesk.tickets.update([Ticket(id=first.id, status="pending"), Ticket(id=second.id, status="pending")])
    assert job.status == "completed"
    zendesk.disable_caching()  # zenpy would answer from the tickets it cached at creation
    assert {zendesk.tickets(id=t.id).status for t in (first, second)} == {"pending"}


def test_talk_calls_zenpy_offers(zendesk, acme):  # SPEC A1, D1-D4
    line = make_line(acme)
    [number] = zendesk.talk.phone_numbers()  # zenpy hands phone numbers over as dicts
    assert number["id"] == line.pk
    assert (number["recorded"], number["transcription"], number["external"]) == (False, False, False)
    assert number["group_ids"] == [] and number["default_group_id"] is None
    overview = zendesk.talk.agents_overview()
    assert overview.total_calls_accepted == 0
    activity = list(zendesk.talk.agents_activity())
    assert all(hasattr(agent, "online_time") for agent in activity)
    assert zendesk.talk.current_queue_activity().calls_waiting == 0
    assert zendesk.talk.account_overview().total_calls == 0
