"""Playing a caller's recorded name and reason (SPEC C14). Stubs until implemented."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.views import APIView


def recording_audio(request: HttpRequest, request_id: int) -> HttpResponse:
    raise Http404


class RecordingAudioApiView(APIView):
    def get(self, request, request_id: int):
        raise Http404
