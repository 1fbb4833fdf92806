"""Writes of lines and their callback settings: the one validation path (SPEC L1-L7).

Pages and API both call ``line_create`` / ``line_update`` / ``callback_settings_update``;
the resulting line is checked as a whole before it is saved, so every refusal has
one message, a module constant, whichever door it came through.
"""
from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from phonenumber_field.phonenumber import PhoneNumber

from supportcenter import services as core_services
from supportcenter.audit import audit_record
from supportcenter.errors import ServiceError
from supportcenter.models import LANGUAGE_CHOICES, Account, Group, User
from supportcenter.phone import parse_phone
from talk.models import Greeting, Line
from talk.models.lines import new_webhook_token
from talk.selectors.greetings import prompt_greeting

NAME_REQUIRED_MESSAGE = "Give the line a name."
NAME_LENGTH = 100
NAME_TOO_LONG_MESSAGE = f"Keep the line's name to {NAME_LENGTH} characters."
NAME_TAKEN_MESSAGE = "Another line of this account already has this name; agents tell lines apart by it."
KIND_INVALID_MESSAGE = "Choose the kind of line: phone, sip or digital."
KIND_IMMUTABLE_MESSAGE = "A line's kind cannot be changed; add a new line instead."
NUMBER_REQUIRED_MESSAGE = "A phone line needs its phone number."
NUMBER_INVALID_MESSAGE = "Enter a valid phone number in international form, e.g. +1 415 555 0100."
NUMBER_TAKEN_MESSAGE = "Another line of this account already has this number."
SIP_ADDRESS_REQUIRED_MESSAGE = "A SIP line needs its SIP address."
SIP_ADDRESS_INVALID_MESSAGE = "Enter a SIP address of the form sip:user@host, e.g. sip:support@pbx.example.com."
SIP_ADDRESS_TAKEN_MESSAGE = "Another line of this account already has this SIP address."
OUTBOUND_NUMBER_INVALID_MESSAGE = "Enter the outbound number in international form, e.g. +1 415 555 0100."
CALLBACK_DIGITAL_MESSAGE = "Callback cannot be enabled on a digital line."
CALLBACK_SIP_OUTBOUND_MESSAGE = (
    "Set the outbound number before enabling callback: a SIP line dials callbacks from its outbound number."
)
CALLBACK_LANGUAGE_INVALID_MESSAGE = "Choose a language from the list, or none for the account's default language."
CALLBACK_KEY_MESSAGE = "The callback key must be one key of the phone keypad: 0-9, * or #."
CALLBACK_OFFER_NOWHERE_MESSAGE = "Offer callback in the welcome greeting, while queued, or both."
CALLER_ID_POLICY_INVALID_MESSAGE = "Choose the outbound caller id: line_number or account_number."
CALLER_ID_NUMBER_REQUIRED_MESSAGE = "Choose which number of the account callbacks are dialled from."
CALLER_ID_NOT_ACCOUNT_NUMBER_MESSAGE = "The outbound caller id must be the number of another phone line of this account."
GREETING_NOT_FOUND_MESSAGE = "There is no such greeting in this account."
GREETING_CATEGORY_MESSAGE = "Choose a greeting of the “{category}” category."
GROUP_NOT_FOUND_MESSAGE = "There is no such group in this account."
TOO_MANY_GROUPS_MESSAGE = "A line routes to at most {limit} groups."
MAX_LINE_GROUPS = 100
BOOLEAN_MESSAGE = "Must be true or false."
RANGE_MESSAGE = "{label} must be a whole number from {low} to {high}."

# field: (label, low, high)
RANGES: dict[str, tuple[str, int, int]] = {
    "call_offer_seconds": ("The call offer time (seconds)", 10, 300),
    "callback_offer_seconds": ("The callback offer time (seconds)", 10, 600),
    "callback_expiry_minutes": ("The request expiry (minutes)", 5, 1440),
    "callback_retry_attempts": ("The number of retries", 0, 5),
    "callback_retry_interval_minutes": ("The minutes between retries", 1, 120),
}


def range_message(field: str) -> str:
    label, low, high = RANGES[field]
    return RANGE_MESSAGE.format(label=label, low=low, high=high)


