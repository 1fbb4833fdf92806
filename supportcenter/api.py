from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter import selectors
from supportcenter.tenancy import membership_of


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField()
    active = serializers.BooleanField()
    time_zone = serializers.CharField()
    locale = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class UserEnvelope(serializers.Serializer):
    user = UserOutput()


def user_payload(request: Request, membership) -> dict:
    user = membership.user
    account = request.account
    return {
        "id": user.pk,
        "url": request.build_absolute_uri(f"/api/v2/users/{user.pk}.json"),
        "name": user.name,
        "email": user.email,
        "role": membership.role,
        "active": membership.is_active and user.is_active,
        "time_zone": account.time_zone,
        "locale": account.default_language,
        "created_at": membership.created_at,
        "updated_at": membership.created_at,
    }


class MeView(APIView):
    @extend_schema(responses=UserEnvelope, summary="The authenticated user")
    def get(self, request: Request) -> Response:
        membership = membership_of(request)
        return Response(UserEnvelope({"user": user_payload(request, membership)}).data)


class UserDetailView(APIView):
    @extend_schema(responses=UserEnvelope, summary="A user of the account")
    def get(self, request: Request, user_id: int) -> Response:
        membership = selectors.access_member(account=request.account, user_id=user_id)
        if membership is None:
            raise Http404
        return Response(UserEnvelope({"user": user_payload(request, membership)}).data)
