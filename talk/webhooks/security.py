"""The edge of every telephony webhook (SPEC T5, C9, C10, C11).

1. The line comes from the unguessable token in the URL, never from the body.
2. The provider signature must match, made with that account's credentials,
   over the public URL the provider used; else 403 and nothing is written.
3. Inside the account's scope, one transaction runs the view; digit-handling
   webhooks store their answer so a provider retry gets the same one (C10).
4. Whatever goes wrong after that, the caller hears a polite apology (C11).
"""
from __future__ import annotations

import hashlib
import logging
from functools import wraps
from typing import Callable

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope
from twilio.request_validator import RequestValidator

from supportcenter.db import run_atomic
from talk import crypto, twiml
from talk.models import Line, TelephonySettings, WebhookReceipt
from talk.selectors.lines import webhook_line
from talk.selectors.telephony import telephony_auth_token

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_X_TWILIO_SIGNATURE"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"  # the same on a provider's retry of a request
FORBIDDEN_BODY = "Invalid or missing provider signature."

WebhookView = Callable[[HttpRequest, Line], str]


def _auth_token(line: Line) -> str:
    if line.provider is None:  # no settings row yet: make it (and the simulator's secret)
        with scope(account=line.account):
            return telephony_auth_token(account=line.account)
    encrypted = line.twilio_token if line.provider == TelephonySettings.Provider.TWILIO else line.simulator_token
    return crypto.decrypt(encrypted) if encrypted else ""


def signature_valid(request: HttpRequest, auth_token: str) -> bool:
    signature = request.META.get(SIGNATURE_HEADER, "")
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    urls = [request.build_absolute_uri()]
    if settings.PUBLIC_BASE_URL:  # behind a proxy the provider used the public address
        urls.insert(0, settings.PUBLIC_BASE_URL + request.get_full_path())
    return any(validator.validate(url, request.POST, signature) for url in urls)


def _receipt_key(request: HttpRequest) -> str:
    """What makes a request the same request (C10): its URL, its parameters and the
    provider's idempotency token, which a retry repeats and a new request does not (so the
    same key pressed again at the same prompt is no replay). Without the token, the
    content alone."""
    digest = hashlib.sha256(request.get_full_path().encode())
    digest.update(b"\0token=" + request.headers.get(IDEMPOTENCY_HEADER, "").encode())
    for key in sorted(request.POST):
        for value in request.POST.getlist(key):
            digest.update(b"\0" + key.encode() + b"=" + value.encode())
    return digest.hexdigest()


def twiml_response(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def twilio_webhook(*, idempotent: bool) -> Callable[[WebhookView], Callable[..., HttpResponse]]:
    """Wrap a view ``(request, line) -> TwiML`` with the edge above.

    ``idempotent``: store the answer and replay it to a retried request. Views
    whose effect and answer are already the same on a replay (status callbacks,
    the queue's exit, the hold loop) skip the two extra queries.
    """

    def decorate(view: WebhookView) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def handler(request: HttpRequest, token: str) -> HttpResponse:
            try:
                return _edge(view, request, token, idempotent=idempotent)
            except Exception:  # C11: never a 500 or an empty document to a caller
                logger.exception("webhook %s failed before its view ran", view.__name__)
                return twiml_response(twiml.apology())

        return handler

    return decorate


def _edge(view: WebhookView, request: HttpRequest, token: str, *, idempotent: bool) -> HttpResponse:
    if request.method != "POST":
        return twiml_response(twiml.apology(), status=405)
    line = webhook_line(token)
    host_account = getattr(request, "account", None)
    if line is None or (host_account is not None and host_account.pk != line.account_id):
        # Nothing names a tenant: nothing to check the signature with, nothing written.
        return twiml_response(twiml.apology())
    if not signature_valid(request, _auth_token(line)):
        return HttpResponse(FORBIDDEN_BODY, status=403, content_type="text/plain")
    language = line.account.default_language
    if not line.enabled or not request.POST.get("CallSid"):
        return twiml_response(twiml.apology(language))
    with scope(account=line.account):
        return twiml_response(_run(view, request, line, idempotent=idempotent, language=language))


def _run(view: WebhookView, request: HttpRequest, line: Line, *, idempotent: bool, language: str) -> str:
    """The view and its receipt in one transaction. A provider retry runs the view again and
    then fails to store a second receipt for the same request: that rolls its work back, and
    it answers what the original answered (C10). Retries are rare, so no look-up first."""
    key = _receipt_key(request) if idempotent else ""

    def respond() -> str:
        body = view(request, line)
        if idempotent:
            WebhookReceipt.objects.create(account=line.account, key=key, response=body)
        return body

    try:
        # A deadlock lost on PostgreSQL runs the request again: never an apology
        # for a request whose work simply has to wait its turn (O2).
        return run_atomic(respond)
    except Exception as error:
        # A retry (or a retry racing the original): the original's answer, once it is in.
        if idempotent:
            stored = WebhookReceipt.objects.filter(account=line.account, key=key).values_list("response", flat=True).first()
            if stored is not None:
                return stored
        kind = "conflicted" if isinstance(error, IntegrityError) else "failed"
        logger.exception("webhook %s on line %s %s", view.__name__, line.pk, kind)
    return twiml.apology(language)
