"""Reads of lines (SPEC L1-L7, T5). Every one takes the account or the line."""
from __future__ import annotations

import copy
import time
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django_scopes import scopes_disabled

from supportcenter.models import Account, Group
from talk.models import Greeting, Line, TelephonySettings
from talk.models.agents import CALLBACK_AVAILABLE_STATUSES
from talk.selectors.greetings import prompt_greeting
from talk.voices import LANGUAGE_NAMES, has_voice, voice_language

# Fixed paths: the webhook views (talk/webhooks) serve them; providers are configured with them.
VOICE_WEBHOOK_PATH = "/talk/webhooks/{token}/voice/"
STATUS_WEBHOOK_PATH = "/talk/webhooks/{token}/status/"

TOLL_FREE_WARNING = (
    "This is a toll-free number. Some carriers cannot place outbound calls from toll-free numbers: "
    "check with your carrier before you use it for callbacks."
)
LANGUAGE_FALLBACK_WARNING = "Talk has no voice for {language}; the number-confirmation prompts play in English."

CALLBACK_OFF_REASON = "Callback is off on this line."
CALLBACK_DIGITAL_REASON = "Callback is not available on digital lines."
CALLBACK_NO_OUTBOUND_REASON = "The SIP line has no outbound number."
LINE_DISABLED_REASON = "The line is disabled."


def _groups_prefetch(account: Account) -> Prefetch:
    """A line's groups, read with the line: groups of its own account only (the rows are
    written by talk.services.lines, which checks the account; the read says so too)."""
    return Prefetch("groups", queryset=Group.objects.filter(account=account).order_by("name"))


def line_list(*, account: Account) -> QuerySet[Line]:
    return Line.objects.filter(account=account).order_by("name", "created_at")


def line_list_with_groups(*, account: Account) -> QuerySet[Line]:
    """The lines with their account and groups at hand (the admin list, the API): two statements
    whatever the number of lines."""
    return (
        line_list(account=account).select_related("account", "default_group").prefetch_related(_groups_prefetch(account))
    )


def line_group_ids(line: Line) -> list[int]:
    """The ids of the groups the line routes to, its default group included (SPEC R14)."""
    ids = {group.pk for group in line.groups.all()}
    if line.default_group_id:
        ids.add(line.default_group_id)
    return sorted(ids)


def line_groups(line: Line) -> list:
    """The line's groups by name, its default group among them (SPEC R14)."""
    groups = {group.pk: group for group in line.groups.all()}
    if line.default_group_id and line.default_group_id not in groups:
        groups[line.default_group_id] = line.default_group
    return sorted(groups.values(), key=lambda group: group.name.lower())


# The reference's greeting categories (its greeting_categories list): a line's greeting slot
# → the category id the reference files it under. Welcome is what callers hear first while
# agents are available ("available"); our hold greeting is what queued callers hear ("wait";
# the reference's "hold" is a caller an agent put on hold, which Talk does not do).
REFERENCE_GREETING_CATEGORIES: dict[str, int] = {
    "welcome_greeting": 2,  # available
    "hold_greeting": 3,  # wait
    "callback_greeting": 6,  # callback
    "callback_confirmation_greeting": 7,  # callback_confirmation
}


def line_categorised_greetings(line: Line) -> dict[str, int]:
    """The reference's ``categorised_greetings``: category id → the greeting the line picked.
    A slot left on the system default has no entry (as in ``greeting_ids``)."""
    picked = {}
    for slot, category_id in REFERENCE_GREETING_CATEGORIES.items():
        greeting_id = getattr(line, f"{slot}_id")
        if greeting_id:
            picked[str(category_id)] = greeting_id
    return picked


def access_line(*, account: Account, line_id: int) -> Line | None:
    """The line ``line_id`` of ``account``, or None.

    Security contract: returns only a line of ``account``; another account's id
    answers None, exactly as a missing id does (SPEC T3).
    """
    return (
        Line.objects.filter(account=account, pk=line_id)
        .select_related(
            "callback_greeting", "callback_confirmation_greeting", "welcome_greeting", "hold_greeting", "default_group"
        )
        .prefetch_related(_groups_prefetch(account))
        .first()
    )


