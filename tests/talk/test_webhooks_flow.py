"""The caller's experience, end to end through the call simulator and the real
webhooks (SPEC C1-C8). Every answer is interpreted with Twilio's verb rules."""
from __future__ import annotations

import pytest
from django_scopes import scope

from talk.models import AgentPresence, Call, CallbackRequest, Line, QueueEntry
from talk import greetings_catalog as catalog

from tests.talk.calls_support import (
    CALLER,
    Phone,
    calls_of,
    make_line,
    requests_of,
    set_presence,
)

pytestmark = pytest.mark.usefixtures("bob_online")


def system_text(category: str, language: str = "en", key: str = "2") -> str:
    return catalog.TEXTS[category][language].replace("{key}", key)


def test_2_then_1_asks_for_a_callback_at_the_caller_id_and_keeps_the_place(phone, acme):  # SPEC C3, C5, C6
    call = phone.queued()
    assert system_text(catalog.CALLBACK) in call.said()  # the hold loop repeats the callback message
    with scope(account=acme):
        entered_at = QueueEntry.objects.get().entered_at
    phone.press(call, "2")
    assert call.said()[-1] == system_text(catalog.CALLBACK_MENU)
    phone.press(call, "1")
    assert call.said()[-1] == system_text(catalog.CALLBACK_CONFIRMATION)
    phone.press(call, "1")
    assert call.said()[-1] == system_text(catalog.REQUEST_CONFIRMED)
    assert call.status == "completed"
    [request] = requests_of(acme)
    assert (request.number, request.number_source, request.confirmed) == (CALLER, "caller_id", True)
    assert request.state == CallbackRequest.State.PENDING
    assert request.queue_entered_at == entered_at == request.queue_entry.entered_at
    assert request.queue_entry.kind == QueueEntry.Kind.CALLBACK
    assert request.queue_entry.state == QueueEntry.State.WAITING
    [record] = calls_of(acme)
    assert record.outcome == Call.Outcome.CALLBACK_REQUESTED and record.duration_seconds is not None


def test_the_key_works_during_the_greeting_before_the_queue(phone, acme):  # SPEC C1, C3
    call = phone.dial()
    assert call.said()[-1] == system_text(catalog.CALLBACK) and not call.in_queue
    phone.press(call, "2")
    assert call.said()[-1] == system_text(catalog.CALLBACK_MENU) and not call.in_queue
    phone.press(call, "11")
    [request] = requests_of(acme)
    assert request.number == CALLER and call.status == "completed"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("4155550123#", "+14155550123"),
        ("00442079460958#", "+442079460958"),
        ("011442079460958#", "+442079460958"),
    ],
)
def test_2_then_2_takes_another_number_and_reads_it_back(phone, acme, typed, expected):  # SPEC C4
    call = phone.queued()
    phone.press(call, "22")
    assert call.said()[-1] == system_text(catalog.NUMBER_ENTRY)
    phone.press(call, typed)
    digits = ", ".join(ch for ch in expected if ch.isdigit())
    assert call.said()[-2] == catalog.TEXTS[catalog.NUMBER_READBACK]["en"].replace("{number}", digits)
    phone.press(call, "1")
    [request] = requests_of(acme)
    assert (request.number, request.number_source) == (expected, "entered")


def test_an_invalid_number_is_asked_again(phone, acme):  # SPEC C4
    call = phone.queued()
    phone.press(call, "22")
    phone.press(call, "12#")
    assert call.said()[-2:] == [system_text(catalog.NUMBER_INVALID), system_text(catalog.NUMBER_ENTRY)]
    phone.press(call, "4155550123#")
    phone.press(call, "1")
    assert requests_of(acme)[0].number == "+14155550123"


def test_3_goes_back_to_the_queue(phone, acme):  # SPEC C3
    call = phone.queued()
    phone.press(call, "23")
    assert call.in_queue and call.status == "in-progress"
    assert call.said()[-1] == system_text(catalog.CALLBACK)  # the hold loop again
    assert requests_of(acme) == []


