"""Throttling of failed sign-ins and of failed API tokens (issue 14).

Both keep their counts in django-axes' ``AccessAttempt`` table: the database every process
already shares (gunicorn workers, daphne, machines), on SQLite (the demo) and PostgreSQL
alike, with no new service to be down, and rolled back with a test's transaction.

**Sign-in** (django-axes: ``axes.backends.AxesStandaloneBackend`` refuses a locked sign-in
before the password is checked; its signal handlers record failures). Two independent
limits over the cool-off: an e-mail (failures from any address lock it: the password
belongs to the user, whichever account host it is tried on) and a client address (a
higher one: an office behind one address shares it). Axes compares one count with one
limit, so ``SignInAttempts`` answers for both. A successful sign-in resets that e-mail's
failures only: resetting the address too would let anyone with an account of their own
wipe an address's failed guesses at other people's passwords by signing in between them.
Failures while locked are not recorded, so the lock ends when ``Retry-After`` says.

**API tokens**: failed ``email/token:TOKEN`` credentials per client address, in a fixed
window. Over the limit, further failures answer 429 without being recorded. A correct token
is never refused (see ``supportcenter.auth``).
"""
from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

log = logging.getLogger(__name__)

# API failures' rows in AccessAttempt: not an e-mail (the sign-in form takes only those),
# so no sign-in count ever matches them, and the address counts of sign-ins leave them out.
API_TOKEN_USERNAME = "api-token"


def client_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``SC_PROXY_COUNT`` trusted proxies in
    front, the address the outermost of them saw (X-Forwarded-For, counted from the right:
    entries further left are whatever the client sent). IPv6 by /64, the block one
    subscriber holds. None when there is no address to count (a Unix socket)."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.PROXY_COUNT:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= settings.PROXY_COUNT:
            address = forwarded[-settings.PROXY_COUNT]
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def signin_email(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The e-mail a sign-in is for (``AXES_USERNAME_CALLABLE``): one count whatever its case."""
    value = (credentials or {}).get("username")
    if value is None and request is not None and request.method == "POST":
        value = request.POST.get("username")
    value = str(value or "").strip().lower()
    return value or None


def signin_cooloff() -> timedelta:
    """``AXES_COOLOFF_TIME`` as a timedelta (the settings always set one: no permanent lock)."""
    return get_cool_off()


@dataclass(frozen=True)
class Lock:
    until: datetime

    def retry_after(self, now: datetime | None = None) -> int:
        """Whole seconds to wait, at least 1 (the value of ``Retry-After``)."""
        return max(1, math.ceil((self.until - (now or timezone.now())).total_seconds()))


def _locked_until(attempts: QuerySet, *, limit: int, span: timedelta) -> datetime | None:
    """When the newest rows that still add up to ``limit`` failures stop counting (a row
    counts, all its failures, for ``span`` after its time); None if they fall short."""
    total = 0
    # Each row holds one failure or more: the newest ``limit`` rows are enough.
    for attempt_time, failures in attempts.order_by("-attempt_time").values_list(
        "attempt_time", "failures_since_start"
    )[:limit]:
        total += failures
        if total >= limit:
            return attempt_time + span
    return None


def _signin_attempts() -> QuerySet:
    return AccessAttempt.objects.exclude(username=API_TOKEN_USERNAME)


def signin_lock(request: HttpRequest, *, email: str | None) -> Lock | None:
    """The lock on signing in as ``email`` from this request's address, if any; without an
    e-mail (the page itself), the address's alone."""
    now = getattr(request, "axes_attempt_time", None) or timezone.now()
    cool_off = signin_cooloff()
    recent = _signin_attempts().filter(attempt_time__gte=now - cool_off)
    until = []
    if email:
        until.append(_locked_until(recent.filter(username=email), limit=settings.AXES_FAILURE_LIMIT, span=cool_off))
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    if address:
        until.append(
            _locked_until(
                recent.filter(ip_address=address), limit=settings.SIGNIN_ADDRESS_FAILURE_LIMIT, span=cool_off
            )
        )
    until = [moment for moment in until if moment is not None and moment > now]
    return Lock(max(until)) if until else None


class SignInAttempts(AxesDatabaseHandler):
    """Axes' database handler with the e-mail and the address counted each against its own
    limit (``AXES_HANDLER``)."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # Axes locks when this reaches AXES_FAILURE_LIMIT (the e-mail's limit): the limit
        # while either count is over its own, else the e-mail's failures (below it).
        email = get_client_username(request, credentials)
        if signin_lock(request, email=email) is not None:
            return settings.AXES_FAILURE_LIMIT
        if not email:
            return 0
        failures = sum(
            _signin_attempts()
            .filter(username=email, attempt_time__gte=request.axes_attempt_time - signin_cooloff())
            .values_list("failures_since_start", flat=True)
        )
        return min(failures, settings.AXES_FAILURE_LIMIT - 1)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        # After a successful sign-in (AXES_RESET_ON_SUCCESS): that e-mail's failures only.
        email = get_client_username(request, credentials)
        if not email:
            return 0
        count, _ = AccessAttempt.objects.filter(username=email).delete()
        return count


# --- API tokens -----------------------------------------------------------------------
def _api_attempts(address: str) -> QuerySet:
    return AccessAttempt.objects.filter(username=API_TOKEN_USERNAME, ip_address=address)


def api_auth_lock(request: HttpRequest) -> Lock | None:
    """The lock on this address's token failures, if it has had its limit in the window."""
    address = client_address(request)
    if address is None:
        return None
    now = timezone.now()
    window = settings.API_AUTH_FAILURE_WINDOW
    until = _locked_until(
        _api_attempts(address).filter(attempt_time__gte=now - window),
        limit=settings.API_AUTH_FAILURE_LIMIT,
        span=window,
    )
    return Lock(until) if until is not None and until > now else None


def api_auth_failed(request: HttpRequest) -> Lock | None:
    """Count a failed token authentication of this request's address; the lock when the
    address was already over its limit (then nothing is recorded: a flood writes nothing)."""
    lock = api_auth_lock(request)
    if lock is not None:
        return lock
    address = client_address(request)
    if address is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        # A row's time is the start of its window (not updated on later failures): rows of
        # windows that are over go, and the next failure starts a new window at one.
        AccessAttempt.objects.filter(
            username=API_TOKEN_USERNAME, attempt_time__lt=now - settings.API_AUTH_FAILURE_WINDOW
        ).delete()
        attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
            username=API_TOKEN_USERNAME,
            ip_address=address,
            user_agent=request.META.get("HTTP_USER_AGENT", "<unknown>")[:255],
            defaults={
                "failures_since_start": 1,
                "http_accept": request.META.get("HTTP_ACCEPT", "<unknown>")[:1025],
                "path_info": request.path[:255],
                "get_data": "",
                "post_data": "",
            },
        )
        if not created:
            AccessAttempt.objects.filter(pk=attempt.pk).update(failures_since_start=F("failures_since_start") + 1)
    if api_auth_lock(request) is not None:
        log.warning("API token failures from %s reached %d: further ones answer 429.", address,
                    settings.API_AUTH_FAILURE_LIMIT)
    return None
