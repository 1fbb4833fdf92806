"""Groups route calls and callbacks (SPEC R14; issue 15, item 5).

A line's routing groups are its groups and its default group; its calls and callbacks are
offered only to free agents of those groups (any agent when it names none). An API request's
own ``group_ids`` replace the line's. "Declined by all" (R8) counts only those agents; a
request whose groups have no member waits for one until it expires (R9).
"""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from callsim import gateway
from supportcenter import services as core
from supportcenter.errors import ServiceError
from supportcenter.models import Group
from talk import routing
from talk.models import AgentPresence, CallbackRequest, Line, Offer
from talk.services import offers as offer_services
from talk.services.callback_requests import (
    UNKNOWN_GROUP_MESSAGE,
    callback_request_create_by_api,
)
from tests.conftest import make_member
from tests.isolation import missing_id
from tests.postgres import needs_postgresql
from tests.talk.calls_support import ClientTransport, Phone, make_line, set_presence
from tests.talk.factories import make_group, route_now, waiting_callback

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
URL = "/api/v2/channels/voice/callback_requests.json"


@pytest.fixture(autouse=True)
def inline_tasks(settings, monkeypatch):
    settings.TASKS_SYNC = True
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)


def _route_to(line, *groups, default=None):
    """The line's routing groups, set as the line's service stores them (its API is H4's)."""
    with scope(account=line.account):
        line.groups.set(groups)
        Line.objects.filter(pk=line.pk).update(default_group=default)
        line.refresh_from_db()


def _state(account, request):
    with scope(account=account):
        request.refresh_from_db()
    return request.state


def _open_offers(account):
    with scope(account=account):
        return list(Offer.objects.filter(state=Offer.State.OFFERED).order_by("created_at"))


# --- who is offered what ---------------------------------------------------------------
def test_it_offers_a_lines_callbacks_and_calls_only_to_its_groups_agents(acme, main_line, bob, dave):  # SPEC R14
    support = make_group(acme, "Support", dave)
    _route_to(main_line, support)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, AWAY)
    request = waiting_callback(main_line, "+14155550101", minutes_ago=2)
    Phone(main_line).queued(from_="+14155550102")
    assert route_now(acme) == []  # bob is free but not in Support; dave is away
    set_presence(acme, dave, ONLINE)
    [offer] = route_now(acme)
    assert (offer.agent_id, offer.entry_id) == (dave.pk, request.queue_entry_id)  # the oldest first (R2)
    with scope(account=acme):
        offer_services.offer_decline(account=acme, offer_id=offer.pk, agent=dave)
    [live] = route_now(acme)  # the live caller: dave again, never bob
    assert (live.agent_id, live.kind) == (dave.pk, "live")


def test_a_line_without_groups_goes_to_any_agent(acme, main_line, bob):  # SPEC R14
    make_group(acme, "Support")  # groups exist, the line names none
    set_presence(acme, bob, ONLINE)
    waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    assert offer.agent_id == bob.pk


def test_the_default_group_routes_alone_and_together_with_the_groups(acme, main_line, bob, dave):  # SPEC R14
    sales, support = make_group(acme, "Sales", bob), make_group(acme, "Support", dave)
    _route_to(main_line, default=sales)  # the default alone
    set_presence(acme, bob, AWAY)  # the request waits for Sales (offline would count as declined, R7)
    set_presence(acme, dave, ONLINE)
    waiting_callback(main_line, "+14155550101")
    assert route_now(acme) == []
    _route_to(main_line, support, default=sales)  # the union: both groups' agents
    [offer] = route_now(acme)
    assert offer.agent_id == dave.pk


def test_an_api_requests_own_groups_replace_the_lines(acme, main_line, bob, dave):  # SPEC R14
    sales, support = make_group(acme, "Sales", bob), make_group(acme, "Support", dave)
    _route_to(main_line, sales)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    own = waiting_callback(main_line, "+14155550101", groups=[support], minutes_ago=5)
    lines = waiting_callback(main_line, "+14155550102", minutes_ago=1)
    offers = {o.agent_id: o.entry_id for o in route_now(acme)}
    assert offers == {dave.pk: own.queue_entry_id, bob.pk: lines.queue_entry_id}