def test_3_during_the_greeting_joins_the_queue(phone, acme):  # SPEC C1, C3
    call = phone.dial()
    phone.press(call, "23")
    assert call.in_queue
    with scope(account=acme):
        assert QueueEntry.objects.get().kind == QueueEntry.Kind.LIVE


@pytest.mark.parametrize("wrong", ["9", "*", None])
def test_wrong_keys_or_silence_repeat_the_menu_then_return_to_the_queue(phone, acme, wrong):  # SPEC C3
    call = phone.queued()
    phone.press(call, "2")
    for _ in range(2):
        phone.silence(call) if wrong is None else phone.press(call, wrong)
        assert call.said()[-1] == system_text(catalog.CALLBACK_MENU)
    phone.silence(call) if wrong is None else phone.press(call, wrong)
    assert call.in_queue and call.said()[-1] == system_text(catalog.CALLBACK)
    assert requests_of(acme) == []


def test_a_second_request_for_a_waiting_number_changes_nothing(phone, acme):  # SPEC C7
    first = phone.queued()
    phone.press(first, "211")
    # Calling again from that number opens the C13 menu (test_caller_cancel.py); from
    # another phone, asking for a callback to the waiting number changes nothing.
    second = phone.queued(from_="+14155550122")
    phone.press(second, "22" + CALLER.removeprefix("+1") + "#1")
    assert second.said()[-1] == system_text(catalog.ALREADY_WAITING)
    assert len(requests_of(acme)) == 1


def test_a_withheld_caller_id_is_sent_to_number_entry(phone, acme):  # SPEC C5
    call = phone.queued(from_="anonymous")
    phone.press(call, "21")
    assert call.said()[-1] == system_text(catalog.NUMBER_ENTRY)
    phone.press(call, "4155550123#1")
    assert requests_of(acme)[0].number == "+14155550123"


def test_a_sip_caller_is_called_back_at_the_from_uri_user(acme):  # SPEC C5, L4
    line = make_line(acme, "SIP", Line.Kind.SIP, sip_address="sip:support@pbx.acme.example",
                     outbound_number="+14155550199", callback_enabled=True)
    phone = Phone(line)
    call = phone.queued(from_="sip:+14155550177@pbx.acme.example")
    phone.press(call, "211")
    [request] = requests_of(acme)
    assert (request.number, request.number_source) == ("+14155550177", "sip_from")


@pytest.mark.parametrize("capture", [True, False])
def test_hanging_up_after_the_key_is_captured_when_on(acme, capture):  # SPEC C8
    line = make_line(acme, callback_capture_on_first_key=capture)
    phone = Phone(line)
    call = phone.queued()
    phone.press(call, "2")
    phone.hangup(call)
    [record] = calls_of(acme)
    if capture:
        [request] = requests_of(acme)
        assert (request.number, request.confirmed) == (CALLER, False)
        assert record.outcome == Call.Outcome.CALLBACK_CAPTURED
    else:
        assert requests_of(acme) == []
        assert record.outcome == Call.Outcome.ABANDONED


def test_capture_also_works_when_the_key_was_pressed_in_the_greeting(phone, acme):  # SPEC C8
    call = phone.dial()
    phone.press(call, "2")
    phone.hangup(call)  # no queue exit: only the status callback tells
    assert requests_of(acme)[0].confirmed is False


def test_a_withheld_caller_hanging_up_is_abandoned_not_captured(phone, acme):  # SPEC C8
    call = phone.queued(from_="anonymous")
    phone.press(call, "2")
    phone.hangup(call)
    assert requests_of(acme) == []
    assert calls_of(acme)[0].outcome == Call.Outcome.ABANDONED


def test_a_caller_hanging_up_in_the_queue_is_abandoned(phone, acme):
    call = phone.queued()
    phone.hangup(call)
    [record] = calls_of(acme)
    assert record.outcome == Call.Outcome.ABANDONED
    with scope(account=acme):
        assert QueueEntry.objects.get().state == QueueEntry.State.ABANDONED


