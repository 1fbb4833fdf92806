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