def test_an_agent_of_a_quiet_group_is_not_starved_by_a_long_queue_of_another(acme, main_line, bob, dave):  # SPEC R2, R14
    sales, support = make_group(acme, "Sales", bob), make_group(acme, "Support", dave)
    _route_to(main_line, sales)
    other = make_line(acme, name="Support line", number="+14155550999")
    _route_to(other, support)
    for n in range(70):  # more than a pass reads at once for one free agent (10 + 50)
        waiting_callback(main_line, f"+1415555{1000 + n}", minutes_ago=10)
    quiet = waiting_callback(other, "+14155550101")
    set_presence(acme, dave, ONLINE)  # bob, the only Sales agent, is offline
    [offer] = route_now(acme)
    assert (offer.agent_id, offer.entry_id) == (dave.pk, quiet.queue_entry_id)


def test_an_agent_who_declined_the_head_of_the_queue_gets_what_lies_beyond(acme, main_line, bob, dave):  # SPEC R6
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, AWAY)  # away: the head stays waiting for dave (R7)
    head = [waiting_callback(main_line, f"+1415555{1000 + n}", minutes_ago=10) for n in range(60)]
    beyond = waiting_callback(main_line, "+14155550101")
    with scope(account=acme):
        Offer.objects.bulk_create([
            Offer(account=acme, entry_id=r.queue_entry_id, agent=bob, kind="callback", state=Offer.State.DECLINED,
                  expires_at=timezone.now()) for r in head
        ])
    [offer] = route_now(acme)
    assert (offer.agent_id, offer.entry_id) == (bob.pk, beyond.queue_entry_id)


@pytest.mark.parametrize("alice_status", [ONLINE, OFFLINE])  # offline: the pass reads every pending request (R7)
def test_a_pass_reads_the_groups_once_whatever_the_queue_and_agents(acme, main_line, alice, bob, dave, alice_status):  # SPEC R14, O4
    support = make_group(acme, "Support", dave)
    _route_to(main_line, support)
    set_presence(acme, dave, AWAY)
    set_presence(acme, alice, alice_status)
    set_presence(acme, bob, ONLINE)

    def queries_of_a_pass() -> int:
        with scope(account=acme), CaptureQueriesContext(connection) as queries:
            assert routing.route_account(acme) == []  # free agents, none of them in Support
        return len(queries)

    waiting_callback(main_line, "+14155550101")
    few = queries_of_a_pass()
    for n in range(3):  # more free agents, in other groups
        user = make_member(acme, f"agent{n}@acme.test", f"Agent {n}", "agent")
        set_presence(acme, user, ONLINE)
        make_group(acme, f"Team {n}", user)
    for n in range(30):
        waiting_callback(main_line, f"+1415555{1000 + n}")
    with scope(account=acme):
        assert CallbackRequest.objects.filter(state="pending").count() == 31
    assert queries_of_a_pass() == few


def test_a_pass_that_makes_offers_costs_the_same_per_offer(acme, main_line, alice, bob, dave):  # SPEC R14, O4
    team = make_group(acme, "Team", alice, bob, dave)
    _route_to(main_line, team)
    for user in (alice, bob, dave):
        set_presence(acme, user, ONLINE)
    counts = []
    for free in ((bob,), (bob, dave), (alice, bob, dave)):
        with scope(account=acme):
            Offer.objects.filter(state=Offer.State.OFFERED).update(state=Offer.State.WITHDRAWN)
            for user in (alice, bob, dave):  # busy: not free, yet not declining (R7)
                AgentPresence.objects.filter(user=user).update(busy=user not in free)
        for n in range(5):
            waiting_callback(main_line, f"+1415555{len(counts)}{n:03d}")
        with scope(account=acme), CaptureQueriesContext(connection) as queries:
            assert len(routing.route_account(acme)) == len(free)
        counts.append(len(queries))
    per_offer = counts[1] - counts[0]
    assert counts[2] - counts[1] == per_offer and per_offer <= 4, counts


# --- declined by all, empty groups, membership changes ------------------------------------
def test_declined_by_all_counts_only_the_groups_agents(acme, main_line, alice, bob, dave):  # SPEC R8, R14
    support = make_group(acme, "Support", bob)
    _route_to(main_line, support)
    set_presence(acme, dave, ONLINE)  # online but outside Support: never asked, never waited for
    set_presence(acme, alice, AWAY)
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    assert offer.agent_id == bob.pk
    with scope(account=acme):
        offer_services.offer_decline(account=acme, offer_id=offer.pk, agent=bob)
    route_now(acme)
    assert _state(acme, request) == CallbackRequest.State.DECLINED