@pytest.mark.parametrize("status", [AgentPresence.Status.OFFLINE, AgentPresence.Status.TRANSFERS_ONLY])
def test_callback_is_unavailable_without_an_agent_online_or_away(phone, acme, bob, status):  # SPEC C2
    set_presence(acme, bob, status)
    call = phone.queued()
    assert system_text(catalog.CALLBACK) not in call.said()
    phone.press(call, "2")  # the key does nothing
    assert call.in_queue and requests_of(acme) == []
    assert system_text(catalog.CALLBACK_MENU) not in call.said()


def test_an_away_agent_makes_callback_available(phone, acme, bob):  # SPEC C2
    set_presence(acme, bob, AgentPresence.Status.AWAY)
    call = phone.queued()
    phone.press(call, "211")
    assert len(requests_of(acme)) == 1


def test_no_prompt_on_a_sip_line_without_outbound_number(acme):  # SPEC C2, L4
    line = make_line(acme, "SIP", Line.Kind.SIP, sip_address="sip:support@pbx.acme.example")
    phone = Phone(line)
    call = phone.queued(from_="sip:+14155550177@pbx.acme.example")
    assert system_text(catalog.CALLBACK) not in call.said()


def test_no_prompt_on_a_digital_line(acme):  # SPEC C2, L1
    phone = Phone(make_line(acme, "Web", Line.Kind.DIGITAL))
    call = phone.queued(from_="client:visitor-1")
    phone.press(call, "2")
    assert system_text(catalog.CALLBACK) not in call.said() and requests_of(acme) == []


def test_an_ivr_style_line_offers_the_callback_only_while_queued(acme):  # SPEC C1 (seed comment)
    phone = Phone(make_line(acme, callback_offer_in_greeting=False))
    call = phone.dial()
    assert call.in_queue  # no Gather in the greeting
    assert call.said().count(system_text(catalog.CALLBACK)) == 1  # only from the hold loop
    phone.press(call, "211")
    assert len(requests_of(acme)) == 1


def test_number_prompts_speak_the_lines_callback_language(acme):  # SPEC L3, C4
    phone = Phone(make_line(acme, callback_language="ja"))
    call = phone.queued()
    phone.press(call, "22")
    entry = [t for t in call.transcript if t["kind"] == "say"][-1]
    assert entry["language"] == "ja-JP" and entry["text"] == catalog.TEXTS[catalog.NUMBER_ENTRY]["ja"]


def test_an_unsupported_account_language_falls_back_to_english(acme):  # SPEC L3
    acme.default_language = "pt"
    acme.save()
    phone = Phone(make_line(acme))
    call = phone.queued()
    phone.press(call, "22")
    entry = [t for t in call.transcript if t["kind"] == "say"][-1]
    assert entry["language"] == "en-US" and entry["text"] == catalog.TEXTS[catalog.NUMBER_ENTRY]["en"]


def test_a_custom_callback_key_is_used_and_spoken(acme):  # SPEC L7
    phone = Phone(make_line(acme, callback_key="5"))
    call = phone.queued()
    assert system_text(catalog.CALLBACK, key="5") in call.said()
    phone.press(call, "2")
    assert requests_of(acme) == [] and call.in_queue
    phone.press(call, "511")
    assert len(requests_of(acme)) == 1


def test_queued_callers_can_hear_their_position_and_wait(acme):  # SPEC C12
    from datetime import timedelta

    from django.utils import timezone

    from talk.models import QueueEntry

    line = make_line(acme, announce_queue_position=True)
    with scope(account=acme):  # someone was served after waiting 4 minutes
        now = timezone.now()
        QueueEntry.objects.create(account=acme, line=line, entered_at=now - timedelta(minutes=5),
                                  left_at=now - timedelta(minutes=1), state=QueueEntry.State.SERVED)
    phone = Phone(line)
    phone.queued(from_="+14155550122")
    second = phone.queued()
    assert "You are number 2 in line. The estimated wait is about 8 minutes." in second.said()


def test_announcements_are_off_by_default(phone):  # SPEC C12
    call = phone.queued()
    assert not any("in line" in text for text in call.said())