# The webhook path's line, cached per process: the lookup (five tables, three subqueries)
# is the heaviest statement of a webhook for the ORM to build. Each use checks the line's
# token and ``updated_at`` with one small statement, so a new token or a changed line
# counts at once; a greeting, provider or account changed in another process counts
# within LINE_CACHE_SECONDS (in this one at once: talk.signals).
LINE_CACHE_SECONDS = 5.0
LINE_CACHE_SIZE = 10_000
_webhook_lines: dict[str, tuple[float, object, Line]] = {}  # token -> (when, its updated_at as read, line)


def webhook_line(token: str) -> Line | None:
    """The line of ``token`` with what every webhook needs: its account, greetings, provider
    and encrypted provider tokens (for the signature check), and ``agents_available`` (C2).
    One small statement while the line is cached; a copy, so views may annotate it.

    Security contract: the one cross-account lookup of the webhook path; the token is a
    192-bit secret naming exactly one line (SPEC T5).
    """
    if not token or len(token) > 64:
        return None
    statuses = list(CALLBACK_AVAILABLE_STATUSES)
    with connection.cursor() as cursor:
        # C2 with R14: an agent who may take the line's callbacks (of its groups or default
        # group; any agent when it names none) is online or away.
        cursor.execute(
            "SELECT line.updated_at, EXISTS (SELECT 1 FROM talk_agentpresence presence"
            f" WHERE presence.account_id = line.account_id AND presence.status IN ({', '.join(['%s'] * len(statuses))})"
            " AND ((line.default_group_id IS NULL"
            "       AND NOT EXISTS (SELECT 1 FROM talk_line_groups routed WHERE routed.line_id = line.id))"
            "      OR EXISTS (SELECT 1 FROM supportcenter_groupmembership member"
            "                 WHERE member.user_id = presence.user_id AND member.account_id = line.account_id"
            "                 AND (member.group_id = line.default_group_id OR member.group_id IN"
            "                      (SELECT routed.group_id FROM talk_line_groups routed WHERE routed.line_id = line.id)))))"
            " FROM talk_line line WHERE line.webhook_token = %s",
            [*statuses, token],
        )
        row = cursor.fetchone()
    if row is None:
        _webhook_lines.pop(token, None)
        return None
    now = time.monotonic()
    cached = _webhook_lines.get(token)
    if cached is None or now - cached[0] >= LINE_CACHE_SECONDS or cached[1] != row[0]:
        line = _webhook_line_load(token)
        if line is None:
            return None
        if len(_webhook_lines) >= LINE_CACHE_SIZE:
            _webhook_lines.clear()
        cached = _webhook_lines[token] = (now, row[0], line)
    line = copy.copy(cached[2])
    line.agents_available = bool(row[1])  # C2: an agent who may take its callbacks is online or away, now
    return line


def webhook_lines_forget(**_signal) -> None:
    """Forget every cached webhook line (a line, greeting, provider or account changed here)."""
    _webhook_lines.clear()


def _webhook_line_load(token: str) -> Line | None:
    with scopes_disabled():  # the tenant is not known until the token names it
        provider = TelephonySettings.objects.filter(account=OuterRef("account"))
        return (
            Line.objects.select_related(
                "account", "welcome_greeting", "hold_greeting", "callback_greeting", "callback_confirmation_greeting"
            )
            .annotate(
                provider=Subquery(provider.values("provider")[:1]),
                twilio_token=Subquery(provider.values("twilio_auth_token_encrypted")[:1]),
                simulator_token=Subquery(provider.values("simulator_auth_token_encrypted")[:1]),
            )
            .filter(webhook_token=token)
            .first()
        )


def _public_base(request: HttpRequest | None) -> str:
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    if request is None:
        return f"{'https' if settings.TLS else 'http'}://{settings.BASE_DOMAIN}"
    # The port of the Host the admin's browser used (not SERVER_PORT, which behind a
    # proxy is the app server's internal port); webhooks go to the bare base domain.
    host = request.get_host()
    port = ""
    if not host.endswith("]") and ":" in host:
        port = host.rsplit(":", 1)[1]
    default_port = "443" if request.scheme == "https" else "80"
    suffix = f":{port}" if port and port != default_port else ""
    return f"{request.scheme}://{settings.BASE_DOMAIN}{suffix}"


