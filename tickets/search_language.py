"""search.json's query language (issue 15, item 3): its grammar as one regular expression
(:data:`QUERY_PATTERN`, published in the API schema) and the parser that reads a query
into terms. :func:`parse` accepts exactly the strings that pattern matches (the tests check
both directions), so a schema-valid query is never refused, and each refusal says which
term is wrong and why. What the terms select is tickets.search's.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace


from supportcenter.models import Membership
from tickets.models import TicketType, Via

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 20
RESULT_TYPES = ("ticket", "user")
STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")  # the reference's; no ticket is on hold here
PRIORITY_ORDER = ("low", "normal", "high", "urgent")
SORT_FIELDS = ("created_at", "updated_at", "priority", "status", "ticket_type")
UNITS = ("minute", "hour", "day", "week", "month", "year")
_COMPARISONS = ("<=", ">=", "<", ">")


class SearchError(ValueError):
    """A query this product cannot read; the message names the term and says why."""


@dataclass(frozen=True)
class _Field:
    applies: frozenset[str]
    kind: str  # "enum" (one of values), "text" (any value, quoted or not) or "time"
    values: tuple[str, ...] = ()
    ordered: bool = False  # takes < > <= >= too
    equal_only: tuple[str, ...] = ()  # values taken with ":" only (none)


_TICKET, _USER, _BOTH = frozenset({"ticket"}), frozenset({"user"}), frozenset(RESULT_TYPES)
FIELDS: dict[str, _Field] = {
    "type": _Field(_BOTH, "enum", RESULT_TYPES),
    "status": _Field(_TICKET, "enum", STATUS_ORDER, ordered=True),
    "priority": _Field(_TICKET, "enum", PRIORITY_ORDER, ordered=True, equal_only=("none",)),
    "ticket_type": _Field(_TICKET, "enum", tuple(TicketType.values), equal_only=("none",)),
    "via": _Field(_TICKET, "enum", (*Via.values, "phone")),
    "assignee": _Field(_TICKET, "text"),
    "requester": _Field(_TICKET, "text"),
    "group": _Field(_TICKET, "text"),
    "tags": _Field(_TICKET, "text"),
    "subject": _Field(_TICKET, "text"),
    "role": _Field(_USER, "enum", tuple(Membership.Role.values)),
    "email": _Field(_USER, "text"),
    "name": _Field(_USER, "text"),
    "created": _Field(_BOTH, "time", ordered=True),
    "updated": _Field(_BOTH, "time", ordered=True),
}
ALIASES = {"tag": "tags"}


# --- The language as one regular expression (published in the API schema) ------------------
def _ci(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _any(words) -> str:
    return "(?:" + "|".join(_ci(word) for word in sorted(words, key=len, reverse=True)) + ")"


_BARE = r'[^\x00-\x20"\x7f]+'
_PHRASE = r'"[^"\x00-\x1f\x7f]+"'
_WORD = r'[^\x00-\x20"\x7f:<>-][^\x00-\x20"\x7f:<>]*'
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP_DAY = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?"
_AGO = r"[0-9]{1,4}" + _any([f"{unit}s" for unit in UNITS] + list(UNITS))
_TIME_VALUE = rf"(?:{_DATE}(?:{_TIME})?|{_AGO})"
_OPS = "(?:<=|>=|:|<|>)"


def _field_pattern(name: str, field: _Field) -> str:
    names = _any([name, *(alias for alias, target in ALIASES.items() if target == name)])
    if field.kind == "time":
        return names + _OPS + _TIME_VALUE
    if field.kind == "text":
        return names + f":(?:{_PHRASE}|{_BARE})"
    values = _any(field.values + field.equal_only)
    forms = [f':(?:{values}|"{values}")']  # zenpy quotes each value of a list
    if field.ordered:
        forms.append("(?:<=|>=|<|>)" + _any(field.values))
    return names + "(?:" + "|".join(forms) + ")"


_TERM = "-?(?:" + "|".join([*(_field_pattern(n, f) for n, f in FIELDS.items()), _PHRASE, _WORD]) + ")"
QUERY_PATTERN = rf"^ *{_TERM}(?: +{_TERM}){{0,{MAX_TERMS - 1}}} *$"
# "$" as JSON Schema (ECMA-262) reads it: the very end, not before a final newline as in Python.
_QUERY_RE = re.compile(QUERY_PATTERN.removesuffix("$") + r"\Z")


# --- Parsing ------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    kind: str  # "word", "phrase" or "field"
    value: str  # unquoted; a field's canonical value (enum values lower-case)
    negated: bool = False
    field: str = ""
    op: str = ":"
    when: tuple | None = None  # a time field's value: ("date", date) | ("time", datetime, seconds) | ("ago", n, unit)


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    types: frozenset[str]  # the result types the query can select

    def restricted_to(self, result_type: str) -> Query:
        return replace(self, types=self.types & {result_type})


def parse(text: str) -> Query:
    """The query ``text`` as terms, or :class:`SearchError` naming the term at fault."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchError(f"The query is {len(text)} characters long; use at most {MAX_QUERY_LENGTH}.")
    tokens = _tokens(text)
    if not tokens:
        raise SearchError("The query is empty: give a word, a \"phrase\" or a field such as status:open.")
    if len(tokens) > MAX_TERMS:
        raise SearchError(f"The query has {len(tokens)} terms; use at most {MAX_TERMS}.")
    terms = tuple(_term(token) for token in tokens)
    if not _QUERY_RE.search(text):  # the parser and the published pattern agree (tests check it)
        raise SearchError("The query cannot be read: separate its terms with spaces.")
    chosen = {term.value for term in terms if term.field == "type" and not term.negated}
    types = (chosen or set(RESULT_TYPES)) - {term.value for term in terms if term.field == "type" and term.negated}
    for term in terms:
        if term.kind == "field":
            types &= FIELDS[term.field].applies
    return Query(terms=terms, types=frozenset(types))


