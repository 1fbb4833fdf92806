"""Ticket services: the one way in for the API, the pages and Talk (SPEC K1, K2)."""
from __future__ import annotations

import re

import pytest
from django_scopes import scope

from supportcenter.errors import ServiceError
from supportcenter.models import AuditEntry
from tickets import selectors, services
from tickets.models import Comment, EndUser, Ticket, TicketCounter, Via
from tests.tickets.helpers import add_comment, comments_of, make_ticket, tickets_of


def test_it_creates_a_ticket_with_its_description_as_first_public_comment(acme, bob):  # SPEC K1
    ticket = make_ticket(acme, actor=bob, phone="+14155550123")
    assert (ticket.status, ticket.via, ticket.created_by) == ("new", "web", bob)
    assert ticket.requester.phone.as_e164 == "+14155550123"
    [comment] = comments_of(acme, ticket)
    assert (comment.body, comment.public, comment.author) == ("It is on fire.", True, bob)
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="ticket.create", target_id=str(ticket.pk), actor=bob).exists()


def test_ticket_numbers_are_sequential_per_account_and_say_nothing_of_others(acme, globex):  # SPEC T3
    acme_numbers = [make_ticket(acme).number for _ in range(3)]
    globex_numbers = [make_ticket(globex).number for _ in range(2)]
    assert acme_numbers == [1, 2, 3]
    assert globex_numbers == [1, 2]
    with scope(account=acme):
        assert TicketCounter.objects.get(account=acme).last_number == 3


def test_a_refused_ticket_leaves_no_gap_and_no_rows(acme, globex, charlie):
    make_ticket(acme)
    with pytest.raises(ServiceError, match=re.escape(services.ASSIGNEE_NOT_MEMBER_MESSAGE)):
        make_ticket(acme, assignee=charlie)
    assert make_ticket(acme).number == 2
    assert len(tickets_of(acme)) == 2


def test_a_system_ticket_from_talk_has_an_internal_note_and_no_public_description(acme):  # SPEC K1, R8
    ticket = make_ticket(
        acme, subject="Callback request", description="", via=Via.VOICE, phone="+14155550123",
        internal_note="Every agent declined the callback.",
    )
    assert (ticket.via, ticket.description, ticket.created_by) == ("voice", "", None)
    [note] = comments_of(acme, ticket)
    assert (note.public, note.author) == (False, None)


def test_assigning_a_new_ticket_opens_it(acme, bob, dave):
    assert make_ticket(acme, assignee=bob).status == "open"
    ticket = make_ticket(acme)
    with scope(account=acme):
        ticket = services.ticket_update(account=acme, ticket=ticket, actor=dave, assignee=dave)
    assert (ticket.status, ticket.assignee) == ("open", dave)


def test_it_refuses_a_blank_subject_an_unknown_status_and_a_closed_start(acme):
    for kwargs, message in [
        ({"subject": "  "}, services.SUBJECT_REQUIRED_MESSAGE),
        ({"status": "bogus"}, services.STATUS_INVALID_MESSAGE),
        ({"status": "closed"}, services.CREATE_CLOSED_MESSAGE),
        ({"via": "fax"}, services.VIA_INVALID_MESSAGE),
    ]:
        with scope(account=acme), pytest.raises(ServiceError, match=message):
            services.ticket_create(account=acme, **{"subject": "x", **kwargs})
    assert tickets_of(acme) == []


def test_a_requester_of_another_account_is_refused(acme, globex):  # SPEC T3
    with scope(account=globex):
        stranger = services.end_user_get_or_create_by_phone(account=globex, phone="+81312345678")
    with scope(account=acme), pytest.raises(ServiceError, match=re.escape(services.REQUESTER_NOT_FOUND_MESSAGE)):
        services.ticket_create(account=acme, subject="x", requester=stranger)
    assert tickets_of(acme) == []


def test_a_comment_must_belong_to_a_ticket_of_the_same_account(acme, globex, charlie):  # SPEC T2
    acme_ticket = make_ticket(acme)
    with scope(account=globex), pytest.raises(ServiceError, match=re.escape(services.TICKET_NOT_FOUND_MESSAGE)):
        services.comment_add(account=globex, ticket=acme_ticket, body="hi", public=True, author=charlie)
    with scope(account=globex), pytest.raises(ServiceError, match=re.escape(services.TICKET_NOT_FOUND_MESSAGE)):
        services.ticket_update(account=globex, ticket=acme_ticket, actor=charlie, status="solved")
    assert len(comments_of(acme)) == 1 and tickets_of(acme)[0].status == "new"


def test_a_comment_author_must_be_a_member(acme, charlie):
    ticket = make_ticket(acme)
    with pytest.raises(ServiceError, match=re.escape(services.AUTHOR_NOT_MEMBER_MESSAGE)):
        add_comment(acme, ticket, "hi", public=True, author=charlie)


