"""A caller whose number has a callback waiting on the line calls again (SPEC C13): 1 keeps
it, 2 cancels it (recorded on its ticket), 3 cancels it and waits on the line at its place.
Through the call simulator and the real, signed webhooks; the answers compared whole."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django_scopes import scope
from twilio.request_validator import RequestValidator

from supportcenter.models import AuditEntry
from talk import greetings_catalog as catalog
from talk.models import Call, CallbackRequest, QueueEntry
from talk.selectors import telephony_auth_token
from talk.routing import route_account
from talk.selectors.routing import current_offer
from talk.services.callback_requests import callback_request_create
from talk.webhooks.pending import CALLER_CANCEL_REASON, CALLER_WAITS_REASON
from tickets.models import Comment

from tests.talk.calls_support import CALLER, Phone, calls_of, make_line, requests_of

pytestmark = pytest.mark.usefixtures("bob_online")

OTHER_CALLER = "+14155550122"
XML = '<?xml version="1.0" encoding="UTF-8"?>'


def waiting_callback(line, number: str = CALLER) -> CallbackRequest:
    with scope(account=line.account):
        return callback_request_create(line=line, number=number)


def text(kind: str, language: str = "en") -> str:
    return catalog.PENDING_TEXTS[kind][language]


def menu_document(line, attempt: int, language: str = "de") -> str:
    url = f"/talk/webhooks/{line.webhook_token}/menu/?ctx=pending&amp;n={attempt}"
    say = {"en": ('en-US', 'Polly.Joanna'), "de": ('de-DE', 'Polly.Marlene')}[language]
    return (f'{XML}<Response><Gather action="{url}" method="POST" numDigits="1" timeout="6">'
            f'<Say language="{say[0]}" voice="{say[1]}">{text(catalog.PENDING_MENU, language)}</Say></Gather>'
            f'<Redirect method="POST">{url}</Redirect></Response>')


def goodbye_document(kind: str) -> str:
    return f'{XML}<Response><Say language="en-US" voice="Polly.Joanna">{text(kind)}</Say><Hangup /></Response>'


def last_answer(phone: Phone) -> str:
    return phone.transport.responses[-1][2]


def answer_to(phone: Phone, path_end: str) -> str:
    return [body for path, _status, body in phone.transport.responses if path.endswith(path_end)][-1]


def fresh(request: CallbackRequest) -> CallbackRequest:
    with scope(account=request.account):
        return CallbackRequest.objects.select_related("queue_entry").get(pk=request.pk)


def ticket_notes(request: CallbackRequest) -> list[str]:
    with scope(account=request.account):
        return list(Comment.objects.filter(ticket_id=fresh(request).ticket_id, public=False)
                    .order_by("created_at", "pk").values_list("body", flat=True))


def test_it_asks_a_caller_whose_callback_waits_before_the_welcome(phone, acme, main_line):  # SPEC C13
    waiting_callback(main_line)
    call = phone.dial()
    assert answer_to(phone, "/voice/") == menu_document(main_line, 1, "en")
    assert call.said() == [text(catalog.PENDING_MENU)] and not call.in_queue


def test_it_speaks_the_lines_callback_language(acme):  # SPEC C13, L3
    line = make_line(acme, callback_language="de")
    waiting_callback(line)
    phone = Phone(line)
    phone.dial()
    assert answer_to(phone, "/voice/") == menu_document(line, 1, "de")


def test_1_keeps_the_callback_and_says_goodbye(phone, acme, main_line):  # SPEC C13
    request = waiting_callback(main_line)
    call = phone.dial()
    phone.press(call, "1")
    assert answer_to(phone, "/menu/") == goodbye_document(catalog.PENDING_KEPT)
    assert call.status == "completed"
    kept = fresh(request)
    assert kept.state == CallbackRequest.State.PENDING and kept.queue_entry.state == QueueEntry.State.WAITING
    assert [r.pk for r in requests_of(acme)] == [request.pk]


def test_2_cancels_it_on_its_ticket_and_says_goodbye(phone, acme, main_line):  # SPEC C13
    request = waiting_callback(main_line)
    call = phone.dial()
    phone.press(call, "2")
    assert answer_to(phone, "/menu/") == goodbye_document(catalog.PENDING_CANCELLED)
    assert call.status == "completed"
    cancelled = fresh(request)
    assert (cancelled.state, cancelled.outcome, cancelled.cancelled_by, cancelled.cancel_reason) == (
        "cancelled", "cancelled", "caller", CALLER_CANCEL_REASON)
    assert cancelled.queue_entry.state == QueueEntry.State.CANCELLED
    assert ticket_notes(request)[-1] == (
        f"The caller cancelled the callback request to {CALLER}. Reason: {CALLER_CANCEL_REASON}")
    with scope(account=acme):
        [entry] = AuditEntry.objects.filter(action="callback_request.cancel")
    assert entry.actor is None and entry.data["by"] == "caller"


def test_3_cancels_it_and_the_caller_waits_at_the_place_it_had(phone, acme, main_line, bob):  # SPEC C13, R2
    request = waiting_callback(main_line)
    original = fresh(request).queue_entry.entered_at
    with scope(account=acme):
        route_account(acme)
        assert current_offer(account=acme, agent=bob).entry_id == request.queue_entry_id
    later = phone.queued(from_=OTHER_CALLER)  # joined after the callback was asked for
    call = phone.dial()
    phone.press(call, "3")
    with scope(account=acme):
        route_account(acme)
    assert call.in_queue and last_answer(phone).count("<Enqueue") == 0  # the hold loop answered last
    assert "<Enqueue" in answer_to(phone, "/menu/")
    cancelled = fresh(request)
    assert (cancelled.state, cancelled.cancelled_by, cancelled.cancel_reason) == (
        "cancelled", "caller", CALLER_WAITS_REASON)
    with scope(account=acme):
        own = QueueEntry.objects.get(call__provider_call_sid=call.call_sid)
        other = QueueEntry.objects.get(call__provider_call_sid=later.call_sid)
        assert (own.kind, own.state, own.entered_at) == ("live", "waiting", original)
        assert own.entered_at < other.entered_at
        # bob held the callback's offer; it went with the callback, and he is offered
        # the caller now, ahead of the one who came after.
        assert current_offer(account=acme, agent=bob).entry_id == own.pk
        assert Call.objects.get(pk=own.call_id).stage == Call.Stage.QUEUED


@pytest.mark.parametrize("wrong", [None, "9"])
def test_no_key_or_another_asks_once_more_then_keeps_it(phone, acme, main_line, wrong):  # SPEC C13
    request = waiting_callback(main_line)
    call = phone.dial()
    phone.silence(call) if wrong is None else phone.press(call, wrong)
    assert last_answer(phone) == menu_document(main_line, 2, "en")
    phone.silence(call) if wrong is None else phone.press(call, wrong)
    assert answer_to(phone, "/menu/") == goodbye_document(catalog.PENDING_KEPT)
    assert call.status == "completed"
    assert fresh(request).state == CallbackRequest.State.PENDING


def test_a_callback_an_agent_took_meanwhile_is_not_cancelled(phone, acme, main_line):  # SPEC C13, S2
    request = waiting_callback(main_line)
    call = phone.dial()
    with scope(account=acme):  # an agent accepted it while the caller listened to the menu
        CallbackRequest.objects.filter(pk=request.pk).update(state=CallbackRequest.State.IN_PROGRESS)
    phone.press(call, "2")
    assert answer_to(phone, "/menu/") == goodbye_document(catalog.PENDING_TOO_LATE)
    assert fresh(request).state == CallbackRequest.State.IN_PROGRESS and fresh(request).cancelled_by == ""


def _signed_post(line, path: str, params: dict, idempotency: str):
    with scope(account=line.account):
        token = telephony_auth_token(account=line.account)
    signature = RequestValidator(token).compute_signature("http://localhost" + path, params)
    return Client().post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                         HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=signature,
                         HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=idempotency)


def test_a_replayed_cancel_has_one_effect_and_the_same_answer(phone, acme, main_line):  # SPEC C10, C13
    request = waiting_callback(main_line)
    call = phone.dial()
    path = f"/talk/webhooks/{main_line.webhook_token}/menu/?ctx=pending&n=1"
    params = {**call.base_params(), "Digits": "2"}
    first = _signed_post(main_line, path, params, "retry-1")
    notes = ticket_notes(request)
    second = _signed_post(main_line, path, params, "retry-1")  # the provider's retry
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == goodbye_document(catalog.PENDING_CANCELLED).encode()
    assert ticket_notes(request) == notes
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="callback_request.cancel").count() == 1


def test_an_unsigned_choice_is_refused_and_cancels_nothing(phone, acme, main_line):  # SPEC C9
    request = waiting_callback(main_line)
    call = phone.dial()
    path = f"/talk/webhooks/{main_line.webhook_token}/menu/?ctx=pending&n=1"
    response = Client().post(path, data=urlencode({**call.base_params(), "Digits": "2"}),
                             content_type="application/x-www-form-urlencoded", HTTP_HOST="localhost",
                             HTTP_X_TWILIO_SIGNATURE="bm90LXRoZS1zaWduYXR1cmU=")
    assert response.status_code == 403 and fresh(request).state == CallbackRequest.State.PENDING


def test_another_accounts_or_lines_waiting_callback_is_not_found(phone, acme, globex, main_line):  # SPEC T3, C13
    globex_line = make_line(globex, "Globex main", number="+14155550300")
    second_line = make_line(acme, "Second", number="+14155550301")
    foreign = waiting_callback(globex_line)
    elsewhere = waiting_callback(second_line)
    call = phone.queued()  # the plain welcome, then the queue
    assert catalog.TEXTS[catalog.WELCOME]["en"] in call.said()
    assert text(catalog.PENDING_MENU) not in call.said()
    assert fresh(foreign).state == fresh(elsewhere).state == CallbackRequest.State.PENDING


def test_a_withheld_caller_id_has_no_waiting_callback_to_find(phone, acme, main_line):  # SPEC C13, C5
    waiting_callback(main_line)
    call = phone.queued(from_="anonymous")
    assert text(catalog.PENDING_MENU) not in call.said()
    assert [c.outcome for c in calls_of(acme)] == [""]


def test_every_language_of_the_catalog_has_the_texts():  # SPEC C13, L6
    languages = set(catalog.TEXTS[catalog.WELCOME])
    for kind, texts in catalog.PENDING_TEXTS.items():
        assert set(texts) == languages, kind
        assert all(value.strip() for value in texts.values())
    assert all(key in catalog.PENDING_TEXTS[catalog.PENDING_MENU][lang] for lang in languages for key in "123")


@pytest.mark.parametrize("key, state", [("2", "cancelled"), ("3", "pending"), ("1", "pending")])
def test_a_key_that_arrives_after_the_hang_up(phone, acme, main_line, key, state):  # SPEC C10, C13, C15
    request = waiting_callback(main_line)
    call = phone.dial()
    params = {**call.base_params(), "Digits": key}
    phone.hangup(call)  # the status callback overtook the key's request
    path = f"/talk/webhooks/{main_line.webhook_token}/menu/?ctx=pending&n=1"
    response = _signed_post(main_line, path, {**params, "CallStatus": "completed"}, "late-key")
    assert response.status_code == 200 and response.content.decode() == f"{XML}<Response />"
    assert fresh(request).state == state
    with scope(account=acme):  # nobody who left waits in line (C15)
        assert not QueueEntry.objects.filter(call__provider_call_sid=call.call_sid).exists()
