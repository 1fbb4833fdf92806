"""What every app's API views share (not in supportcenter.auth: DRF imports that module
while its views module is still loading)."""
from __future__ import annotations

from rest_framework import permissions
from rest_framework.views import APIView

from supportcenter.auth import IsAccountAdmin, IsAccountMember


class ReadMembersWriteAdmins(APIView):
    """An API view that members (agents too) may read and only admins may write (SPEC T4)."""

    def get_permissions(self):
        if self.request.method in permissions.SAFE_METHODS:
            return [IsAccountMember()]
        return [IsAccountMember(), IsAccountAdmin()]
