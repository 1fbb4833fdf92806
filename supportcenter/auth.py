"""Who is calling, and may they (SPEC T4).

API: HTTP Basic ``EMAIL/token:TOKEN`` (the Zendesk convention) or the browser
session; either way the user must be an active member of the request's account.
Pages: session login plus a membership, checked by the decorators below.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from supportcenter import throttle, tokens
from supportcenter.failures import wants_json
from supportcenter.models import ApiToken
from supportcenter.tenancy import membership_of, not_found

AUTH_FAILED_MESSAGE = "Couldn't authenticate you"
TOO_MANY_FAILURES_MESSAGE = "Too many failed authentications from this address."
ADMIN_ONLY_MESSAGE = "Only account admins can do this."


class ZendeskTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Basic base64(email/token:TOKEN)`` for the request's account.

    Failures are throttled per client address (issue 14; supportcenter.throttle): past the
    limit, a wrong credential answers 429 with ``Retry-After``. A correct token is never
    refused: tokens carry 240 random bits (supportcenter.tokens), so a guess is hopeless at
    any rate and refusing the right one would protect nothing, while it would let one
    client with a revoked token shut out every working integration behind the same
    address (an office, a CI farm) and cost a query on every request. For the same reason
    failures are not counted per e-mail: anyone knowing an integrator's e-mail could stop
    its integration.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("basic "):
            return None
        credential = tokens.parse_basic_token(header)
        account = getattr(request._request, "account", None)
        if credential is None or account is None:
            raise _failed(request)
        email, raw_token = credential
        token = (
            ApiToken.objects.filter(
                account=account,
                key_hash=tokens.hash_token(raw_token),
                revoked_at__isnull=True,
                user__email__iexact=email,
                user__is_active=True,
            )
            .select_related("user")
            .first()
        )
        if token is None:
            raise _failed(request)
        request._request.user = token.user
        # The Django request: DRF's request.user is what is being authenticated here.
        if membership_of(request._request) is None:
            raise _failed(request)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request) -> str:
        # A browser shows a password dialog for a Basic challenge (and Chromium's fetch never
        # settles meanwhile): a page's request gets a challenge it ignores, and the page says
        # "Signed out" itself. API clients (no session cookie, no Fetch metadata) get Basic.
        return SESSION_CHALLENGE if from_browser(request._request) else 'Basic realm="api"'


def _failed(request) -> exceptions.APIException:
    """A failed token, counted for the client's address: 401, or 429 past the limit."""
    lock = throttle.api_auth_failed(request._request)
    if lock is not None:
        return exceptions.Throttled(wait=lock.retry_after(), detail=TOO_MANY_FAILURES_MESSAGE)
    return exceptions.AuthenticationFailed(AUTH_FAILED_MESSAGE)


class MemberSessionAuthentication(authentication.SessionAuthentication):
    """The browser session, only for a member of the host's account (CSRF enforced)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        if membership_of(request._request) is None:  # not request.user: still being authenticated
            return None
        return result


class IsAccountMember(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return membership_of(request) is not None


class IsAccountAdmin(permissions.BasePermission):
    message = ADMIN_ONLY_MESSAGE

    def has_permission(self, request, view) -> bool:
        membership = membership_of(request)
        return membership is not None and membership.is_admin


ViewFunc = Callable[..., HttpResponse]


SESSION_CHALLENGE = 'Session realm="support-center"'
SIGNED_OUT_BODY = {"error": "SignedOut", "description": "Signed out: sign in again."}


def from_browser(request: HttpRequest) -> bool:
    """A page's own request: it carries the session cookie or the browser's Fetch metadata,
    and no Authorization header."""
    if request.META.get("HTTP_AUTHORIZATION"):
        return False
    return bool(request.headers.get("Sec-Fetch-Mode")) or settings.SESSION_COOKIE_NAME in request.COOKIES


def signed_out_response() -> JsonResponse:
    """What a page's script gets when its session has ended (never a redirect to HTML)."""
    response = JsonResponse(SIGNED_OUT_BODY, status=401)
    response["WWW-Authenticate"] = SESSION_CHALLENGE
    return response


def member_required(view: ViewFunc) -> ViewFunc:
    """A page of an account: needs the account, a login and a membership in it. A script's
    request (JSON) from a page whose session ended gets 401 JSON, not the sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "account", None) is None:
            return not_found(request)
        if not request.user.is_authenticated or membership_of(request) is None:
            if wants_json(request):
                return signed_out_response()
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: ViewFunc) -> ViewFunc:
    """An admin-center page: agents are refused with 403 (SPEC T4)."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not membership_of(request).is_admin:
            raise PermissionDenied(ADMIN_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper
