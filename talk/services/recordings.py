"""The caller's recorded name and reason (SPEC C14): every write of its lifecycle.

The states are those of ``talk.models.CallerRecording`` (see its module). Each move is a
conditional UPDATE on the states it leaves, so the Record action, the recording status
callback, the call's end and provider retries, arriving in any order and any number of
times, move it once. The audio is copied by the dialer (a ``fetch_recording`` job) with the
account's provider credentials, never on a webhook's path; the provider's copy is deleted
once ours is stored.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from supportcenter.models import Account
from supportcenter.realtime import account_group, push_on_commit
from supportcenter.tenancy import account_base_url
from talk.enqueue import provider_job_add, provider_job_hasten
from talk.models import Call, CallbackRequest, CallerRecording, ProviderJob, TelephonySettings
from talk.models.telephony import DEFAULT_RECORDING_RETENTION_DAYS
from talk.telephony import GatewayError, gateway_for
from tickets import services as tickets
from tickets.models import Ticket

logger = logging.getLogger(__name__)

atomic = transaction.atomic(savepoint=False)
State = CallerRecording.State

# A recording id the provider gave us (Twilio's shape; the simulator makes the same).
RECORDING_SID_RE = re.compile(r"^RE[0-9a-fA-F]{32}$")
FETCH_DELAYS = (2, 5, 15, 60, 300)  # seconds before each further try to copy the audio; then "failed"
FETCH_AFTER_ACTION_SECONDS = 2  # the Record action may come before the provider has the file ready
AUDIO_LIMIT_BYTES = 5 * 1024 * 1024  # 30 seconds of phone audio as WAV is under 0.5 MB
AWAITED_AT_MOST = timedelta(minutes=10)  # the safety net for a call whose end we never heard
OPEN_REQUEST_STATES = (CallbackRequest.State.PENDING, CallbackRequest.State.IN_PROGRESS)
PURGE_BATCH = 500


def _push(account_id: int) -> None:
    """The queue page and the consoles show the recording's state: they reload."""
    push_on_commit(account_group(account_id), "queue.changed", {})


def _of_call(call: Call) -> QuerySet[CallerRecording]:
    return CallerRecording.objects.filter(account_id=call.account_id, request__call_id=call.pk)


@atomic
def recording_expect(*, call: Call, request: CallbackRequest) -> bool:
    """The caller confirmed (C6): whether to ask them for their name and reason now.

    Once per request, on a line that asks for it, while the caller is still on the line; a
    replayed confirmation after the recording answers False (the goodbye).
    """
    if not call.line.callback_record_name or call.ended_at is not None or request.call_id != call.pk:
        return False
    recording, _created = CallerRecording.objects.get_or_create(
        account_id=call.account_id, request=request, defaults={"state": State.AWAITED},
    )
    return recording.state == State.AWAITED


@atomic
def recording_received(*, call: Call, recording_sid: str, duration: int | None, status: str = "") -> None:
    """The provider's word on the recording: the Record action (``status`` "") or the
    recording status callback ("completed", "absent", "failed"), in either order.

    The first that names a recording starts the copy (a dialer job); "completed" after the
    action brings that job forward; "absent" or "failed" mean there is nothing to copy.
    """
    recording = _of_call(call).select_for_update(of=("self",)).first()
    if recording is None:
        return
    if status in ("absent", "failed"):
        if recording.state in (State.AWAITED, State.NONE, State.FETCHING):
            _move(recording, State.NONE)
        return
    if recording.state == State.FETCHING and status == "completed":
        provider_job_hasten(kind=ProviderJob.Kind.FETCH_RECORDING, object_id=recording.pk)
        return
    if recording.state not in (State.AWAITED, State.NONE):
        return  # a replay, or already copied
    if not RECORDING_SID_RE.match(recording_sid or "") or not duration:
        _move(recording, State.NONE)
        return
    _move(recording, State.FETCHING, provider_sid=recording_sid, duration_seconds=duration)
    delay = 0 if status == "completed" else FETCH_AFTER_ACTION_SECONDS
    provider_job_add(account_id=call.account_id, kind=ProviderJob.Kind.FETCH_RECORDING, object_id=recording.pk,
                     run_at=timezone.now() + timedelta(seconds=delay))


@atomic
def recording_call_ended(*, call: Call) -> None:
    """The caller hung up: a recording still awaited was never made (a later Record action
    that names one still starts its copy, ``recording_received``)."""
    if _of_call(call).filter(state=State.AWAITED).update(state=State.NONE):
        _push(call.account_id)


def _move(recording: CallerRecording, state: str, **fields) -> None:
    for name, value in {"state": state, **fields}.items():
        setattr(recording, name, value)
    recording.save(update_fields=["state", *fields])
    _push(recording.account_id)