def test_a_request_is_not_declined_while_an_agent_of_its_groups_may_still_take_it(acme, main_line, bob, dave):  # SPEC R7, R8
    support = make_group(acme, "Support", bob, dave)
    _route_to(main_line, support)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, AWAY)  # away: receives it when available (R7)
    request = waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    with scope(account=acme):
        offer_services.offer_decline(account=acme, offer_id=offer.pk, agent=bob)
    route_now(acme)
    assert _state(acme, request) == CallbackRequest.State.PENDING
    set_presence(acme, dave, OFFLINE)  # now every Support agent declined or is offline
    route_now(acme)
    assert _state(acme, request) == CallbackRequest.State.DECLINED


def test_a_request_for_groups_without_members_waits_until_expiry_offered_to_nobody(acme, main_line, bob):  # SPEC R9, R14
    empty = make_group(acme, "Night shift")
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550101", groups=[empty])
    assert route_now(acme) == []
    assert route_now(acme, now=timezone.now() + timedelta(minutes=59)) == []
    assert _state(acme, request) == CallbackRequest.State.PENDING  # not "declined by all": nobody could decline
    route_now(acme, now=timezone.now() + timedelta(minutes=61))
    assert _state(acme, request) == CallbackRequest.State.EXPIRED


def test_adding_a_member_routes_to_them_at_once(acme, main_line, bob, django_capture_on_commit_callbacks):  # SPEC R14, O4
    empty = make_group(acme, "Night shift")
    set_presence(acme, bob, ONLINE)
    waiting_callback(main_line, "+14155550101", groups=[empty])
    assert route_now(acme) == []
    with scope(account=acme), django_capture_on_commit_callbacks(execute=True):
        core.group_membership_create(account=acme, actor=None, group_id=empty.pk, user_id=bob.pk)
    assert [o.agent_id for o in _open_offers(acme)] == [bob.pk]  # the membership woke the router


def test_a_member_taken_out_keeps_the_offer_they_hold_then_gets_no_more(acme, main_line, bob, dave):  # SPEC R14
    support = make_group(acme, "Support", bob)
    _route_to(main_line, support)
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, AWAY)
    waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    with scope(account=acme):
        membership = support.memberships.get(user=bob)
        core.group_membership_delete(account=acme, membership=membership, actor=None)
    assert [o.pk for o in _open_offers(acme)] == [offer.pk]  # still bob's, until answered or timed out
    later = timezone.now() + timedelta(seconds=main_line.callback_offer_seconds + 1)
    assert route_now(acme, now=later) == []  # timed out; bob is no longer in Support
    with scope(account=acme):
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.TIMED_OUT


# --- deleting a group in use ----------------------------------------------------------------
def test_a_group_a_line_or_an_open_request_routes_to_cannot_be_deleted(acme, main_line):  # SPEC R14
    sales, support, spare = make_group(acme, "Sales"), make_group(acme, "Support"), make_group(acme, "Spare")
    _route_to(main_line, support, default=sales)
    request = waiting_callback(main_line, "+14155550101", groups=[spare])
    with scope(account=acme):
        for group, named in ((sales, 'the line "Main line"'), (support, 'the line "Main line"'),
                             (spare, "1 open callback request")):
            with pytest.raises(ServiceError) as refused:
                core.group_delete(account=acme, group=group, actor=None)
            assert (refused.value.code, refused.value.field) == ("in_use", "base")
            assert named in refused.value.message
        assert Group.objects.filter(account=acme).count() == 3
        CallbackRequest.objects.filter(pk=request.pk).update(state=CallbackRequest.State.EXPIRED)
        core.group_delete(account=acme, group=spare, actor=None)  # a finished request does not hold it
        assert not Group.objects.filter(pk=spare.pk).exists()


# --- the API: group_ids on callback requests ------------------------------------------------
def post(client, body):
    return client.post(URL, data=json.dumps({"callback_request": body}), content_type="application/json")


def _requests(account):
    with scope(account=account):
        return CallbackRequest.objects.count()


