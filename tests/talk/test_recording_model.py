"""The caller's recording (SPEC C14) driven in every order of its events by a hypothesis state
machine: the Record action and the recording status callback (completed, absent, failed; with
the same or another recording id, a zero length, replayed), the call's end, the caller's
confirmation retried, and the dialer running due jobs at any time. The provider is the call
simulator (its recordings are generated clips); the webhooks are the real, signed ones.

After every step: one recording per request; a recording being copied has exactly one job;
a stored one has exactly one file (the clip of its first recording id) and never changes
again; the callback request itself is never touched.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from callsim.audio import clip
from talk.dialer import jobs_run_due
from talk.models import CallbackRequest, CallerRecording, ProviderJob
from tests.talk.calls_support import Phone, make_line

pytestmark = pytest.mark.usefixtures("bob_online")

EXAMPLES = int(os.environ.get("SC_MODEL_EXAMPLES", "40"))
STEPS = int(os.environ.get("SC_MODEL_STEPS", "12"))
State = CallerRecording.State
SIDS = ("RE" + "a" * 32, "RE" + "b" * 32, "", "not-a-recording")


def run(machine_class) -> None:
    run_state_machine_as_test(machine_class, settings=hypothesis_settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))


def test_every_order_of_a_recordings_events(acme, settings):  # SPEC C14
    settings.TASKS_SYNC = False  # the machine runs the dialer itself, at times it chooses

    class RecordingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.block = transaction.atomic()  # each example in a savepoint, rolled back after
            self.block.__enter__()
            self.scope = scope(account=acme)
            self.scope.__enter__()
            line = make_line(acme, callback_record_name=True)
            self.phone = Phone(line)
            self.call = self.phone.dial()
            self.phone.press(self.call, line.callback_key)
            self.phone.press(self.call, "1")  # this number: the confirmation is asked now
            self.confirmed = self.post("confirm", {"Digits": "1"}, ctx="call")
            assert "<Record " in self.confirmed
            self.request = CallbackRequest.objects.get(call__provider_call_sid=self.call.call_sid)
            self.stored_as: tuple[str, str] | None = None  # (provider id, file) once stored
            self.later = 0  # seconds the dialer's clock has moved on

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.scope.__exit__(None, None, None)
            self.block.__exit__(None, None, None)

        def post(self, name: str, params: dict[str, str], **query) -> str:
            status, body = self.phone.webhook(self.call.call_sid, name, params, **query)
            assert status == 200, body
            return body

        @rule(sid=st.sampled_from(SIDS), seconds=st.sampled_from(("3", "0")))
        def record_action(self, sid: str, seconds: str) -> None:
            assert "<Hangup" in self.post("recorded", {"RecordingSid": sid, "RecordingDuration": seconds})

        @rule(status=st.sampled_from(("completed", "absent", "failed")), sid=st.sampled_from(SIDS),
              seconds=st.sampled_from(("3", "0")))
        def recording_status(self, status: str, sid: str, seconds: str) -> None:
            self.post("recording_status", {"RecordingStatus": status, "RecordingSid": sid, "RecordingDuration": seconds})

        @rule()
        def call_ends(self) -> None:
            self.post("status", {"CallStatus": "completed", "CallDuration": "20"})

        @rule()
        def confirmation_retried(self) -> None:
            """The provider sends the confirmation again: it hears the first answer (C10)."""
            assert self.post("confirm", {"Digits": "1"}, ctx="call") == self.confirmed

        @rule(seconds=st.sampled_from((0, 3, 600)))
        def dialer_runs(self, seconds: int) -> None:
            self.later += seconds
            jobs_run_due(timezone.now() + timedelta(seconds=self.later))

        # --- what must hold after every step ---------------------------------------------
        def recording(self) -> CallerRecording:
            return CallerRecording.objects.get(request=self.request)

        @invariant()
        def one_recording_and_its_jobs(self) -> None:
            recording = self.recording()
            jobs = ProviderJob.objects.filter(kind=ProviderJob.Kind.FETCH_RECORDING, object_id=recording.pk).count()
            assert jobs <= 1
            if recording.state == State.FETCHING:
                assert jobs == 1 and recording.provider_sid in SIDS[:2] and recording.duration_seconds == 3
            if recording.state in (State.AWAITED, State.NONE):
                assert not recording.audio.name

        @invariant()
        def stored_once_with_one_file(self) -> None:
            recording = self.recording()
            directory = f"recordings/{acme.pk}"
            files = [name for name in (default_storage.listdir(directory)[1] if default_storage.exists(directory) else [])
                     if name.startswith(f"{self.request.pk}-")]
            if recording.state == State.STORED:
                assert files == [recording.audio.name.rsplit("/", 1)[1]]
                with default_storage.open(recording.audio.name) as stored:
                    assert stored.read() == clip(recording.provider_sid)
                if self.stored_as is None:
                    self.stored_as = (recording.provider_sid, recording.audio.name)
                assert (recording.provider_sid, recording.audio.name) == self.stored_as  # never again
            else:
                assert self.stored_as is None and files == []

        @invariant()
        def the_callback_stands(self) -> None:
            request = CallbackRequest.objects.get(pk=self.request.pk)
            assert (request.state, request.confirmed) == (CallbackRequest.State.PENDING, True)

    run(RecordingMachine)
