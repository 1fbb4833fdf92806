"""search.json (issue 15, item 3): being written; answers 400 until then."""
from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class SearchView(APIView):
    def get(self, request: Request) -> Response:
        raise ValidationError({"query": ["Search is not available yet."]})