def test_the_api_takes_group_ids_and_shows_them(alice_api, acme, main_line, bob, dave):  # SPEC A1, R14
    sales, support = make_group(acme, "Sales", bob), make_group(acme, "Support", dave)
    made = post(alice_api, {"phone_number_id": main_line.pk, "requester_phone_number": "+14155550101",
                            "group_ids": [support.pk, sales.pk, support.pk]})
    assert made.status_code == 201, made.content
    body = made.json()["callback_request"]
    assert body["group_ids"] == sorted([sales.pk, support.pk])
    assert alice_api.get(f"/api/v2/channels/voice/callback_requests/{body['id']}.json").json()[
        "callback_request"]["group_ids"] == sorted([sales.pk, support.pk])
    without = post(alice_api, {"phone_number_id": main_line.pk, "requester_phone_number": "+14155550102"})
    assert without.json()["callback_request"]["group_ids"] == []
    listed = {r["id"]: r["group_ids"] for r in alice_api.get(URL).json()["callback_requests"]}
    assert listed == {body["id"]: sorted([sales.pk, support.pk]), without.json()["callback_request"]["id"]: []}


def test_another_accounts_group_is_refused_exactly_like_a_missing_one(alice_api, acme, globex, main_line):  # SPEC T3, R14
    foreign = make_group(globex, "Globex support")
    own = make_group(acme, "Support")
    answers = []
    for group_id in (foreign.pk, missing_id()):
        response = post(alice_api, {"phone_number_id": main_line.pk, "requester_phone_number": "+14155550101",
                                    "group_ids": [own.pk, group_id]})
        answers.append((response.status_code, response.content))
    assert answers[0] == answers[1]
    status, content = answers[0]
    body = json.loads(content)
    assert status == 422 and body["details"]["group_ids"][0]["description"] == UNKNOWN_GROUP_MESSAGE
    assert _requests(acme) == 0  # nothing written


@pytest.mark.parametrize("group_ids", ["1", ["1"], [True], [1.5], {"id": 1}, [[1]]])
def test_group_ids_that_are_not_a_list_of_integers_are_malformed(alice_api, acme, main_line, group_ids):  # SPEC A1
    response = post(alice_api, {"phone_number_id": main_line.pk, "requester_phone_number": "+14155550101",
                                "group_ids": group_ids})
    assert response.status_code == 400, response.content
    assert "group_ids" in json.dumps(response.json()["details"])
    assert _requests(acme) == 0


def test_the_service_refuses_a_foreign_group_as_a_missing_one(acme, globex, main_line, alice):  # SPEC T3
    foreign = make_group(globex, "Globex support")
    with scope(account=acme):
        for group_id in (foreign.pk, missing_id(), 0):
            with pytest.raises(ServiceError) as refused:
                callback_request_create_by_api(account=acme, line_id=main_line.pk, number="+14155550101",
                                               actor=alice, group_ids=[group_id])
            assert (refused.value.field, refused.value.message) == ("group_ids", UNKNOWN_GROUP_MESSAGE)
        assert CallbackRequest.objects.count() == 0


# --- concurrency (PostgreSQL) ------------------------------------------------------------------
def _at_once(*actions) -> list[str]:
    """Run the actions at the same instant, each in its own thread and database connection."""
    barrier = threading.Barrier(len(actions))
    results = [""] * len(actions)

    def run(index: int, action) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = action()
        except Exception as error:  # a crash is a result too: it fails the test
            results[index] = f"error: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
@needs_postgresql()
def test_deleting_a_group_while_a_request_names_it_has_one_consistent_outcome(acme, main_line, alice):  # SPEC R14, O2
    for n in range(8):  # the order each race takes is the database's; both outcomes are legal
        group = make_group(acme, f"Race {n}")

        def delete(group=group) -> str:
            with scope(account=acme):
                try:
                    core.group_delete(account=acme, group=group, actor=None)
                except ServiceError as error:
                    return error.code
            return "deleted"

        def request(group=group, n=n) -> str:
            with scope(account=acme):
                try:
                    callback_request_create_by_api(account=acme, line_id=main_line.pk, number=f"+1415555{2000 + n}",
                                                   actor=alice, group_ids=[group.pk])
                except ServiceError as error:
                    return f"refused {error.field}"
            return "created"

        outcome = tuple(_at_once(delete, request))
        assert outcome in {("deleted", "refused group_ids"), ("in_use", "created")}, outcome
        with scope(account=acme):
            exists = Group.objects.filter(pk=group.pk).exists()
            named = CallbackRequest.objects.filter(groups=group.pk).exists()
        assert (exists, named) == ((False, False) if outcome[0] == "deleted" else (True, True))
