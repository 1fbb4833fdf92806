"""The served OpenAPI schema is the product's (issue 14, SPEC A1-A4): schemathesis, with all
its checks, in all its generating phases, against the real application and database.

Two actors, as the outside probe ran them: acme's admin on acme's host (every operation
must answer within its schema), and globex's admin token on acme's host (every operation
must refuse, 401, and leak nothing).

One kind of refusal cannot be put in a schema: a rule about *other records* or the real
world (a phone number that does not exist, a greeting or assignee id that is not the
account's, a line name already taken, a system greeting). Those answer 422 with the
field named; :data:`RULE_FIELDS` lists, per operation, the fields such a refusal may
name, and :func:`refused_only_by_record_rules` fails any other schema-valid 422. Every
other check runs as schemathesis ships it.
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_scopes import scope
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from demo.seeding import seed_demo_lines
from supportcenter.models import ApiToken
from supportcenter.tokens import hash_token
from talk.services.callback_requests import callback_request_create_by_api
from talk.selectors.lines import line_list
from tickets import services as ticket_services

MAX_EXAMPLES = 15  # fuzzing cases per operation; the coverage phase adds its boundary cases

# operation label → the fields a schema-valid request may still be refused on (422),
# because the rule is about other records or the phone network, not the request's shape.
_LINE_RULES = {
    "name", "number", "outbound_number", "sip_address", "kind", "welcome_greeting_id", "hold_greeting_id",
    "callback.callback_greeting_id", "callback.confirmation_greeting_id", "callback.outbound_caller_id",
    "callback.caller_id_policy", "callback.offer_in_greeting", "callback.enabled",
    "group_ids", "default_group_id",  # a group of no such id
}
_TICKET_RULES = {"requester", "requester.phone", "requester_id", "assignee_id", "group_id", "collaborator_ids"}
_GREETING_RULES = {"voice", "text", "audio_url"}  # a voice of another language; text or audio, one
RULE_FIELDS = {
    "POST /api/v2/channels/voice/phone_numbers.json": _LINE_RULES,
    "PUT /api/v2/channels/voice/phone_numbers/{line_id}.json": _LINE_RULES,
    "POST /api/v2/channels/voice/greetings.json": _GREETING_RULES,
    "PUT /api/v2/channels/voice/greetings/{greeting_id}.json": _GREETING_RULES,
    "POST /api/v2/channels/voice/callback_requests.json": {
        "phone_number_id", "requester_phone_number", "group_ids", "scheduled_for", "assignee_id"},
    "PUT /api/v2/channels/voice/callback_requests/{request_id}.json": {
        "assignee_id", "scheduled_for", "phone_number_id", "group_ids", "callback_request"},
    "POST /api/v2/channels/voice/callback_requests/{request_id}/cancel.json": {"reason"},
    "PUT /api/v2/channels/voice/settings.json": {"twilio_account_sid", "twilio_auth_token"},
    "POST /api/v2/tickets.json": _TICKET_RULES,
    "PUT /api/v2/tickets/{number}.json": _TICKET_RULES,
    "PUT /api/v2/tickets/update_many.json": {"ids", "tickets", "assignee_id", "group_id", "status"},
    "POST /api/v2/groups.json": {"name"},  # a name another group has
    "PUT /api/v2/groups/{group_id}.json": {"name"},
    # a user who is not a member, a group of no such id, a user already in the group
    "POST /api/v2/group_memberships.json": {"user_id", "group_id"},
}


@schemathesis.check
def refused_only_by_record_rules(ctx, response, case) -> bool | None:
    """A schema-valid request refused with 422 names only fields of RULE_FIELDS."""
    if response.status_code != 422 or case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return None
    fields = set(response.json().get("details", {}))
    allowed = RULE_FIELDS.get(case.operation.label, set())
    if not fields or not fields <= allowed:
        raise AssertionError(
            f"A schema-valid request was refused on {sorted(fields - allowed) or 'no field'}: "
            "the schema should state that rule"
        )
    return True


ADMIN_TOKEN = "schemathesis-acme-admin-token-0000000000000"
FOREIGN_TOKEN = "schemathesis-globex-admin-token-000000000000"


def _served_schema() -> dict:
    """The schema as the product serves it (on the bare domain: no account, no database)."""
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/api/schema/?format=json")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def _load(*, email: str, token: str, max_examples: int, phases: tuple[str, ...]):
    operations = [
        {
            "include-name": label,
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", "401", "403", "404", "409", "422"]}},
        }
        for label in RULE_FIELDS
    ]
    config = SchemathesisConfig.from_dict({
        "headers": {"Host": f"acme.{settings.BASE_DOMAIN}"},
        "auth": {"basic": {"username": f"{email}/token", "password": token}},
        "generation": {"max-examples": max_examples},
        "phases": {phase: {"enabled": phase in phases} for phase in ("examples", "coverage", "fuzzing", "stateful")},
        "operations": operations,
    })
    schema = schemathesis.openapi.from_dict(_served_schema(), config=config)
    schema.app = get_wsgi_application()
    return schema


def _token(account, user, raw: str) -> None:
    with scope(account=account):
        ApiToken.objects.create(
            account=account, user=user, description="schemathesis", key_hash=hash_token(raw), key_prefix=raw[:8]
        )


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the database connection after each request (Django's test
    client stops it doing so; schemathesis calls the handler itself): keep it open, so the
    requests see the test's data and its transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def acme_with_data(acme, alice, globex, charlie):
    with scope(account=acme):
        seed_demo_lines({"acme": acme})
        line = line_list(account=acme).first()
        ticket_services.ticket_create(
            account=acme, actor=alice, subject="Printer on fire", description="It is on fire.",
            requester_contact={"phone": "+14155550123"},
        )
        callback_request_create_by_api(account=acme, line_id=line.pk, number="+14155550124", actor=alice)
    _token(acme, alice, ADMIN_TOKEN)
    _token(globex, charlie, FOREIGN_TOKEN)
    return acme


as_admin = _load(email="alice@acme.test", token=ADMIN_TOKEN, max_examples=MAX_EXAMPLES,
                 phases=("examples", "coverage", "fuzzing"))
# Every answer is the same refusal: a few cases per operation show it.
as_foreign_token = _load(email="charlie@globex.test", token=FOREIGN_TOKEN, max_examples=5,
                         phases=("examples", "fuzzing"))


@as_admin.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case, acme_with_data):  # SPEC A1-A4, T3
    case.call_and_validate(additional_checks=[refused_only_by_record_rules])


@as_foreign_token.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_another_accounts_token_is_refused_everywhere(case, acme_with_data):  # SPEC T3, T4
    response = case.call_and_validate()
    assert response.status_code in (400, 401, 404, 405, 406, 413, 415, 429), response.text
