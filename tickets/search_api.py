"""search.json (issue 15, item 3), in the reference's shapes (SPEC A1).

``GET /api/v2/search.json?query=...`` answers ``{"results": [...], "facets": null,
"next_page", "previous_page", "count"}``, each result a ticket or a user as their own
endpoints show it, plus ``"result_type"``. The query language is tickets.search's; the
``query`` parameter's schema carries its pattern, so the schema and the parser agree.
Offset pages (``page``, ``per_page`` up to 100), or cursor pages with ``page[size]``,
as every list. ``filter[type]`` (what zenpy sends with ``type=``) restricts like ``type:``.
"""
from __future__ import annotations

from functools import partial

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.api import UserOutput, user_payload
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.queries import read_query
from tickets import search, search_language
from tickets.payloads import TicketError, TicketOutput, ticket_payload

FILTER_TYPE = "filter[type]"
QUERY_HELP = (
    "Terms separated by spaces, all of which must hold: words and \"quoted phrases\" (in a ticket's "
    "subject and comments, a user's name and e-mail; a word also matches the start of a longer one); "
    "type:ticket|user; status:, status<, status> (new<open<pending<hold<solved<closed); priority: "
    "(and < >; none); ticket_type:; assignee:me|none|<email>|<name>|<id>; requester:me|none|<email>|"
    "<phone>|<name>|<id>; group:none|<name>|<id>; tags:<tag>|none; via:voice|api|web; subject:; "
    "created and updated with : < > <= >= and YYYY-MM-DD (the account's days), an ISO 8601 time, or a "
    "time ago (4hours, 2days); users: role:, email:, name:. A leading '-' leaves a term out; a field "
    "named again with ':' is ORed (status:open status:pending). Without type:, tickets come first, "
    "then users, when every term applies to users too."
)


@extend_schema_field({"type": "string", "pattern": search_language.QUERY_PATTERN, "maxLength": search_language.MAX_QUERY_LENGTH})
class SearchQueryField(serializers.CharField):
    """The query, parsed: a refusal names the term at fault."""

    def run_validation(self, data=serializers.empty) -> search_language.Query:
        text = super().run_validation(data)  # a string, its length checked
        try:
            return search_language.parse(text)
        except search_language.SearchError as error:
            raise serializers.ValidationError(str(error), code="invalid") from None


class SearchParameters(PageQuery):
    query = SearchQueryField(max_length=search_language.MAX_QUERY_LENGTH, trim_whitespace=False, help_text=QUERY_HELP)
    sort_by = serializers.ChoiceField(
        choices=search_language.SORT_FIELDS, required=False,
        help_text="Without it, by creation. Users sort by name, or by date when sorted by created_at/updated_at.",
    )
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], default="desc", help_text="Newest first (desc, default).")

    def get_fields(self):
        fields = super().get_fields()
        fields[FILTER_TYPE] = serializers.ChoiceField(
            choices=search_language.RESULT_TYPES, required=False, help_text="Only results of this type (as type: does).",
        )
        return fields


class TicketResult(TicketOutput):
    result_type = serializers.ChoiceField(choices=["ticket"])


class UserResult(UserOutput):
    result_type = serializers.ChoiceField(choices=["user"])


_SearchPage = page_serializer("SearchPage", "results", partial(
    PolymorphicProxySerializer, component_name="SearchResult", serializers={"ticket": TicketResult, "user": UserResult},
    resource_type_field_name="result_type",
))


class SearchEnvelope(_SearchPage):
    facets = serializers.JSONField(allow_null=True, help_text="Always null.")


def _result(request: Request, row: tuple) -> dict:
    kind, obj = row
    if kind == "ticket":
        return TicketResult({**ticket_payload(request, obj), "result_type": kind}).data
    return UserResult({**user_payload(request, obj), "result_type": kind}).data


class SearchView(APIView):
    @extend_schema(
        operation_id="search", parameters=[SearchParameters], responses={200: SearchEnvelope, 400: TicketError},
        summary="Search tickets and users",
    )
    def get(self, request: Request) -> Response:
        params = read_query(SearchParameters, request)
        query = params["query"]
        if FILTER_TYPE in params:
            query = query.restricted_to(params[FILTER_TYPE])
        results = search.search(
            account=request.account, user=request.user, query=query,
            sort_by=params.get("sort_by"), descending=params["sort_order"] == "desc",
        )
        page = paginate(request, results, "results", lambda row: _result(request, row))
        return Response({"results": page.pop("results"), "facets": None, **page})
