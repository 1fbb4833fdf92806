"""Reads of the callers' recorded names and reasons (SPEC C14). Every one takes the account,
or a row already read through it.

Nobody reaches a recording's file but through the two playback views (talk.recording_views):
the page route, for the console, the queue page and the ticket's note (session), and the
API route (token or session). The payloads name those routes, never the storage's path.
"""
from __future__ import annotations

from django.urls import reverse

from supportcenter.models import Account
from talk.models import CallbackRequest, CallerRecording

MAX_ID = 2**63 - 1
PAGE_ROUTE = "talk:recording_audio"
API_ROUTE = "talk:api_callback_request_recording"


def recording_playable(*, account: Account, request_id: int) -> CallerRecording | None:
    """The stored recording of the callback request ``request_id`` of ``account``, or None.

    Security contract: another account's request, a missing one, and one whose recording is
    not playable (awaited, arriving, none, failed, deleted, or no row at all) all answer None,
    so a caller of this cannot tell them apart (SPEC T3). Whether the user may play it
    (a member of ``account``) is the view's check.
    """
    if not 0 < request_id <= MAX_ID:
        return None
    return (
        CallerRecording.objects.filter(account=account, request__account=account, request_id=request_id,
                                       state=CallerRecording.State.STORED)
        .exclude(audio="")
        .first()
    )


def recording_url(request_id: int, *, api: bool = False) -> str:
    """The path that plays the recording of request ``request_id``: the page route, or the API's."""
    return reverse(API_ROUTE if api else PAGE_ROUTE, kwargs={"request_id": request_id})


def recording_of(request: CallbackRequest | None) -> CallerRecording | None:
    """The request's recording row, or None. Free when the request was read with
    ``select_related("recording")`` (or ``…__callback_request__recording``); one query otherwise."""
    if request is None:
        return None
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    return getattr(request, "recording", None)


def recording_summary(recording: CallerRecording | None, *, api: bool = False) -> dict | None:
    """``{"state", "duration_seconds", "url"}`` for payloads; ``url`` only when it can be
    played (else None); None when the request has no recording row at all."""
    if recording is None:
        return None
    return {
        "state": recording.state,
        "duration_seconds": recording.duration_seconds,
        "url": recording_url(recording.request_id, api=api) if recording.playable else None,
    }


def recording_to_play(recording: CallerRecording | None) -> dict | None:
    """``{"url", "duration_seconds"}`` of a playable recording (the offer's), else None."""
    if recording is None or not recording.playable:
        return None
    return {"url": recording_url(recording.request_id), "duration_seconds": recording.duration_seconds}
