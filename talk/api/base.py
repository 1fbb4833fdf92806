"""What the Talk API's views share: naming a refused field as the client sent it. (Reading
a body: supportcenter.bodies.read_body; who may read and write:
supportcenter.api_base.ReadMembersWriteAdmins.)"""
from __future__ import annotations

from supportcenter.errors import ServiceError


def rename_error(error: ServiceError, names: dict[str, str]) -> ServiceError:
    """The service's field name → the field name the API client sent."""
    return ServiceError(error.message, field=names.get(error.field, error.field), code=error.code)

