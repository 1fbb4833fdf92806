"""What the Talk API's views share: naming a refused field as the client sent it. (Reading
a body: supportcenter.bodies.read_body; who may read and write:
supportcenter.api_base.ReadMembersWriteAdmins; the callback queue: IsAccountSupervisor.)"""
from __future__ import annotations

from rest_framework import permissions

from supportcenter.errors import ServiceError
from supportcenter.tenancy import membership_of

SUPERVISORS_ONLY_MESSAGE = "Only account admins and supervisors can do this."


class IsAccountSupervisor(permissions.BasePermission):
    """Admins, and agents an admin made supervisors (SPEC S1, S2): they see and steer the
    callback queue. Name it after IsAccountMember (a non-member is answered by that one)."""

    message = SUPERVISORS_ONLY_MESSAGE

    def has_permission(self, request, view) -> bool:
        membership = membership_of(request)
        return membership is not None and membership.is_supervisor


def rename_error(error: ServiceError, names: dict[str, str]) -> ServiceError:
    """The service's field name → the field name the API client sent."""
    return ServiceError(error.message, field=names.get(error.field, error.field), code=error.code)

