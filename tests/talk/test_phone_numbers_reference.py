"""Phone numbers as the reference documents them (issue 15, items 5 and 6): a line's groups
(`default_group_id`, `group_ids`, SPEC R14) and the reference's other fields (`external`,
`location`, `recorded`, `transcription`, `greeting_ids`, `categorised_greetings`, a
string `number`, `line_type` phone/digital). SPEC A1, A4, R14, T3."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from supportcenter import services as core_services
from supportcenter.models import AuditEntry, Group
from talk.models import Greeting, Line
from talk.services import lines as line_services
from tests.isolation import _body, assert_isolated, missing_id
from tests.talk.factories import make_greeting, make_line, reload

LIST = "/api/v2/channels/voice/phone_numbers.json"


def detail(pk: int) -> str:
    return f"/api/v2/channels/voice/phone_numbers/{pk}.json"


def put(client, pk: int, body: dict):
    return client.put(detail(pk), data=json.dumps({"phone_number": body}), content_type="application/json")


def post(client, body: dict):
    return client.post(LIST, data=json.dumps({"phone_number": body}), content_type="application/json")


def make_group(account, name: str) -> Group:
    with scope(account=account):
        return core_services.group_create(account=account, actor=None, name=name)


def routing_of(line: Line) -> tuple[int | None, set[int]]:
    with scope(account=line.account):
        fresh = Line.objects.get(account=line.account, pk=line.pk)
        return fresh.default_group_id, set(fresh.groups.values_list("pk", flat=True))


def refused(response) -> dict:
    assert response.status_code == 422, response.content
    return {field: [d["description"] for d in errors] for field, errors in response.json()["details"].items()}


@pytest.fixture
def line(acme) -> Line:
    return make_line(acme, "Main line")


@pytest.fixture
def billing(acme) -> Group:
    return make_group(acme, "Billing")


@pytest.fixture
def sales(acme) -> Group:
    return make_group(acme, "Sales")


def test_a_phone_line_has_every_field_of_the_reference(alice_api, line):  # SPEC A1
    number = alice_api.get(detail(line.pk)).json()["phone_number"]
    assert number["number"] == "+14155550100" and number["line_type"] == "phone" and number["kind"] == "phone"
    assert (number["country_code"], number["location"]) == ("US", "US")
    # What Talk does not do is false, not absent.
    assert (number["external"], number["recorded"], number["transcription"]) == (False, False, False)
    assert (number["default_group_id"], number["group_ids"]) == (None, [])
    # The reference's categories: 2 available (welcome), 3 wait (hold), 6 callback, 7 callback_confirmation.
    assert number["categorised_greetings"] == {
        "2": line.welcome_greeting_id, "3": line.hold_greeting_id,
        "6": line.callback_greeting_id, "7": line.callback_confirmation_greeting_id,
    }
    assert sorted(number["greeting_ids"]) == sorted(number["categorised_greetings"].values())


def test_categorised_greetings_follow_the_lines_picks(alice_api, line, acme):  # SPEC A1, L6
    offer = make_greeting(acme, "Evening offer")
    hold = make_greeting(acme, "Soft music", Greeting.Category.HOLD, text="Thank you for holding.")
    body = put(alice_api, line.pk, {"hold_greeting_id": hold.pk, "welcome_greeting_id": None,
                                    "callback": {"callback_greeting_id": offer.pk}}).json()["phone_number"]
    assert body["categorised_greetings"] == {
        "3": hold.pk, "6": offer.pk, "7": line.callback_confirmation_greeting_id,
    }  # a slot left on the system default has no entry, as in greeting_ids
    assert sorted(body["greeting_ids"]) == sorted([hold.pk, offer.pk, line.callback_confirmation_greeting_id])


def test_a_sip_line_has_its_address_as_number_and_is_a_phone_line(alice_api, acme):  # SPEC L1, A1
    sip = make_line(acme, "Office PBX", Line.Kind.SIP, outbound_number="+81312345678")
    number = alice_api.get(detail(sip.pk)).json()["phone_number"]
    assert number["number"] == "sip:support@pbx.example.com"  # a string, never null
    assert (number["line_type"], number["kind"]) == ("phone", "sip")
    assert (number["country_code"], number["location"]) == ("JP", "JP")  # of the number it dials out from
    without_outbound = make_line(acme, "Lab PBX", Line.Kind.SIP, sip_address="sip:lab@pbx.example.com")
    number = alice_api.get(detail(without_outbound.pk)).json()["phone_number"]
    assert number["number"] == "sip:lab@pbx.example.com" and number["location"] is None


def test_a_digital_line_is_digital_with_an_empty_number(alice_api, acme):  # SPEC L1, A1
    web = make_line(acme, "Web calls", Line.Kind.DIGITAL)
    number = alice_api.get(detail(web.pk)).json()["phone_number"]
    assert (number["number"], number["line_type"], number["kind"]) == ("", "digital", "digital")
    assert (number["external"], number["recorded"], number["transcription"]) == (False, False, False)


def test_an_admin_sets_a_lines_groups_and_default_group(alice_api, line, acme, alice, billing, sales):  # SPEC R14
    body = put(alice_api, line.pk, {"group_ids": [billing.pk, sales.pk, billing.pk]}).json()["phone_number"]
    assert (body["default_group_id"], body["group_ids"]) == (None, sorted([billing.pk, sales.pk]))
    assert routing_of(line) == (None, {billing.pk, sales.pk})

    # Setting the default group adds it to the groups; replacing the groups keeps it there.
    support = make_group(acme, "Support")
    body = put(alice_api, line.pk, {"default_group_id": support.pk}).json()["phone_number"]
    assert (body["default_group_id"], body["group_ids"]) == (support.pk, sorted([billing.pk, sales.pk, support.pk]))
    body = put(alice_api, line.pk, {"group_ids": [sales.pk]}).json()["phone_number"]
    assert (body["default_group_id"], body["group_ids"]) == (support.pk, sorted([sales.pk, support.pk]))
    body = put(alice_api, line.pk, {"group_ids": []}).json()["phone_number"]
    assert body["group_ids"] == [support.pk]

    # No default group and no groups: every agent takes the line's calls again.
    body = put(alice_api, line.pk, {"default_group_id": None, "group_ids": []}).json()["phone_number"]
    assert (body["default_group_id"], body["group_ids"]) == (None, [])
    assert routing_of(line) == (None, set())
    with scope(account=acme):
        entry = AuditEntry.objects.filter(account=acme, action="line.update", actor=alice).first()
    assert entry.data["fields"] == ["default_group", "groups"]


def test_another_accounts_group_is_refused_exactly_like_a_missing_one(alice_api, line, globex, billing):  # SPEC T3
    tokyo = make_group(globex, "Tokyo desk")
    put(alice_api, line.pk, {"group_ids": [billing.pk], "default_group_id": billing.pk})
    for field, foreign, missing in [
        ("group_ids", [billing.pk, tokyo.pk], [billing.pk, missing_id()]),
        ("default_group_id", tokyo.pk, missing_id()),
    ]:
        answers = [put(alice_api, line.pk, {"nickname": "Renamed", field: value}) for value in (foreign, missing)]
        assert refused(answers[0]) == {field: [line_services.GROUP_NOT_FOUND_MESSAGE]}
        assert _body(answers[0]) == _body(answers[1])
    # Nothing written: neither the groups nor the other fields of the refused body.
    assert routing_of(line) == (billing.pk, {billing.pk})
    assert reload(line).name == "Main line"


def test_a_new_line_is_created_with_its_groups(alice_api, acme, billing, sales):  # SPEC R14, A1
    response = post(alice_api, {"nickname": "Sales line", "number": "+14155550177",
                                "group_ids": [sales.pk], "default_group_id": billing.pk})
    assert response.status_code == 201, response.content
    created = response.json()["phone_number"]
    assert (created["default_group_id"], created["group_ids"]) == (billing.pk, sorted([billing.pk, sales.pk]))
    refused_body = post(alice_api, {"nickname": "Other", "number": "+14155550178", "group_ids": [missing_id()]})
    assert refused(refused_body) == {"group_ids": [line_services.GROUP_NOT_FOUND_MESSAGE]}
    with scope(account=acme):
        assert not Line.objects.filter(account=acme, name="Other").exists()


@pytest.mark.parametrize(
    "body",
    [{"group_ids": 5}, {"group_ids": "5"}, {"group_ids": ["5"]}, {"group_ids": [True]}, {"group_ids": None},
     {"group_ids": [1.5]}, {"default_group_id": "5"}, {"default_group_id": True}],
)
def test_malformed_groups_answer_400_naming_the_field(alice_api, line, billing, body):  # SPEC A1
    put(alice_api, line.pk, {"group_ids": [billing.pk]})
    response = put(alice_api, line.pk, body)
    assert response.status_code == 400, response.content
    [field] = body
    details = response.json()["details"]
    assert details and all(name.startswith(f"phone_number.{field}") for name in details), details
    assert routing_of(line) == (None, {billing.pk})


def test_too_many_groups_are_refused_with_the_limit(alice_api, line):  # SPEC A1
    ids = list(range(1, line_services.MAX_LINE_GROUPS + 2))
    assert refused(put(alice_api, line.pk, {"group_ids": ids})) == {
        "group_ids": [line_services.TOO_MANY_GROUPS_MESSAGE.format(limit=line_services.MAX_LINE_GROUPS)]
    }


def test_server_owned_fields_of_the_reference_cannot_be_written(alice_api, line):  # SPEC A4
    body = put(alice_api, line.pk, {"recorded": True, "transcription": True, "external": True, "location": "FR",
                                    "line_type": "digital", "categorised_greetings": {"1": 5}}).json()["phone_number"]
    assert (body["recorded"], body["transcription"], body["external"]) == (False, False, False)
    assert (body["location"], body["line_type"]) == ("US", "phone")


def test_agents_read_a_lines_groups_but_cannot_change_them(bob_api, alice_api, line, billing):  # SPEC T4, R14
    put(alice_api, line.pk, {"group_ids": [billing.pk]})
    assert bob_api.get(detail(line.pk)).json()["phone_number"]["group_ids"] == [billing.pk]
    assert put(bob_api, line.pk, {"group_ids": []}).status_code == 403
    assert routing_of(line) == (None, {billing.pk})


def test_globex_can_neither_see_nor_set_acmes_lines_groups(charlie_api, alice_api, line, globex, billing):  # SPEC T3
    put(alice_api, line.pk, {"group_ids": [billing.pk]})
    tokyo = make_group(globex, "Tokyo desk")
    assert_isolated(charlie_api, detail(line.pk), detail(missing_id()), method="put",
                    data={"phone_number": {"group_ids": [tokyo.pk]}})
    assert charlie_api.get(LIST).json()["phone_numbers"] == []
    assert routing_of(line) == (None, {billing.pk})


def test_the_list_reads_groups_without_a_query_per_line(alice_api, acme, billing, sales):  # SPEC A1
    make_line(acme, "One", number="+14155550111", groups=[billing.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_api.get(LIST).status_code == 200
        return len(captured.captured_queries)

    one = queries()
    make_line(acme, "Two", number="+14155550112", groups=[sales.pk], default_group=billing.pk)
    make_line(acme, "Three", number="+14155550113", groups=[billing.pk, sales.pk])
    assert queries() == one
    listed = {p["nickname"]: p["group_ids"] for p in alice_api.get(LIST).json()["phone_numbers"]}
    assert listed == {"One": [billing.pk], "Two": sorted([billing.pk, sales.pk]),
                      "Three": sorted([billing.pk, sales.pk])}