def line_webhook_urls(*, line: Line, request: HttpRequest | None = None) -> dict[str, str]:
    """The absolute URLs to paste into the provider's console for this line (SPEC T5).

    ``settings.PUBLIC_BASE_URL`` when set; else the request's scheme, the base
    domain and the request's port.
    """
    base = _public_base(request)
    return {
        "voice_url": base + VOICE_WEBHOOK_PATH.format(token=line.webhook_token),
        "status_callback_url": base + STATUS_WEBHOOK_PATH.format(token=line.webhook_token),
    }


def line_hook(line: Line, name: str, **query: object) -> str:
    """A root-relative webhook URL of ``line`` (``talk:webhook_<name>``); TwiML points at
    it and the provider resolves it against the request's own address."""
    path = reverse(f"talk:webhook_{name}", kwargs={"token": line.webhook_token})
    return f"{path}?{urlencode(query)}" if query else path


def line_hook_url(line: Line, name: str, **query: object) -> str:
    """The same webhook URL, absolute: what a provider REST call names (no request to resolve against)."""
    return _public_base(None) + line_hook(line, name, **query)


def effective_callback_language(line: Line) -> str:
    """The language of the number-confirmation prompts (SPEC L3).

    The line's language, else the account's default; English when the voice
    catalogue lacks it (seed).
    """
    language = line.callback_language or line.account.default_language
    return voice_language(language)


def line_callback_supported(line: Line) -> tuple[bool, str]:
    """The line's part of "callback is available" (SPEC C2, L1, L4): (ok, reason if not).

    The agents' part (at least one online or away) belongs to routing.
    """
    if not line.enabled:
        return False, LINE_DISABLED_REASON
    if line.kind == Line.Kind.DIGITAL:
        return False, CALLBACK_DIGITAL_REASON
    if not line.callback_enabled:
        return False, CALLBACK_OFF_REASON
    if line.kind == Line.Kind.SIP and not line.outbound_number:
        return False, CALLBACK_NO_OUTBOUND_REASON
    return True, ""


def callback_caller_id(line: Line) -> str:
    """The E.164 number callbacks of this line are dialled from (L4, L7), or "".

    The account-number policy uses the chosen number only while it is still the
    number of a phone line of the account; otherwise the line's own number.
    """
    if line.callback_caller_id_policy == Line.CallerIdPolicy.ACCOUNT_NUMBER and line.callback_outbound_caller_id:
        if Line.objects.filter(
            account_id=line.account_id, kind=Line.Kind.PHONE, number=line.callback_outbound_caller_id
        ).exists():
            return line.callback_outbound_caller_id.as_e164
    number = line.dial_out_number
    return number.as_e164 if number else ""


def line_warnings(line: Line) -> list[str]:
    """What an admin should know but is allowed (SPEC L5, L3)."""
    warnings = []
    if line.is_toll_free:
        warnings.append(TOLL_FREE_WARNING)
    language = line.callback_language or line.account.default_language
    if not has_voice(language):
        warnings.append(LANGUAGE_FALLBACK_WARNING.format(language=LANGUAGE_NAMES.get(language, language)))
    return warnings


# L3: these follow the callback message's language, not the line's callback language.
CALLBACK_MESSAGE_LANGUAGE = {Greeting.Category.CALLBACK_MENU, Greeting.Category.REQUEST_CONFIRMED,
                             Greeting.Category.ALREADY_WAITING}


def line_greeting(*, line: Line, category: str) -> Greeting | None:
    """The greeting a line plays for ``category``: its own pick, else the system default.

    The pick of welcome, hold, callback and callback confirmation is the line's; every
    other category is a system prompt. The prompts after the caller chose another number
    (entry, read-back, invalid) speak the line's callback language; the 1/2/3 menu and the
    closing confirmations speak the callback message's language (L3).
    """
    slot = {
        Greeting.Category.WELCOME: "welcome_greeting",
        Greeting.Category.HOLD: "hold_greeting",
        Greeting.Category.CALLBACK: "callback_greeting",
        Greeting.Category.CALLBACK_CONFIRMATION: "callback_confirmation_greeting",
    }.get(category)
    if slot is not None:
        chosen = getattr(line, slot)
        if chosen is not None:
            return chosen
        language = line.account.default_language
    elif category in CALLBACK_MESSAGE_LANGUAGE:
        language = line.callback_greeting.language if line.callback_greeting else line.account.default_language
    else:
        language = effective_callback_language(line)
    return prompt_greeting(account=line.account, category=category, language=language)
