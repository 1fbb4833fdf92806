"""Playing a caller's recorded name and reason (SPEC C14, S1).

Two doors to the same file, both for members of the account only (agents and admins):

- ``/talk/recordings/<request_id>.wav``, a page route (session): the console's offer, the
  queue page and the ticket's internal note play it;
- ``/api/v2/channels/voice/callback_requests/<request_id>/recording.wav``, the API's (token
  or session), named by the callback request's ``recording.url``.

Another account's request, a missing one and one without a playable recording are the same
404, in the house's shapes (the page's, the API's JSON). The file is sent as it is stored
(``audio/wav``), ``inline``, never cached by a shared cache, under a name made from the
request (never the storage's path). One ``Range: bytes=…`` is honoured (206), as media
elements ask for it to seek; several ranges, or a malformed header, get the whole file (200),
as RFC 9110 allows; a range past the end is 416.
"""
from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from supportcenter.auth import IsAccountMember, member_required
from supportcenter.tenancy import not_found
from talk.models import CallerRecording
from talk.selectors.recordings import recording_playable

AUDIO_CONTENT_TYPE = "audio/wav"  # the product stores WAV only (talk.services.recordings checks it)
RANGE_RE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")  # longer numbers: no range of ours


# --- The answer: the file, whole or one range ---------------------------------------------
class RangeNotSatisfiable(Exception):
    """A well-formed range that starts past the end of the file (416)."""


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of the single range ``header`` asks for; None: no usable range
    (send the whole file). RangeNotSatisfiable when it starts past the end."""
    match = RANGE_RE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # absent, malformed, another unit, or several ranges
    first, last = match.groups()
    if not first and not last:
        return None
    if first and last and int(last) < int(first):
        return None  # invalid: ignored, as RFC 9110 says
    if size == 0 or (first and int(first) >= size) or (not first and int(last) == 0):
        raise RangeNotSatisfiable
    if not first:  # "bytes=-N": the last N bytes
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last) if last else size - 1, size - 1)


def _headers(response: HttpResponse, request_id: int) -> HttpResponse:
    response["Content-Disposition"] = f'inline; filename="recording-{request_id}.wav"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Accept-Ranges"] = "bytes"
    return response


def audio_response(request: HttpRequest, recording: CallerRecording) -> HttpResponse:
    """The recording's file as the module says; a file gone from storage is a 404 (the
    retention job may have deleted it a moment ago)."""
    storage, name = recording.audio.storage, recording.audio.name
    try:
        size = storage.size(name)
        handle = storage.open(name, "rb")
    except OSError:  # FileNotFoundError included
        raise Http404 from None
    try:
        wanted = _byte_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _headers(response, recording.request_id)
    if wanted is None:
        # FileResponse streams it and sets Content-Length; the filename is ours, not the storage's.
        whole = FileResponse(handle, content_type=AUDIO_CONTENT_TYPE, filename=f"recording-{recording.request_id}.wav")
        return _headers(whole, recording.request_id)
    first, last = wanted
    with handle:
        handle.seek(first)
        part = handle.read(last - first + 1)
    response = HttpResponse(part, status=206, content_type=AUDIO_CONTENT_TYPE)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(len(part))
    return _headers(response, recording.request_id)


# --- The page route -----------------------------------------------------------------------
@require_safe
@member_required
def recording_audio(request: HttpRequest, request_id: int) -> HttpResponse:
    """``/talk/recordings/<request_id>.wav``: for the account's pages (session)."""
    recording = recording_playable(account=request.account, request_id=request_id)
    if recording is None:
        return not_found(request)
    try:
        return audio_response(request, recording)
    except Http404:
        return not_found(request)


# --- The API route ------------------------------------------------------------------------
class JsonWhateverAccepted(BaseContentNegotiation):
    """The audio has one format, and errors are JSON: whatever the client accepts (a media
    element asks for ``audio/*`` or ``*/*``), nothing here is refused as not acceptable (406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


AUDIO_SCHEMA = OpenApiTypes.BINARY


class RecordingAudioApiView(APIView):
    """``GET``: the callback request's recording, for members of the account (agents too)."""

    permission_classes = [IsAccountMember]
    content_negotiation_class = JsonWhateverAccepted

    @extend_schema(
        summary="Play the caller's recorded name and reason (a WAV file; one byte range may be asked for)",
        parameters=[OpenApiParameter(
            "Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
            description="One byte range, e.g. `bytes=0-` (what media players send to seek); anything else "
                        "gets the whole file.",
        )],
        responses={
            (200, AUDIO_CONTENT_TYPE): OpenApiResponse(AUDIO_SCHEMA, description="The whole recording."),
            (206, AUDIO_CONTENT_TYPE): OpenApiResponse(
                AUDIO_SCHEMA, description="The byte range asked for (Content-Range names it)."),
            416: OpenApiResponse(description="The range starts past the end (Content-Range: bytes */size)."),
        },
    )
    def get(self, request: Request, request_id: int) -> HttpResponse:
        recording = recording_playable(account=request.account, request_id=request_id)
        if recording is None:
            raise Http404
        return audio_response(request, recording)