# --- the copy (the dialer's job) --------------------------------------------------------
def recording_fetch(*, recording_id: int, now: datetime | None = None) -> datetime | None:
    """Copy the provider's recording into storage; returns when to try again, or None.

    At-least-once (a dialer may die mid-job): the file is written first under a new name,
    and only the conditional UPDATE from ``fetching`` makes it the recording's; a loser's
    file is removed.
    """
    with scopes_disabled():  # the job has an id; the account comes from the row
        recording = CallerRecording.objects.select_related("account").filter(pk=recording_id).first()
    if recording is None or recording.state != State.FETCHING:
        return None
    account = recording.account
    with scope(account=account):
        now = now or timezone.now()
        attempts = recording.fetch_attempts + 1
        try:
            gateway = gateway_for(account)
            audio = gateway.recording_fetch(recording_sid=recording.provider_sid)
            if not audio.startswith(b"RIFF") or audio[8:12] != b"WAVE" or len(audio) > AUDIO_LIMIT_BYTES:
                raise GatewayError("The provider's recording is not a WAV file of at most 5 MB.", retryable=False)
        except GatewayError as error:
            if error.retryable and attempts <= len(FETCH_DELAYS):
                CallerRecording.objects.filter(pk=recording.pk, state=State.FETCHING).update(fetch_attempts=attempts)
                return now + timedelta(seconds=FETCH_DELAYS[attempts - 1])
            logger.warning("recording %s could not be fetched: %s", recording.pk, error)
            with transaction.atomic():
                if CallerRecording.objects.filter(pk=recording.pk, state=State.FETCHING).update(
                    state=State.FAILED, fetch_attempts=attempts,
                ):
                    _push(account.pk)
            return None
        name = default_storage.save(recording.audio.field.generate_filename(recording, "caller.wav"), ContentFile(audio))
        with transaction.atomic():
            stored = CallerRecording.objects.filter(pk=recording.pk, state=State.FETCHING).update(
                state=State.STORED, audio=name, content_type="audio/wav", stored_at=now, fetch_attempts=attempts,
            )
            if not stored:  # another dialer stored it first, or it went meanwhile
                transaction.on_commit(lambda: default_storage.delete(name))
                return None
            request = CallbackRequest.objects.select_related("ticket").get(pk=recording.request_id)
            if request.ticket is not None:
                tickets.comment_add(account=account, ticket=request.ticket, public=False, author=None,
                                    body=recording_note(account, request, recording.duration_seconds))
            _push(account.pk)
        try:
            gateway.recording_delete(recording_sid=recording.provider_sid)  # ours is the only copy now
        except GatewayError as error:
            logger.warning("recording %s: the provider's copy could not be deleted: %s", recording.pk, error)
    return None


def recording_note(account: Account, request: CallbackRequest, duration: int | None) -> str:
    """The ticket's internal comment pointing at the recording (played from the account's pages)."""
    url = account_base_url(account) + reverse("talk:recording_audio", kwargs={"request_id": request.pk})
    length = f" ({duration} s)" if duration else ""
    return f"The caller recorded their name and the reason for their call{length}: {url}"


def ticket_recording_note(*, account: Account, request: CallbackRequest, ticket: Ticket) -> None:
    """A ticket made after the recording was stored gets the same comment (R12)."""
    recording = CallerRecording.objects.filter(account=account, request=request, state=State.STORED).first()
    if recording is not None:
        tickets.comment_add(account=account, ticket=ticket, public=False, author=None,
                            body=recording_note(account, request, recording.duration_seconds))


# --- retention -------------------------------------------------------------------------
def recordings_purge(*, now: datetime | None = None) -> int:
    """Hourly: recordings of requests over for longer than their account's retention are
    deleted (file and all; the row stays, ``deleted``, so pages can say so); awaited ones
    whose call end was never heard become ``none``. Returns how many files were deleted."""
    now = now or timezone.now()
    deleted = 0
    with scopes_disabled():
        CallerRecording.objects.filter(state=State.AWAITED, created_at__lt=now - AWAITED_AT_MOST).update(state=State.NONE)
        retention = dict(TelephonySettings.objects.values_list("account_id", "recording_retention_days"))
        accounts = set(_expired(now - timedelta(days=1)).values_list("account_id", flat=True).distinct())
        for account_id in sorted(accounts):
            days = retention.get(account_id) or DEFAULT_RECORDING_RETENTION_DAYS
            while True:
                batch = list(_expired(now - timedelta(days=days)).filter(account_id=account_id)[:PURGE_BATCH])
                for recording in batch:
                    deleted += _delete(recording, now)
                if len(batch) < PURGE_BATCH:
                    break
    return deleted


def _expired(cutoff: datetime) -> QuerySet[CallerRecording]:
    """Stored recordings of requests over (called back, cancelled, expired...) since before ``cutoff``."""
    return CallerRecording.objects.filter(state=State.STORED, request__ended_at__lt=cutoff).exclude(
        request__state__in=OPEN_REQUEST_STATES
    ).order_by("pk")


def _delete(recording: CallerRecording, now: datetime) -> int:
    with transaction.atomic():
        if not CallerRecording.objects.filter(pk=recording.pk, state=State.STORED).update(
            state=State.DELETED, audio="", deleted_at=now,
        ):
            return 0
        name = recording.audio.name
        if name:
            transaction.on_commit(lambda: default_storage.delete(name))
    return 1


def recording_file_forget(*, recording: CallerRecording) -> None:
    """A recording row deleted with its request: its file goes too, once the delete commits."""
    name = recording.audio.name
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