def _tokens(text: str) -> list[str]:
    tokens, current, quoted = [], "", False
    for char in text:
        if char == " " and not quoted:
            if current:
                tokens.append(current)
            current = ""
            continue
        quoted ^= char == '"'
        current += char
    if quoted:
        raise SearchError(f"Close the quote opened in '{current}'.")
    return tokens + [current] if current else tokens


def _term(token: str) -> Term:
    negated = token.startswith("-")
    body = token[1:] if negated else token
    if not body or body.startswith("-"):
        raise SearchError(f"Put one '-' right before the word, phrase or field to leave out, not '{token}'.")
    if body.startswith('"'):
        if not re.fullmatch(_PHRASE, body):
            raise SearchError(f"Quote a whole phrase, with text between the quotes and nothing after: '{token}'.")
        return Term("phrase", body[1:-1], negated)
    found = re.match(r'([^:<>"]*)(<=|>=|:|<|>)', body)
    if found is None:
        if not re.fullmatch(_WORD, body):
            raise SearchError(f"'{token}' has a quote inside a word or a control character: quote whole phrases only.")
        return Term("word", body, negated)
    name, op, value = found.group(1), found.group(2), body[found.end():]
    if not name:
        raise SearchError(f"Name the field before '{op}' in '{token}'.")
    key = ALIASES.get(name.lower(), name.lower())
    field = FIELDS.get(key)
    if field is None:
        known = ", ".join(FIELDS)
        raise SearchError(f"Unknown field '{name}' in '{token}'. Fields: {known}; other words need no colon.")
    if op != ":" and not field.ordered:
        raise SearchError(f"'{name}' takes ':' only, not '{op}', in '{token}'.")
    if not value:
        raise SearchError(f"Give a value after '{name}{op}' in '{token}'.")
    if field.kind == "time":
        return Term("field", value, negated, key, op, _time_value(token, name, value))
    if field.kind == "text":
        if not re.fullmatch(f"{_PHRASE}|{_BARE}", value):
            raise SearchError(f"Quote the whole value of '{name}', or none of it, in '{token}'.")
        return Term("field", value.strip('"') if value.startswith('"') else value, negated, key, op)
    allowed = field.values + (field.equal_only if op == ":" else ())
    if op == ":" and len(value) > 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if value.lower() not in allowed:
        choices = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        raise SearchError(f"Unknown {key.replace('_', ' ')} '{value}' in '{token}': use {choices}.")
    return Term("field", value.lower(), negated, key, op)


def _time_value(token: str, name: str, value: str) -> tuple:
    if re.fullmatch(_AGO, value):
        number, unit = re.fullmatch(r"([0-9]+)([A-Za-z]+)", value).groups()
        return ("ago", int(number), unit.lower().rstrip("s"))
    moment = re.fullmatch(rf"({_DATE})(?:T([0-9]{{2}}):([0-9]{{2}})(?::([0-9]{{2}}))?(Z|[+-][0-9]{{2}}:?[0-9]{{2}})?)?", value)
    if moment is None:
        raise SearchError(
            f"Not a date in '{token}': use YYYY-MM-DD, a time such as 2026-01-01T09:00:00Z, "
            f"or a time ago such as {name}>4hours."
        )
    day = dt.date.fromisoformat(moment.group(1))
    if moment.group(2) is None:
        return ("date", day)
    hour, minute, second, zone = moment.group(2, 3, 4, 5)
    tz = None
    if zone == "Z":
        tz = dt.timezone.utc
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    when = dt.datetime(day.year, day.month, day.day, int(hour), int(minute), int(second or 0), tzinfo=tz)
    return ("time", when, 1 if second is not None else 60)
