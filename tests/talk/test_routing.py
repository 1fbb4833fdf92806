"""The virtual queue, offers, decline, expiry and the callback call (SPEC R2-R12)."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_scopes import scope

from callsim import gateway
from supportcenter.errors import ServiceError
from talk import routing
from talk.dialer import jobs_run_due
from talk.models import AgentPresence, CallbackAttempt, CallbackRequest, Call, Offer, QueueEntry
from talk.services import offers as services
from talk.services.callback_requests import callback_request_create
from tests.talk.calls_support import ClientTransport, Phone, set_presence
from tests.talk.factories import route_now, waiting_callback
from tickets.models import Comment, Ticket

ONLINE, AWAY, OFFLINE, TRANSFERS = "online", "away", "offline", "transfers_only"


@pytest.fixture(autouse=True)
def inline_tasks(settings, monkeypatch):
    settings.TASKS_SYNC = True
    monkeypatch.setattr(gateway, "transport_factory", ClientTransport)


@pytest.fixture
def run(acme, django_capture_on_commit_callbacks):
    """Run a service in acme's scope and everything it queued for after commit."""

    def runner(func, *args, **kwargs):
        with scope(account=acme), django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return runner


def _offers(acme, **filters):
    with scope(account=acme):
        return list(Offer.objects.filter(**filters).select_related("entry").order_by("created_at"))


def _tickets(acme):
    with scope(account=acme):
        return list(Ticket.objects.all())


def _comments(acme, ticket):
    with scope(account=acme):
        return [c.body for c in Comment.objects.filter(ticket=ticket, public=False).order_by("created_at")]


def test_entries_are_offered_in_original_queue_order_one_per_free_agent(acme, main_line, bob, dave):  # SPEC R2
    phone = Phone(main_line)
    set_presence(acme, bob, ONLINE)
    first = waiting_callback(main_line, "+14155550101", minutes_ago=5)
    live = phone.queued(from_="+14155550102")  # queued now, between the two callbacks
    third = waiting_callback(main_line, "+14155550103")
    set_presence(acme, dave, ONLINE)
    made = route_now(acme)
    assert len(made) == 2  # two free agents, two offers: no burst
    offered = {o.entry_id for o in made}
    with scope(account=acme):
        live_entry = QueueEntry.objects.get(call__provider_call_sid=live.call_sid)
    assert offered == {first.queue_entry_id, live_entry.pk} and third.queue_entry_id not in offered
    assert route_now(acme) == []  # idempotent: each agent holds one offer


def test_an_agent_holds_at_most_one_offer_and_away_or_busy_agents_wait(acme, main_line, bob, dave):  # SPEC R2, R7
    set_presence(acme, bob, AWAY)
    set_presence(acme, dave, ONLINE)
    with scope(account=acme):
        AgentPresence.objects.filter(user=dave).update(busy=True)
    waiting_callback(main_line, "+14155550101")
    assert route_now(acme) == []
    set_presence(acme, bob, ONLINE)
    [offer] = route_now(acme)
    assert offer.agent_id == bob.pk


def test_decline_keeps_the_place_and_offers_the_next_agent(acme, main_line, bob, dave, run):  # SPEC R6
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550101", minutes_ago=3)
    [offer] = route_now(acme)
    set_presence(acme, dave, ONLINE)
    first_agent = offer.agent_id
    run(services.offer_decline, account=acme, offer_id=offer.pk, agent=bob if first_agent == bob.pk else dave)
    open_offers = _offers(acme, state=Offer.State.OFFERED)
    assert [o.agent_id for o in open_offers] == [dave.pk if first_agent == bob.pk else bob.pk]
    with scope(account=acme):
        assert QueueEntry.objects.get(pk=request.queue_entry_id).entered_at == request.queue_entered_at


def test_when_every_agent_declined_the_request_is_cancelled_with_a_ticket(acme, main_line, alice, bob, dave, run):  # SPEC R8, R12
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    set_presence(acme, alice, TRANSFERS)  # counts as declined (R7)
    request = waiting_callback(main_line, "+14155550101")
    route_now(acme)
    for _ in range(2):
        [offer] = _offers(acme, state=Offer.State.OFFERED)
        agent = bob if offer.agent_id == bob.pk else dave
        run(services.offer_decline, account=acme, offer_id=offer.pk, agent=agent)
    with scope(account=acme):
        request.refresh_from_db()
    assert (request.state, request.outcome) == ("declined", "declined")
    [ticket] = _tickets(acme)
    assert ticket.subject == "Callback request" and ticket.via == "voice"
    assert any("Every agent declined" in body for body in _comments(acme, ticket))


def test_offline_agents_count_as_declined(acme, main_line, alice, bob, dave, run):  # SPEC R7
    set_presence(acme, bob, ONLINE)
    request = waiting_callback(main_line, "+14155550101")  # alice and dave: no presence = offline
    [offer] = route_now(acme)
    run(services.offer_decline, account=acme, offer_id=offer.pk, agent=bob)
    with scope(account=acme):
        request.refresh_from_db()
    assert request.state == CallbackRequest.State.DECLINED