# Which greeting category each greeting slot of a line takes.
GREETING_SLOTS: dict[str, str] = {
    "welcome_greeting": Greeting.Category.WELCOME,
    "hold_greeting": Greeting.Category.HOLD,
    "callback_greeting": Greeting.Category.CALLBACK,
    "callback_confirmation_greeting": Greeting.Category.CALLBACK_CONFIRMATION,
}
GENERAL_FIELDS = frozenset(
    {"name", "kind", "number", "sip_address", "outbound_number", "enabled", "welcome_greeting", "hold_greeting",
     "call_offer_seconds", "default_group", "groups"}
)
CALLBACK_FIELDS = frozenset(
    {"callback_enabled", "callback_language", "callback_greeting", "callback_confirmation_greeting",
     "callback_offer_seconds", "callback_expiry_minutes", "callback_key", "callback_offer_in_greeting",
     "callback_offer_while_queued", "callback_caller_id_policy", "callback_outbound_caller_id",
     "callback_retry_attempts", "callback_retry_interval_minutes", "callback_capture_on_first_key",
     "announce_queue_position", "callback_record_name"}
)
BOOLEAN_FIELDS = frozenset(
    {"enabled", "callback_enabled", "callback_offer_in_greeting", "callback_offer_while_queued",
     "callback_capture_on_first_key", "announce_queue_position", "callback_record_name"}
)
CALLBACK_KEYS = frozenset("0123456789*#")
_LANGUAGES = {code for code, _ in LANGUAGE_CHOICES}
_SIP_RE = re.compile(
    r"^(?:sip:)?(?P<user>[A-Za-z0-9._~!$&'()*+,;=%-]+)@"
    r"(?P<host>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(?::(?P<port>\d{1,5}))?$"
)


