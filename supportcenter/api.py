from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter import selectors, services
from supportcenter.api_base import ReadMembersWriteAdmins
from supportcenter.bodies import BodySerializer, read_body
from supportcenter.models import GROUP_DESCRIPTION_LENGTH, GROUP_NAME_LENGTH, Group, GroupMembership, Membership
from supportcenter.pagination import PageQuery, page_serializer, paginate
from supportcenter.queries import QuerySerializer, read_query
from supportcenter.tenancy import membership_of


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True, help_text="Null for a requester known by phone only.")
    phone = serializers.CharField(allow_null=True, help_text="A requester's number (E.164); null for members.")
    role = serializers.CharField(help_text="admin, agent, or end-user for a requester.")
    supervisor = serializers.BooleanField(help_text="Sees and steers the callback queue: admins and supervisors.")
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
        "phone": None,
        "role": membership.role,
        "supervisor": membership.is_supervisor,
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


# --- Users and groups (issue 15, in the reference's shapes) ---------------------------
MAX_ID = 2**63 - 1
MAX_SHOW_MANY = 100
SEARCH_QUERY_LENGTH = 200
_ID = {"min_value": 1, "max_value": MAX_ID}


def descending(query: dict) -> bool:
    return query.get("sort_order") == "desc"


UserListEnvelope = page_serializer("UserListEnvelope", "users", UserOutput)


class UserListQuery(PageQuery):
    role = serializers.ChoiceField(choices=Membership.Role.values, required=False, help_text="Only users of this role.")


class UserShowManyQuery(QuerySerializer):
    ids = serializers.RegexField(
        rf"^[0-9]{{1,19}}(,[0-9]{{1,19}}){{0,{MAX_SHOW_MANY - 1}}}$",
        help_text=f"Comma-separated user ids, at most {MAX_SHOW_MANY}. Ids of no user of the account are left out.",
    )


class UserSearchQuery(PageQuery):
    query = serializers.CharField(
        min_length=1, max_length=SEARCH_QUERY_LENGTH, trim_whitespace=False,
        help_text="Text the user's name or e-mail contains (case-insensitive).",
    )


class UserSearchView(APIView):
    @extend_schema(parameters=[UserSearchQuery], responses=UserListEnvelope, summary="Users by name or e-mail")
    def get(self, request: Request) -> Response:
        query = read_query(UserSearchQuery, request)
        members = selectors.user_search(account=request.account, query=query["query"])
        body = paginate(request, members, "users", lambda m: user_payload(request, m))
        return Response(UserListEnvelope(body).data)


class GroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    default = serializers.BooleanField(help_text="The account's default group (at most one).")
    deleted = serializers.BooleanField(help_text="Always false: a deleted group is gone.")
    is_public = serializers.BooleanField(help_text="Always true: every group is visible to every member.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupEnvelope(serializers.Serializer):
    group = GroupOutput()


GroupListEnvelope = page_serializer("GroupListEnvelope", "groups", GroupOutput)

_GROUP_NAME = {
    "max_length": GROUP_NAME_LENGTH,
    "error_messages": {"blank": services.GROUP_NAME_REQUIRED_MESSAGE, "max_length": services.GROUP_NAME_TOO_LONG_MESSAGE},
    "help_text": "Unique in the account, whatever the case.",
}


class GroupInput(BodySerializer):
    """A change to a group: any of the fields."""

    name = serializers.CharField(required=False, **_GROUP_NAME)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=GROUP_DESCRIPTION_LENGTH,
        error_messages={"max_length": services.GROUP_DESCRIPTION_TOO_LONG_MESSAGE},
    )
    default = serializers.BooleanField(required=False, help_text="Make it the account's default group.")


class GroupCreateInput(GroupInput):
    name = serializers.CharField(**_GROUP_NAME)


class GroupInputEnvelope(BodySerializer):
    group = GroupInput()


class GroupCreateEnvelope(BodySerializer):
    group = GroupCreateInput()


def group_payload(request: Request, group: Group) -> dict[str, Any]:
    return {
        "id": group.pk,
        "url": request.build_absolute_uri(f"/api/v2/groups/{group.pk}.json"),
        "name": group.name,
        "description": group.description,
        "default": group.is_default,
        "deleted": False,
        "is_public": True,
        "created_at": group.created_at,
        "updated_at": group.updated_at,
    }


class GroupListView(ReadMembersWriteAdmins):
    @extend_schema(parameters=[PageQuery], responses=GroupListEnvelope, summary="The account's groups")
    def get(self, request: Request) -> Response:
        query = read_query(PageQuery, request)
        groups = selectors.group_list(account=request.account, descending=descending(query))
        return Response(GroupListEnvelope(paginate(request, groups, "groups", lambda g: group_payload(request, g))).data)

    @extend_schema(request=GroupCreateEnvelope, responses={201: GroupEnvelope}, summary="Create a group (admins)")
    def post(self, request: Request) -> Response:
        data = read_body(GroupCreateEnvelope, request, "group")
        group = services.group_create(account=request.account, actor=request.user, **data)
        return Response(GroupEnvelope({"group": group_payload(request, group)}).data, status=status.HTTP_201_CREATED)