def test_internal_notes_and_public_replies_are_kept_apart(acme, bob):  # SPEC K2
    ticket = make_ticket(acme)
    add_comment(acme, ticket, "Caller sounds upset", public=False, author=bob)
    add_comment(acme, ticket, "We are on it", public=True, author=bob)
    with scope(account=acme):
        everything = list(selectors.comment_list(account=acme, ticket=ticket))
        requester_view = list(selectors.comment_list(account=acme, ticket=ticket, include_internal=False))
        assert AuditEntry.objects.filter(action="comment.add").count() == 2
    assert [c.public for c in everything] == [True, False, True]
    assert [c.body for c in requester_view] == ["It is on fire.", "We are on it"]


def test_an_internal_note_never_becomes_the_description(acme, bob):  # SPEC K2
    ticket = make_ticket(acme, description="", internal_note="secret")
    add_comment(acme, ticket, "another secret", public=False, author=bob)
    assert tickets_of(acme)[0].description == ""


def test_a_blank_comment_is_refused(acme, bob):
    ticket = make_ticket(acme)
    with pytest.raises(ServiceError, match=re.escape(services.BODY_REQUIRED_MESSAGE)):
        add_comment(acme, ticket, "   ", public=True, author=bob)


def test_update_changes_only_what_it_is_given_and_audits_the_changes(acme, bob, dave):
    ticket = make_ticket(acme, assignee=bob)
    with scope(account=acme):
        ticket = services.ticket_update(account=acme, ticket=ticket, actor=bob, status="pending")
        assert ticket.assignee == bob  # assignee left out: kept
        ticket = services.ticket_update(account=acme, ticket=ticket, actor=bob, assignee=None)
        assert (ticket.status, ticket.assignee) == ("pending", None)
        entries = list(AuditEntry.objects.filter(action="ticket.update").order_by("created_at"))
        # A no-op records nothing.
        services.ticket_update(account=acme, ticket=ticket, actor=bob, status="pending")
        assert AuditEntry.objects.filter(action="ticket.update").count() == 2
    assert [e.data["changes"] for e in entries] == [
        {"status": ["open", "pending"]}, {"assignee_id": [bob.pk, None]}
    ]


def test_update_with_a_comment_is_all_or_nothing(acme, bob, charlie):
    ticket = make_ticket(acme)
    with scope(account=acme), pytest.raises(ServiceError, match=re.escape(services.ASSIGNEE_NOT_MEMBER_MESSAGE)):
        services.ticket_update(account=acme, ticket=ticket, actor=bob, assignee=charlie, comment_body="hello")
    with scope(account=acme), pytest.raises(ServiceError, match=re.escape(services.STATUS_INVALID_MESSAGE)):
        services.ticket_update(account=acme, ticket=ticket, actor=bob, status="nope", comment_body="hello")
    assert len(comments_of(acme, ticket)) == 1


def test_a_ticket_does_not_go_back_to_new(acme, bob):
    ticket = make_ticket(acme, assignee=bob)
    with scope(account=acme), pytest.raises(ServiceError, match=re.escape(services.STATUS_BACK_TO_NEW_MESSAGE)):
        services.ticket_update(account=acme, ticket=ticket, actor=bob, status="new")


def test_a_closed_ticket_refuses_changes_from_people_but_keeps_system_notes(acme, bob):  # SPEC R10, R12
    ticket = make_ticket(acme)
    with scope(account=acme):
        ticket = services.ticket_update(
            account=acme, ticket=ticket, actor=bob, status="closed", comment_body="Closing, thanks."
        )
        with pytest.raises(ServiceError, match=re.escape(services.TICKET_CLOSED_MESSAGE)):
            services.ticket_update(account=acme, ticket=ticket, actor=bob, status="open")
        with pytest.raises(ServiceError, match=re.escape(services.TICKET_CLOSED_MESSAGE)):
            services.comment_add(account=acme, ticket=ticket, body="more", public=True, author=bob)
        with pytest.raises(ServiceError, match=re.escape(services.TICKET_CLOSED_MESSAGE)):
            services.comment_add(account=acme, ticket=ticket, body="to all", public=True, author=None)
        # A late call event is still recorded, as an internal note by the system.
        services.comment_add(account=acme, ticket=ticket, body="Callback: no answer", public=False)
    assert [c.body for c in comments_of(acme, ticket)][-2:] == ["Closing, thanks.", "Callback: no answer"]


def test_a_comment_touches_the_ticket(acme, bob):
    ticket = make_ticket(acme)
    before = tickets_of(acme)[0].updated_at
    add_comment(acme, ticket, "bump", public=True, author=bob)
    assert tickets_of(acme)[0].updated_at > before


def test_end_users_are_unique_per_account_by_phone(acme, globex):  # SPEC K1
    with scope(account=acme):
        first = services.end_user_get_or_create_by_phone(account=acme, phone="(415) 555-0123")
        again = services.end_user_get_or_create_by_phone(account=acme, phone="+1 415 555 0123", name="Ann")
        assert first.pk == again.pk and again.name == "Ann"
        # A later caller id never renames a known requester.
        assert services.end_user_get_or_create_by_phone(account=acme, phone="+14155550123", name="Bo").name == "Ann"
        assert EndUser.objects.filter(account=acme).count() == 1
    with scope(account=globex):
        other = services.end_user_get_or_create_by_phone(account=globex, phone="+14155550123")
    assert other.pk != first.pk