def test_an_unanswered_offer_times_out_and_cycles_to_the_next_agent(acme, main_line, bob, dave):  # SPEC R4
    set_presence(acme, bob, ONLINE)
    set_presence(acme, dave, ONLINE)
    waiting_callback(main_line, "+14155550101")
    [first] = route_now(acme)
    later = timezone.now() + timedelta(seconds=main_line.callback_offer_seconds + 1)
    [second] = route_now(acme, now=later)
    assert _offers(acme, pk=first.pk)[0].state == Offer.State.TIMED_OUT
    assert second.agent_id != first.agent_id
    assert route_now(acme, now=later) == []  # replaying the same pass changes nothing


def test_a_request_expires_after_the_lines_expiry_with_a_ticket(acme, main_line, bob):  # SPEC R9
    set_presence(acme, bob, AWAY)
    request = waiting_callback(main_line, "+14155550101")
    route_now(acme, now=timezone.now() + timedelta(minutes=59))
    with scope(account=acme):
        request.refresh_from_db()
    assert request.state == CallbackRequest.State.PENDING
    route_now(acme, now=timezone.now() + timedelta(minutes=61))
    with scope(account=acme):
        request.refresh_from_db()
    assert (request.state, request.outcome) == ("expired", "expired")
    [ticket] = _tickets(acme)
    assert any("within 60 minutes" in body for body in _comments(acme, ticket))


def test_accepting_a_callback_places_the_call_and_records_it_on_one_ticket(acme, main_line, dave, run):  # SPEC R5, R11, R12
    set_presence(acme, dave, ONLINE)
    request = waiting_callback(main_line, "+14155550101", minutes_ago=2)
    [offer] = route_now(acme)
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)
    with scope(account=acme):
        request.refresh_from_db()
        [attempt] = CallbackAttempt.objects.all()
        presence = AgentPresence.objects.get(user=dave)
    assert (request.state, request.outcome, request.duration_seconds) == ("completed", "answered", 42)
    assert request.accepted_by_id == dave.pk and request.served_in_order is True
    assert (request.started_at - request.queue_entered_at).total_seconds() >= 120
    assert attempt.status == CallbackAttempt.Status.COMPLETED and attempt.provider_call_sid.startswith("CA")
    assert presence.busy is False
    [ticket] = _tickets(acme)
    comments = _comments(acme, ticket)
    assert comments[0] == "Callback requested on Main line for +14155550101 (confirmed by the caller)."
    assert "Dave Agent accepted the callback request" in comments[1]
    assert "answered, talked 42 s" in comments[-1]
    with scope(account=acme):  # the system's lines are internal and the system's: nothing said to the requester
        assert not Comment.objects.filter(ticket=ticket, public=True).exists()
        assert Comment.objects.filter(ticket=ticket).order_by("created_at").first().author is None


@pytest.mark.parametrize("number, outcome, words", [("+14155550404", "no_answer", "no answer"), ("+14155550486", "busy", "busy")])
def test_a_customer_who_does_not_answer_is_not_retried_by_default(acme, main_line, dave, run, number, outcome, words):  # SPEC R10
    set_presence(acme, dave, ONLINE)
    request = waiting_callback(main_line, number)
    [offer] = route_now(acme)
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)
    with scope(account=acme):
        request.refresh_from_db()
        assert CallbackAttempt.objects.count() == 1
    assert (request.state, request.outcome) == ("failed", outcome)
    [ticket] = _tickets(acme)
    assert f"{words}. No retry" in _comments(acme, ticket)[-1]


def test_a_retry_policy_calls_again_after_its_interval(acme, dave, run):  # SPEC R10, L7
    from tests.talk.calls_support import make_line

    acme.time_zone = "Asia/Tokyo"  # the note's time is the account's, and says so
    acme.save(update_fields=["time_zone"])
    line = make_line(acme, callback_retry_attempts=1, callback_retry_interval_minutes=5)
    set_presence(acme, dave, ONLINE)
    request = waiting_callback(line, "+14155550404")
    [offer] = route_now(acme)
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)
    with scope(account=acme):
        assert [a.status for a in CallbackAttempt.objects.order_by("number")] == ["no_answer", "queued"]
    assert run(jobs_run_due) == 0  # the retry's time has not come
    run(jobs_run_due, now=timezone.now() + timedelta(minutes=6))
    with scope(account=acme):
        request.refresh_from_db()
        assert [a.status for a in CallbackAttempt.objects.order_by("number")] == ["no_answer", "no_answer"]
    assert (request.state, request.attempts) == ("failed", 2)
    comments = _comments(acme, _tickets(acme)[0])
    assert "Trying again" in comments[-2] and "No retries left" in comments[-1]
    tokyo_hour = timezone.localtime(timezone.now() + timedelta(minutes=5), ZoneInfo("Asia/Tokyo")).strftime("%H:")
    assert f"at {tokyo_hour}" in comments[-2] and "Asia/Tokyo time" in comments[-2]


