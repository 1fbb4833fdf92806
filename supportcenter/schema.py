"""OpenAPI descriptions of our authenticators (drf-spectacular cannot guess them)."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ZendeskTokenScheme(OpenApiAuthenticationExtension):
    target_class = "supportcenter.auth.ZendeskTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with username `EMAIL/token` and the API token as password.",
        }


class MemberSessionScheme(OpenApiAuthenticationExtension):
    target_class = "supportcenter.auth.MemberSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


# --- Error responses (issue 14: every status the API answers is in the schema) ---------
ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The reference API's error envelope.",
    "properties": {
        "error": {"type": "string", "description": "What kind of error, e.g. RecordInvalid."},
        "description": {"type": "string"},
        "details": {
            "type": "object",
            "description": "Field name → what is wrong with it.",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"description": {"type": "string"}, "error": {"type": "string"}},
                },
            },
        },
        "error_id": {"type": "string", "description": "A server error's reference, as written in the log."},
    },
    "required": ["error"],
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                               "schema": {"type": "integer", "minimum": 0}}}

# status → (when the operation can answer it, description, headers)
_ERRORS = [
    ("400", "query_or_body", "Malformed request: a parameter or body field is missing, of the wrong type or out of range "
                             "(details name the fields).", None),
    ("401", "always", "No valid credentials for this account.", None),
    ("403", "always", "Signed in, but not allowed (an agent where admins only may act; a system greeting).", None),
    ("404", "always", "No such record in this account (another account's id answers the same).", None),
    ("409", "write", "The record's state refuses it (e.g. a greeting still used by a line; an offer already "
                     "taken).", None),
    ("413", "body", "The request body is over the upload limit.", None),
    ("415", "body", "The body is not JSON (send Content-Type: application/json).", None),
    ("422", "body", "Well-formed, but refused (details name the field): a value out of its bounds, or a rule no "
                    "schema can state: a name already taken, a number that is not a phone number, an id that "
                    "is not a record of this account.", None),
    ("429", "always", "Too many requests (failed sign-ins or callback requests): wait Retry-After seconds.", RETRY_AFTER),
    ("500", "always", "Failure on the server; error_id is the reference in the server's log.", None),
    ("503", "always", "The database or the message broker is unavailable: try again after Retry-After seconds.",
     RETRY_AFTER),
]


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: the error answers every operation can give,
    in the error envelope, next to the success answers the views declare."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            has_body = "requestBody" in operation
            applies = {
                "always": True,
                "body": has_body,
                "query_or_body": has_body or any(p.get("in") == "query" for p in operation.get("parameters", [])),
                "write": method in ("post", "put", "patch", "delete"),
            }
            for code, when, description, headers in _ERRORS:
                wanted = applies[when]
                if not wanted or code in operation["responses"]:
                    continue
                response = {"description": description, "content": content}
                if headers:
                    response["headers"] = headers
                operation["responses"][code] = response
    return result