def test_national_numbers_are_read_in_the_accounts_region(globex):  # SPEC T1
    with scope(account=globex):
        end_user = services.end_user_get_or_create_by_phone(account=globex, phone="03-1234-5678")
    assert end_user.phone.as_e164 == "+81312345678"


@pytest.mark.parametrize("phone", ["", "12", "not a number", "+1 555 0000 00000"])
def test_an_invalid_phone_number_is_refused(acme, phone):
    with scope(account=acme), pytest.raises(ServiceError, match=re.escape(services.INVALID_PHONE_MESSAGE)) as refused:
        services.end_user_get_or_create_by_phone(account=acme, phone=phone)
    assert refused.value.field == "phone"
    with scope(account=acme):
        assert not EndUser.objects.exists()


def test_end_users_are_found_by_email_case_insensitively(acme):
    with scope(account=acme):
        first = services.end_user_get_or_create_by_email(account=acme, email="Ann@Example.com", name="Ann")
        again = services.end_user_get_or_create_by_email(account=acme, email="ann@example.com ")
        assert first.pk == again.pk and first.email == "ann@example.com"
        with pytest.raises(ServiceError, match=re.escape(services.INVALID_EMAIL_MESSAGE)):
            services.end_user_get_or_create_by_email(account=acme, email="nope")


def test_a_change_pushes_a_hint_after_commit(acme, bob, django_capture_on_commit_callbacks, monkeypatch):  # SPEC R13
    pushed = []
    monkeypatch.setattr("supportcenter.realtime.push_now", lambda group, event, payload: pushed.append((group, event, payload)))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme, actor=bob)
    assert pushed == [(f"account.{acme.pk}", "ticket.updated", {"ticket": ticket.number, "change": "created"})]


def test_ticket_list_filters_and_searches(acme, bob, dave):
    fire = make_ticket(acme, subject="Printer on fire", phone="+14155550123", assignee=bob)
    make_ticket(acme, subject="Password reset", phone="+14155550999")
    solved = make_ticket(acme, subject="Invoice copy", assignee=dave)
    with scope(account=acme):
        services.ticket_update(account=acme, ticket=solved, actor=dave, status="solved")

        def subjects(**kwargs):
            return [t.subject for t in selectors.ticket_list(account=acme, **kwargs)]

        assert subjects() == ["Invoice copy", "Password reset", "Printer on fire"]
        assert subjects(status="solved") == ["Invoice copy"]
        assert subjects(assignee=bob) == ["Printer on fire"]
        assert subjects(assignee=selectors.UNASSIGNED) == ["Password reset"]
        assert subjects(search="printer") == ["Printer on fire"]
        assert subjects(search="(415) 555-0123") == ["Printer on fire"]
        assert subjects(search="0999") == ["Password reset"]
        assert subjects(search=f"#{fire.number}") == ["Printer on fire"]
        assert subjects(search="nothing like it") == []


def test_access_ticket_answers_none_for_another_accounts_number(acme, globex):  # SPEC T3
    ticket = make_ticket(acme)
    with scope(account=globex):
        assert selectors.access_ticket(account=globex, number=ticket.number) is None
    with scope(account=acme):
        assert selectors.access_ticket(account=acme, number=ticket.number) == ticket


def test_tenant_tables_fail_closed_outside_a_scope(acme):  # SPEC T2
    from django_scopes.exceptions import ScopeError

    for model in (Ticket, Comment, EndUser, TicketCounter):
        with pytest.raises(ScopeError):
            list(model.objects.all())


def test_a_phone_requester_gains_a_free_email_but_never_someone_elses(acme):  # SPEC K1
    with scope(account=acme):
        taken = services.end_user_get_or_create_by_email(account=acme, email="taken@example.com")
        ann = services.end_user_get_or_create_by_phone(account=acme, phone="+14155550123", email="Ann@Example.com")
        assert ann.email == "ann@example.com"
        bo = services.end_user_get_or_create_by_phone(account=acme, phone="+14155550124", email="taken@example.com")
        assert bo.email == "" and bo.pk != taken.pk
        with pytest.raises(ServiceError, match=re.escape(services.INVALID_EMAIL_MESSAGE)):
            services.end_user_get_or_create_by_phone(account=acme, phone="+14155550125", email="nope")
        assert EndUser.objects.filter(account=acme).count() == 3


def test_a_phone_number_object_is_accepted_as_is(acme):
    from phonenumber_field.phonenumber import PhoneNumber

    with scope(account=acme):
        end_user = services.end_user_get_or_create_by_phone(account=acme, phone=PhoneNumber.from_string("+442071838750"))
    assert end_user.phone.as_e164 == "+442071838750"


def test_a_system_comment_takes_the_tickets_channel(acme, bob):  # SPEC R12
    ticket = make_ticket(acme, via=Via.VOICE, description="")
    assert add_comment(acme, ticket, "Callback: busy", public=False).via == "voice"
    assert add_comment(acme, ticket, "Calling again", public=False, author=bob).via == "web"
