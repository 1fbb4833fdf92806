"""Users in the reference's sense: the account's members and its requesters (issue 15).

The reference's users include end users: a ticket's ``requester_id`` names one, and a
client (zenpy: ``ticket.requester.name``) reads it from ``users/{id}.json``. Members are
the core's (supportcenter.api shapes them); requesters live here, with the tickets, so
these routes are the tickets app's. A requester who is a member of the account shows
as that member, never twice.
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter import selectors as core_selectors
from supportcenter.api import (
    UserListEnvelope, UserEnvelope, UserListQuery, UserShowManyQuery, descending, user_payload,
)
from supportcenter.models import Membership
from supportcenter.pagination import paginate
from supportcenter.queries import read_query
from tickets import selectors
from tickets.models import EndUser

END_USER_ROLE = "end-user"


def end_user_payload(request: Request, end_user: EndUser) -> dict:
    account = request.account
    return {
        "id": end_user.pk,
        "url": request.build_absolute_uri(f"/api/v2/users/{end_user.pk}.json"),
        "name": str(end_user),
        "email": end_user.email or None,
        "phone": end_user.phone.as_e164 if end_user.phone else None,
        "role": END_USER_ROLE,
        "supervisor": False,
        "active": True,
        "time_zone": account.time_zone,
        "locale": account.default_language,
        "created_at": end_user.created_at,
        "updated_at": end_user.updated_at,
    }


class RequesterUserListQuery(UserListQuery):
    role = serializers.ChoiceField(
        choices=[*Membership.Role.values, END_USER_ROLE], required=False,
        help_text="Only users of this role; end-user lists the requesters. Without it: the members.",
    )


class UserDetailView(APIView):
    @extend_schema(responses=UserEnvelope, summary="A user of the account: a member or a requester")
    def get(self, request: Request, user_id: int) -> Response:
        account = request.account
        membership = core_selectors.access_member(account=account, user_id=user_id)
        if membership is not None:
            return Response(UserEnvelope({"user": user_payload(request, membership)}).data)
        end_user = selectors.access_requester_user(account=account, end_user_id=user_id)
        if end_user is None:
            raise Http404
        return Response(UserEnvelope({"user": end_user_payload(request, end_user)}).data)


class UserListView(APIView):
    @extend_schema(parameters=[RequesterUserListQuery], responses=UserListEnvelope, summary="The account's users")
    def get(self, request: Request) -> Response:
        query = read_query(RequesterUserListQuery, request)
        account = request.account
        if query.get("role") == END_USER_ROLE:
            rows = selectors.requester_user_list(account=account, descending=descending(query))
            body = paginate(request, rows, "users", lambda e: end_user_payload(request, e))
        else:
            rows = core_selectors.user_list(account=account, role=query.get("role"), descending=descending(query))
            body = paginate(request, rows, "users", lambda m: user_payload(request, m))
        return Response(UserListEnvelope(body).data)


class UserShowManyView(APIView):
    @extend_schema(parameters=[UserShowManyQuery], responses=UserListEnvelope, summary="Users by id")
    def get(self, request: Request) -> Response:
        ids = [int(part) for part in read_query(UserShowManyQuery, request)["ids"].split(",")]
        account = request.account
        users = [user_payload(request, m) for m in core_selectors.user_many(account=account, user_ids=ids)]
        users += [end_user_payload(request, e) for e in selectors.requester_user_many(account=account, ids=ids)]
        body = {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        return Response(UserListEnvelope(body).data)