class GroupDetailView(ReadMembersWriteAdmins):
    def _group(self, request: Request, group_id: int) -> Group:
        group = selectors.access_group(account=request.account, group_id=group_id)
        if group is None:
            raise Http404
        return group

    @extend_schema(responses=GroupEnvelope, summary="A group")
    def get(self, request: Request, group_id: int) -> Response:
        return Response(GroupEnvelope({"group": group_payload(request, self._group(request, group_id))}).data)

    @extend_schema(request=GroupInputEnvelope, responses=GroupEnvelope, summary="Change a group (admins)")
    def put(self, request: Request, group_id: int) -> Response:
        group = self._group(request, group_id)
        changes = read_body(GroupInputEnvelope, request, "group")
        group = services.group_update(account=request.account, group=group, actor=request.user, **changes)
        return Response(GroupEnvelope({"group": group_payload(request, group)}).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete a group and its memberships (admins)")
    def delete(self, request: Request, group_id: int) -> Response:
        services.group_delete(account=request.account, group=self._group(request, group_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMembershipOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    user_id = serializers.IntegerField()
    group_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupMembershipEnvelope(serializers.Serializer):
    group_membership = GroupMembershipOutput()


GroupMembershipListEnvelope = page_serializer(
    "GroupMembershipListEnvelope", "group_memberships", GroupMembershipOutput
)


class GroupMembershipQuery(PageQuery):
    user_id = serializers.IntegerField(required=False, help_text="Only this user's memberships.", **_ID)
    group_id = serializers.IntegerField(required=False, help_text="Only this group's memberships.", **_ID)


class GroupMembershipInput(BodySerializer):
    user_id = serializers.IntegerField(help_text="An agent or admin of the account.", **_ID)
    group_id = serializers.IntegerField(help_text="A group of the account.", **_ID)


class GroupMembershipCreateEnvelope(BodySerializer):
    group_membership = GroupMembershipInput()


def group_membership_payload(request: Request, membership: GroupMembership) -> dict[str, Any]:
    return {
        "id": membership.pk,
        "url": request.build_absolute_uri(f"/api/v2/group_memberships/{membership.pk}.json"),
        "user_id": membership.user_id,
        "group_id": membership.group_id,
        "created_at": membership.created_at,
        "updated_at": membership.updated_at,
    }


class GroupMembershipListView(ReadMembersWriteAdmins):
    @extend_schema(
        parameters=[GroupMembershipQuery], responses=GroupMembershipListEnvelope, summary="Who is in which group"
    )
    def get(self, request: Request) -> Response:
        query = read_query(GroupMembershipQuery, request)
        return _membership_page(request, query, user_id=query.get("user_id"), group_id=query.get("group_id"))

    @extend_schema(
        request=GroupMembershipCreateEnvelope, responses={201: GroupMembershipEnvelope},
        summary="Put a user in a group (admins)",
    )
    def post(self, request: Request) -> Response:
        data = read_body(GroupMembershipCreateEnvelope, request, "group_membership")
        membership = services.group_membership_create(
            account=request.account, actor=request.user, group_id=data["group_id"], user_id=data["user_id"]
        )
        return Response(
            GroupMembershipEnvelope({"group_membership": group_membership_payload(request, membership)}).data,
            status=status.HTTP_201_CREATED,
        )


def _membership_page(request: Request, query: dict, *, user_id: int | None = None,
                     group_id: int | None = None) -> Response:
    memberships = selectors.group_membership_list(
        account=request.account, user_id=user_id, group_id=group_id, descending=descending(query),
    )
    body = paginate(request, memberships, "group_memberships", lambda m: group_membership_payload(request, m))
    return Response(GroupMembershipListEnvelope(body).data)


class UserGroupMembershipListView(ReadMembersWriteAdmins):
    """``users/{id}/group_memberships.json``: the reference's nested list of one user's groups."""

    @extend_schema(parameters=[PageQuery], responses=GroupMembershipListEnvelope, summary="One user's group memberships")
    def get(self, request: Request, user_id: int) -> Response:
        # Another account's user, or no user: the same 404 (T3).
        if not 0 < user_id <= selectors.MAX_ID or selectors.access_member(account=request.account, user_id=user_id) is None:
            raise Http404
        return _membership_page(request, read_query(PageQuery, request), user_id=user_id)


class GroupMembersListView(ReadMembersWriteAdmins):
    """``groups/{id}/memberships.json``: the reference's nested list of one group's members."""

    @extend_schema(parameters=[PageQuery], responses=GroupMembershipListEnvelope, summary="One group's memberships")
    def get(self, request: Request, group_id: int) -> Response:
        if selectors.access_group(account=request.account, group_id=group_id) is None:
            raise Http404
        return _membership_page(request, read_query(PageQuery, request), group_id=group_id)


class GroupMembershipDetailView(ReadMembersWriteAdmins):
    def _membership(self, request: Request, membership_id: int) -> GroupMembership:
        membership = selectors.access_group_membership(account=request.account, membership_id=membership_id)
        if membership is None:
            raise Http404
        return membership

    @extend_schema(responses=GroupMembershipEnvelope, summary="A group membership")
    def get(self, request: Request, membership_id: int) -> Response:
        membership = self._membership(request, membership_id)
        return Response(GroupMembershipEnvelope({"group_membership": group_membership_payload(request, membership)}).data)

    @extend_schema(request=None, responses={204: None}, summary="Take a user out of a group (admins)")
    def delete(self, request: Request, membership_id: int) -> Response:
        services.group_membership_delete(
            account=request.account, membership=self._membership(request, membership_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