def test_an_offer_is_accepted_exactly_once(acme, main_line, dave, run):  # SPEC R5
    set_presence(acme, dave, ONLINE)
    waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)
    with pytest.raises(ServiceError) as second:
        run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)
    assert second.value.code == "offer_gone"
    assert len(_tickets(acme)) == 1


def test_a_timed_out_or_foreign_offer_cannot_be_accepted(acme, main_line, bob, dave, run):  # SPEC R5, R13
    set_presence(acme, bob, ONLINE)
    waiting_callback(main_line, "+14155550101")
    [offer] = route_now(acme)
    with pytest.raises(ServiceError):
        run(services.offer_accept, account=acme, offer_id=offer.pk, agent=dave)  # not dave's
    route_now(acme, now=timezone.now() + timedelta(seconds=41))
    with pytest.raises(ServiceError):
        run(services.offer_accept, account=acme, offer_id=offer.pk, agent=bob)


def test_accepting_a_live_call_answers_it(acme, main_line, bob, run):  # SPEC R3, R5
    set_presence(acme, bob, ONLINE)
    live = Phone(main_line).queued()
    [offer] = route_now(acme)
    assert offer.kind == "live"
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=bob)
    with scope(account=acme):
        call = Call.objects.get(provider_call_sid=live.call_sid)
    assert (call.answered_by_id, call.outcome) == (bob.pk, "answered")


def test_a_hung_up_caller_is_not_offered(acme, main_line, bob):  # SPEC R2
    phone = Phone(main_line)
    live = phone.queued()
    phone.hangup(live)
    set_presence(acme, bob, ONLINE)
    assert route_now(acme) == []


def test_a_live_caller_from_the_simulator_is_connected_to_the_agent(acme, main_line, bob, run):  # SPEC R5, O1
    from talk.selectors import line_webhook_urls
    from callsim import runner

    set_presence(acme, bob, ONLINE)
    with scope(account=acme):
        AgentPresence.objects.filter(user=bob).update(device="+14155550177")
        row = runner.simulator_call_place(account=acme, line=main_line, from_="+14155550111", user=bob,
                                          urls=line_webhook_urls(line=main_line), transport=ClientTransport())
        row.refresh_from_db()
        runner.simulator_call_act(account=acme, row=row, action="silence", transport=ClientTransport())  # into the queue
    [offer] = route_now(acme)
    run(services.offer_accept, account=acme, offer_id=offer.pk, agent=bob)
    with scope(account=acme):
        row.refresh_from_db()
    transcript = row.state["transcript"]
    assert any(t["kind"] == "dial-out" and t["text"] == "+14155550177" for t in transcript)
    assert row.state["queue"] is None


@pytest.mark.parametrize("inline", [True, False])
def test_a_new_request_wakes_the_router_after_commit(acme, main_line, bob, settings, django_capture_on_commit_callbacks, inline):  # SPEC R13
    settings.ROUTE_INLINE = inline  # inline: the web process routes; else a (here synchronous) task
    set_presence(acme, bob, ONLINE)
    with scope(account=acme), django_capture_on_commit_callbacks(execute=True):
        callback_request_create(line=main_line, number="+14155550101")
    assert [o.agent_id for o in _offers(acme, state=Offer.State.OFFERED)] == [bob.pk]


def test_queue_counts_count_each_kind_once(acme, main_line):  # SPEC R13, D1
    from talk.selectors.routing import queue_counts

    phone = Phone(main_line)
    phone.queued(from_="+14155550102")
    phone.queued(from_="+14155550103")
    waiting_callback(main_line, "+14155550101")
    with scope(account=acme):
        [row] = queue_counts(account=acme)
    assert (row["calls_waiting"], row["callbacks_waiting"]) == (2, 1)


def test_an_entry_that_became_a_callback_after_the_pass_read_it_is_not_offered_as_live(acme, main_line, bob, monkeypatch):  # SPEC R2, C6
    # Found by the stress test: the pass read a live caller's entry, the caller's capture then
    # made it a callback and withdrew the (not yet made) offers, and the pass offered it as a
    # live call; the open live offer on a callback entry stayed. The pass re-reads the entry
    # under a lock before offering it.
    set_presence(acme, bob, ONLINE)
    with scope(account=acme):
        call = Call.objects.create(account=acme, line=main_line, provider_call_sid="CAstale", from_raw="+14155550177",
                                   caller_number="+14155550177", stage=Call.Stage.QUEUED)
        entry = QueueEntry.objects.create(account=acme, line=main_line, call=call, kind=QueueEntry.Kind.LIVE,
                                          entered_at=timezone.now())
        stale = list(routing._waiting_entries(acme))
        assert [e.kind for e in stale] == [QueueEntry.Kind.LIVE]
        QueueEntry.objects.filter(pk=entry.pk).update(kind=QueueEntry.Kind.CALLBACK)  # the capture, committed meanwhile
        monkeypatch.setattr(routing, "_waiting_entries",
                            lambda account, *chunk, scheduled=False, **_now: [] if scheduled else stale)
        assert routing._offer(acme, timezone.now()) == []
        assert not Offer.objects.filter(entry=entry).exists()