def parse_phone_number(value: Any, *, region: str, message: str = NUMBER_INVALID_MESSAGE, field: str) -> PhoneNumber | str:
    """A valid number (read in the account's region when it has no +), or "" for blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    number = parse_phone(value, region=region)
    if number is None:
        raise ServiceError(message, field=field)
    return number


def normalise_sip_address(value: Any) -> str:
    """``support@PBX.example.com`` or ``sip:support@pbx.example.com`` → ``sip:support@pbx.example.com``."""
    text = str(value or "").strip()
    if not text:
        return ""
    if text[:4].lower() == "sip:":
        text = "sip:" + text[4:]
    match = _SIP_RE.match(text)
    if match is None or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise ServiceError(SIP_ADDRESS_INVALID_MESSAGE, field="sip_address")
    port = f":{match['port']}" if match["port"] else ""
    return f"sip:{match['user']}@{match['host'].lower()}{port}"


def _greeting(*, account: Account, slot: str, value: Any) -> Greeting | None:
    if value is None or value == "":
        return None
    greeting_id = value.pk if isinstance(value, Greeting) else value
    try:
        greeting_id = int(greeting_id)
    except (TypeError, ValueError):
        raise ServiceError(GREETING_NOT_FOUND_MESSAGE, field=slot) from None
    # Scoped by account: another account's greeting answers like a missing one (SPEC T3).
    greeting = Greeting.objects.filter(account=account, pk=greeting_id).first()
    if greeting is None:
        raise ServiceError(GREETING_NOT_FOUND_MESSAGE, field=slot)
    category = GREETING_SLOTS[slot]
    if greeting.category != category:
        raise ServiceError(GREETING_CATEGORY_MESSAGE.format(category=Greeting.Category(category).label), field=slot)
    return greeting


def _group_id(value: Any, *, field: str) -> int:
    if isinstance(value, Group):
        return value.pk
    if isinstance(value, bool):  # True is not group 1
        raise ServiceError(GROUP_NOT_FOUND_MESSAGE, field=field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ServiceError(GROUP_NOT_FOUND_MESSAGE, field=field) from None


def _groups(*, account: Account, value: Any, field: str) -> list[Group]:
    """The groups of ``account`` that ``value`` names (ids or groups), or a refusal naming ``field``.

    Scoped and locked by ``supportcenter.services.groups_for_use``: another account's group
    answers like a missing one; deleting one of them waits for this write, then finds the
    line using it.
    """
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ServiceError(GROUP_NOT_FOUND_MESSAGE, field=field)
    ids = {_group_id(item, field=field) for item in value}
    if len(ids) > MAX_LINE_GROUPS:
        raise ServiceError(TOO_MANY_GROUPS_MESSAGE.format(limit=MAX_LINE_GROUPS), field=field)
    return core_services.groups_for_use(account=account, group_ids=ids, field=field, message=GROUP_NOT_FOUND_MESSAGE)


def _default_group(*, account: Account, value: Any) -> Group | None:
    if value is None or value == "":
        return None
    return _groups(account=account, value=[value], field="default_group")[0]


def _save_groups(*, line: Line, groups: list[Group] | None) -> None:
    """Set the line's routing groups: ``groups`` when given, else the ones it has, always with
    its default group among them (a line routes to groups ∪ {default group}, SPEC R14)."""
    wanted = {group.pk: group for group in (groups if groups is not None else line.groups.all())}
    if line.default_group is not None:
        wanted[line.default_group.pk] = line.default_group
    line.groups.set(wanted.values())


def _apply(*, account: Account, line: Line, changes: dict[str, Any]) -> None:
    """Set each change on ``line``, refusing values that are wrong on their own."""
    for field, value in changes.items():
        if field in BOOLEAN_FIELDS:
            if not isinstance(value, bool):
                raise ServiceError(BOOLEAN_MESSAGE, field=field)
            setattr(line, field, value)
        elif field in RANGES:
            _label, low, high = RANGES[field]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ServiceError(range_message(field), field=field)
            setattr(line, field, value)
        elif field in GREETING_SLOTS:
            setattr(line, field, _greeting(account=account, slot=field, value=value))
        elif field == "name":
            name = str(value or "").strip()
            if not name:
                raise ServiceError(NAME_REQUIRED_MESSAGE, field="name")
            if len(name) > NAME_LENGTH:  # never cut silently
                raise ServiceError(NAME_TOO_LONG_MESSAGE, field="name")
            if Line.objects.filter(account=account, name__iexact=name).exclude(pk=line.pk).exists():
                raise ServiceError(NAME_TAKEN_MESSAGE, field="name")
            line.name = name
        elif field == "kind":
            if value not in Line.Kind.values:
                raise ServiceError(KIND_INVALID_MESSAGE, field="kind")
            if line.kind and line.kind != value:
                raise ServiceError(KIND_IMMUTABLE_MESSAGE, field="kind")
            line.kind = value
        elif field == "number":
            line.number = parse_phone_number(value, region=account.region, field="number")
        elif field == "outbound_number":
            line.outbound_number = parse_phone_number(
                value, region=account.region, message=OUTBOUND_NUMBER_INVALID_MESSAGE, field="outbound_number"
            )
        elif field == "sip_address":
            line.sip_address = normalise_sip_address(value)
        elif field == "callback_language":
            language = str(value or "").strip()
            if language and language not in _LANGUAGES:
                raise ServiceError(CALLBACK_LANGUAGE_INVALID_MESSAGE, field=field)
            line.callback_language = language
        elif field == "callback_key":
            if not isinstance(value, str) or len(value.strip()) != 1 or value.strip() not in CALLBACK_KEYS:
                raise ServiceError(CALLBACK_KEY_MESSAGE, field=field)
            line.callback_key = value.strip()
        elif field == "callback_caller_id_policy":
            if value not in Line.CallerIdPolicy.values:
                raise ServiceError(CALLER_ID_POLICY_INVALID_MESSAGE, field=field)
            line.callback_caller_id_policy = value
        elif field == "callback_outbound_caller_id":
            line.callback_outbound_caller_id = parse_phone_number(value, region=account.region, field=field)
        elif field == "default_group":
            line.default_group = _default_group(account=account, value=value)
        else:  # pragma: no cover - a programming error, not a user's
            raise TypeError(f"Unknown line field {field!r}")


def _validate(*, account: Account, line: Line) -> None:
    """The checks that need the whole line (SPEC L1, L4, L7)."""
    if line.kind == Line.Kind.PHONE:
        if not line.number:
            raise ServiceError(NUMBER_REQUIRED_MESSAGE, field="number")
        line.sip_address = ""
        line.outbound_number = ""  # a phone line dials out from its own number
        taken = Line.objects.filter(account=account, kind=Line.Kind.PHONE, number=line.number).exclude(pk=line.pk)
        if taken.exists():
            raise ServiceError(NUMBER_TAKEN_MESSAGE, field="number")
    elif line.kind == Line.Kind.SIP:
        if not line.sip_address:
            raise ServiceError(SIP_ADDRESS_REQUIRED_MESSAGE, field="sip_address")
        line.number = ""
        taken = Line.objects.filter(account=account, kind=Line.Kind.SIP, sip_address=line.sip_address)
        if taken.exclude(pk=line.pk).exists():
            raise ServiceError(SIP_ADDRESS_TAKEN_MESSAGE, field="sip_address")
    else:
        line.number = line.outbound_number = line.sip_address = ""

    if line.callback_enabled:
        if line.kind == Line.Kind.DIGITAL:
            raise ServiceError(CALLBACK_DIGITAL_MESSAGE, field="callback_enabled")  # SPEC L1 (seed)
        if line.kind == Line.Kind.SIP and not line.outbound_number:
            raise ServiceError(CALLBACK_SIP_OUTBOUND_MESSAGE, field="outbound_number")  # SPEC L4 (seed)
        if not (line.callback_offer_in_greeting or line.callback_offer_while_queued):
            raise ServiceError(CALLBACK_OFFER_NOWHERE_MESSAGE, field="callback_offer_while_queued")

    if line.callback_caller_id_policy == Line.CallerIdPolicy.ACCOUNT_NUMBER:
        if not line.callback_outbound_caller_id:
            raise ServiceError(CALLER_ID_NUMBER_REQUIRED_MESSAGE, field="callback_outbound_caller_id")
        other_line = Line.objects.filter(
            account=account, kind=Line.Kind.PHONE, number=line.callback_outbound_caller_id
        ).exclude(pk=line.pk)
        if not other_line.exists():
            raise ServiceError(CALLER_ID_NOT_ACCOUNT_NUMBER_MESSAGE, field="callback_outbound_caller_id")
    else:
        line.callback_outbound_caller_id = ""


def _save(line: Line) -> None:
    try:
        with transaction.atomic():  # a savepoint: the unique number may race with another admin
            line.save()
    except IntegrityError as error:
        if "talk_line_unique_name" in str(error):  # two admins naming two lines alike at once
            raise ServiceError(NAME_TAKEN_MESSAGE, field="name") from None
        if line.kind == Line.Kind.PHONE:
            raise ServiceError(NUMBER_TAKEN_MESSAGE, field="number") from None
        raise


def _default_greeting(*, account: Account, category: str) -> Greeting | None:
    return prompt_greeting(account=account, category=category, language=account.default_language)


@transaction.atomic
def line_create(*, account: Account, actor: User | None, name: str, kind: str, **changes: Any) -> Line:
    """Add a line; callback starts off, with the system greetings picked (L2); ``groups``
    (ids or groups) and ``default_group`` route its calls (R14)."""
    unknown = set(changes) - GENERAL_FIELDS - CALLBACK_FIELDS
    if unknown:
        raise TypeError(f"Unknown line fields {sorted(unknown)}")
    line = Line(account=account, kind="")
    # Every slot starts on the system default, so a call never looks one up (webhook budget).
    line.welcome_greeting = _default_greeting(account=account, category=Greeting.Category.WELCOME)
    line.hold_greeting = _default_greeting(account=account, category=Greeting.Category.HOLD)
    line.callback_greeting = _default_greeting(account=account, category=Greeting.Category.CALLBACK)
    line.callback_confirmation_greeting = _default_greeting(
        account=account, category=Greeting.Category.CALLBACK_CONFIRMATION
    )
    groups = _groups(account=account, value=changes.pop("groups", None), field="groups")
    _apply(account=account, line=line, changes={"name": name, "kind": kind, **changes})
    _validate(account=account, line=line)
    _save(line)
    _save_groups(line=line, groups=groups)
    audit_record(account=account, actor=actor, action="line.create", target=line, kind=line.kind)
    return line


@transaction.atomic
def line_update(*, account: Account, line: Line, actor: User | None, **changes: Any) -> Line:
    """Change any editable setting of a line (General and Callback tabs, API PUT).

    ``groups`` replaces the line's groups; ``default_group`` (an id, a group or None) is
    kept among them whatever ``groups`` says (SPEC R14)."""
    if line.account_id != account.pk:  # pragma: no cover - callers pass lines from access_line
        raise ValueError("The line is not of this account.")
    unknown = set(changes) - GENERAL_FIELDS - CALLBACK_FIELDS
    if unknown:
        raise TypeError(f"Unknown line fields {sorted(unknown)}")
    # Validate a fresh copy locked for the write: a refusal leaves the caller's object as it was.
    target = Line.objects.select_for_update().get(account=account, pk=line.pk)
    fields = dict(changes)
    groups = _groups(account=account, value=fields.pop("groups"), field="groups") if "groups" in fields else None
    _apply(account=account, line=target, changes=fields)
    _validate(account=account, line=target)
    _save(target)
    if groups is not None or "default_group" in fields:
        _save_groups(line=target, groups=groups)
    audit_record(account=account, actor=actor, action="line.update", target=target, fields=sorted(changes))
    return target


def callback_settings_update(*, account: Account, line: Line, actor: User | None, **changes: Any) -> Line:
    """The Callback tab's save: only callback settings (L2, L7)."""
    unknown = set(changes) - CALLBACK_FIELDS
    if unknown:
        raise TypeError(f"Not callback settings: {sorted(unknown)}")
    return line_update(account=account, line=line, actor=actor, **changes)


@transaction.atomic
def line_webhook_token_regenerate(*, account: Account, line: Line, actor: User | None) -> Line:
    """A new webhook token: the old URLs stop working at once (e.g. after a leak)."""
    Line.objects.filter(account=account, pk=line.pk).update(webhook_token=new_webhook_token())
    line.refresh_from_db()
    audit_record(account=account, actor=actor, action="line.regenerate_token", target=line)
    return line
