"""Finding the tenant of a request, once, at the edge (SPEC T1-T3).

The account comes from the host's subdomain (``acme.<base domain>``). An API
request on the bare base domain finds it from its API credential instead. For
the rest of the request django-scopes holds the account, so a query on a tenant
table that is not scoped to it raises instead of leaking another account's rows.
Pages also run in the account's time zone (docs/conventions.md, "Times").
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_scopes import scope, scopes_disabled

from supportcenter import tokens
from supportcenter.models import Account, ApiToken, Membership
from supportcenter.selectors import active_memberships

NO_ACCOUNT_MESSAGE = "There is no support center at this address."
API_PREFIX = "/api/"


def account_zone(account: Account) -> ZoneInfo:
    """The zone the account's people read times in (``Account.time_zone``; UTC if unknown here)."""
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        # A name in the choices that this host's tz database lacks: UTC, and labelled so.
        return ZoneInfo("UTC")


def account_wall_time(text: str, account: Account) -> datetime:
    """A time a person typed (a ``datetime-local`` field: ``2026-12-01T10:00``) read as the
    account's wall time, as an aware datetime; an explicit offset is honoured. ValueError
    when it is not a date and time."""
    moment = parse_datetime(text.strip())  # ValueError for a well-formed but impossible date
    if moment is None:
        raise ValueError(text)
    return timezone.make_aware(moment, account_zone(account)) if timezone.is_naive(moment) else moment


def account_base_url(account: Account) -> str:
    """Where the account's pages are, for links written outside a request (a ticket comment):
    ``<scheme>://<subdomain>.<base domain>[:port]``, the scheme and port those of
    ``settings.PUBLIC_BASE_URL`` when set."""
    scheme, port = ("https" if settings.TLS else "http"), ""
    if settings.PUBLIC_BASE_URL:
        scheme, _, host = settings.PUBLIC_BASE_URL.partition("://")
        if not host.endswith("]") and ":" in host:
            port = ":" + host.rsplit(":", 1)[1]
    return f"{scheme}://{account.subdomain}.{settings.BASE_DOMAIN}{port}"


def subdomain_from_host(host: str) -> str | None:
    """``acme.localhost:8000`` → ``acme``; the bare domain or an IP → None.

    A host under the base domain with more than one label (``a.b.localhost``)
    answers ``""``: a name that can never be an account.
    """
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower().rstrip(".")
    suffix = "." + settings.BASE_DOMAIN
    if not hostname.endswith(suffix):
        return None
    label = hostname[: -len(suffix)]
    return label if "." not in label else ""


def account_for_host(host: str) -> tuple[bool, Account | None]:
    """(host names an account, that account or None when there is none)."""
    subdomain = subdomain_from_host(host)
    if subdomain is None:
        return False, None
    return True, Account.objects.filter(subdomain=subdomain).first()


def account_for_credential(request: HttpRequest) -> Account | None:
    """The account of the API token in the Authorization header, on the bare domain.

    This is the one lookup of a token across accounts, by its hash: the token is
    a secret that belongs to exactly one account, so finding it names the tenant.
    DRF's authentication checks the credential in full afterwards.
    """
    credential = tokens.parse_basic_token(request.META.get("HTTP_AUTHORIZATION", ""))
    if credential is None:
        return None
    _email, raw_token = credential
    with scopes_disabled():
        token = (
            ApiToken.objects.select_related("account")
            .filter(key_hash=tokens.hash_token(raw_token), revoked_at__isnull=True)
            .first()
        )
    return token.account if token else None


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        names_account, account = account_for_host(request.get_host())
        if names_account and account is None:
            return not_found(request, NO_ACCOUNT_MESSAGE)
        is_api = request.path.startswith(API_PREFIX)
        if account is None and is_api:
            account = account_for_credential(request)
        request.account = account
        request._membership_cache = None
        if account is None:
            # No scope is activated: any tenant query on this request raises.
            return self.get_response(request)
        if is_api:
            # The API keeps UTC ("...Z"), as Zendesk's reference does: DRF renders (and reads
            # naive) datetimes in the current zone, so the account's is not activated there.
            with scope(account=account):
                return self.get_response(request)
        # Pages render ``{{ value|date }}`` in the account's zone; ``override`` puts the
        # previous zone back afterwards (the thread serves other accounts next).
        with scope(account=account), timezone.override(account_zone(account)):
            return self.get_response(request)


def membership_of(request: HttpRequest) -> Membership | None:
    """The active membership of the request's user in the request's account."""
    account = getattr(request, "account", None)
    user = getattr(request, "user", None)
    if account is None or user is None or not user.is_authenticated:
        return None
    cached = getattr(request, "_membership_cache", None)
    if cached is not None and cached.user_id == user.pk:
        return cached
    membership = (
        active_memberships(account=account).filter(user=user)
        .select_related("user")
        .first()
    )
    request._membership_cache = membership
    return membership


def not_found(request: HttpRequest, message: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        # Not at the top: api_errors loads DRF, whose settings load our authentication
        # class, which imports this module (a cycle at start-up).
        from supportcenter.api_errors import not_found_response
        return not_found_response()
    return TemplateResponse(
        request, "404.html", {"message": message}, status=404
    ).render()


def account_context(request: HttpRequest) -> dict:
    return {
        "account": getattr(request, "account", None),
        "membership": membership_of(request),
        "base_domain": settings.BASE_DOMAIN,
        # The zone the page renders in (the account's, activated above): its label.
        "time_zone": timezone.get_current_timezone_name(),
    }
