"""Greetings: system defaults in several languages plus the account's own (SPEC L6, T3, T4)."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils.html import escape
from django_scopes import scope

from supportcenter.errors import ServiceError
from talk import greetings_catalog, selectors, services
from talk.models import Greeting
from talk.services import greetings as greeting_services
from tests.conftest import make_account
from tests.isolation import assert_isolated, missing_id
from tests.talk.factories import make_greeting, make_line

LIST = "/api/v2/channels/voice/greetings.json"


def detail(pk: int) -> str:
    return f"/api/v2/channels/voice/greetings/{pk}.json"


def body(**fields) -> dict:
    return {"data": json.dumps({"greeting": fields}), "content_type": "application/json"}


def system(account, category: str, language: str = "en") -> Greeting:
    with scope(account=account):
        return Greeting.objects.get(account=account, system_key=greetings_catalog.system_key(category, language))


def test_a_new_account_has_the_system_greetings_in_five_languages(acme):  # SPEC L6
    with scope(account=acme):
        greetings = Greeting.objects.filter(account=acme, is_system=True)
        assert greetings.count() == len(greetings_catalog.CATEGORIES) * 5
        assert set(greetings.values_list("language", flat=True)) == {"en", "ja", "de", "fr", "es"}
        assert set(greetings.values_list("category", flat=True)) == set(Greeting.Category.values)
    assert "{key}" in system(acme, "callback").text
    assert "1" in system(acme, "callback_confirmation", "ja").text
    for category in Greeting.Category.values:
        for language in ("en", "ja", "de", "fr", "es"):
            assert greetings_catalog.TEXTS[category][language].strip()


def test_system_greetings_sync_is_idempotent_and_repairs_changed_rows(acme):  # SPEC L6
    with scope(account=acme):
        assert services.system_greetings_sync(account=acme) == 0
        Greeting.objects.filter(account=acme, system_key="hold:de").update(text="tampered")
        Greeting.objects.filter(account=acme, system_key="hold:fr").delete()
        assert services.system_greetings_sync(account=acme) == 2
        assert services.system_greetings_sync(account=acme) == 0
    assert system(acme, "hold", "de").text == greetings_catalog.TEXTS["hold"]["de"]


def test_prompt_greeting_falls_back_to_english(acme):  # SPEC L3
    with scope(account=acme):
        assert selectors.prompt_greeting(account=acme, category="number_entry", language="pt").language == "en"
        assert selectors.prompt_greeting(account=acme, category="number_entry", language="de").language == "de"


def test_an_admin_creates_text_and_audio_greetings(acme, alice):  # SPEC L6
    tts = make_greeting(acme, language="ja", voice="Polly.Takumi", text="{key}を押してください。")
    assert (tts.kind, tts.effective_voice, tts.is_system) == ("tts", "Polly.Takumi", False)
    audio = make_greeting(acme, "Jingle", Greeting.Category.HOLD, text="", audio_url="https://cdn.example.com/hold.mp3")
    assert audio.kind == "audio"
    assert make_greeting(acme, "Plain", language="de").effective_voice == "Polly.Marlene"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": " "}, "name", greeting_services.GREETING_NAME_REQUIRED_MESSAGE),
        ({"category": "music"}, "category", greeting_services.GREETING_CATEGORY_INVALID_MESSAGE),
        ({"language": "pt"}, "language", greeting_services.GREETING_LANGUAGE_MESSAGE),
        ({"language": "en", "voice": "Polly.Mizuki"}, "voice", greeting_services.GREETING_VOICE_MESSAGE),
        ({"text": ""}, "text", greeting_services.GREETING_CONTENT_REQUIRED_MESSAGE),
        ({"text": "Hi", "audio_url": "https://cdn.example.com/a.mp3"}, "audio_url",
         greeting_services.GREETING_CONTENT_BOTH_MESSAGE),
        ({"text": "", "audio_url": "http://cdn.example.com/a.mp3"}, "audio_url",
         greeting_services.GREETING_AUDIO_URL_MESSAGE),
        ({"text": "", "audio_url": "javascript:alert(1)"}, "audio_url", greeting_services.GREETING_AUDIO_URL_MESSAGE),
        ({"text": "x" * 4001}, "text", greeting_services.GREETING_TEXT_TOO_LONG_MESSAGE),
    ],
)
def test_it_refuses_bad_greetings(acme, fields, field, message):  # SPEC L6
    fields = {"name": "G", "category": "callback", "text": "Press {key}.", **fields}
    with scope(account=acme), pytest.raises(ServiceError) as caught:
        services.greeting_create(account=acme, actor=None, **fields)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_system_greetings_are_read_only(acme):  # SPEC L6
    default = system(acme, "callback")
    with scope(account=acme):
        with pytest.raises(ServiceError) as caught:
            services.greeting_update(account=acme, greeting=default, actor=None, text="Mine now")
        assert caught.value.message == greeting_services.GREETING_SYSTEM_READ_ONLY_MESSAGE
        with pytest.raises(ServiceError) as caught:
            services.greeting_delete(account=acme, greeting=default, actor=None)
        assert caught.value.message == greeting_services.GREETING_SYSTEM_READ_ONLY_MESSAGE
    assert system(acme, "callback").text == default.text


def test_a_greeting_in_use_cannot_be_deleted_or_change_category(acme):  # SPEC L2, L6
    offer = make_greeting(acme)
    make_line(acme, "Main line", callback_greeting=offer.pk)
    with scope(account=acme):
        with pytest.raises(ServiceError) as caught:
            services.greeting_delete(account=acme, greeting=offer, actor=None)
        assert caught.value.message == greeting_services.GREETING_IN_USE_MESSAGE.format(line="Main line")
        with pytest.raises(ServiceError) as caught:
            services.greeting_update(account=acme, greeting=offer, actor=None, category="welcome")
        assert caught.value.field == "category"
        renamed = services.greeting_update(account=acme, greeting=offer, actor=None, name="Renamed")
        assert renamed.name == "Renamed"


# --- API ------------------------------------------------------------------------------
def test_the_api_lists_system_and_own_greetings_by_category(alice_api, acme):  # SPEC L6, A1
    own = make_greeting(acme, "Ours")
    make_line(acme, callback_greeting=own.pk)
    answer = alice_api.get(LIST + "?category=callback").json()
    assert answer["count"] == 6
    ours = next(g for g in answer["greetings"] if g["id"] == own.pk)
    assert ours["default"] is False and ours["category"] == "callback" and ours["phone_number_ids"]
    assert {g["language"] for g in answer["greetings"] if g["default"]} == {"en", "ja", "de", "fr", "es"}
    everything = alice_api.get(LIST + "?per_page=100").json()
    assert everything["count"] == len(greetings_catalog.CATEGORIES) * 5 + 1


def test_the_api_creates_changes_and_deletes_own_greetings(alice_api, acme):  # SPEC L6, A1
    created = alice_api.post(LIST, **body(name="Offer", category="callback", language="fr", text="Appuyez sur {key}."))
    assert created.status_code == 201, created.content
    greeting = created.json()["greeting"]
    assert (greeting["name"], greeting["language"], greeting["effective_voice"], greeting["default"]) == (
        "Offer", "fr", "Polly.Celine", False
    )
    changed = alice_api.put(detail(greeting["id"]), **body(voice="Polly.Mathieu"))
    assert changed.status_code == 200 and changed.json()["greeting"]["voice"] == "Polly.Mathieu"
    assert alice_api.get(detail(greeting["id"])).json()["greeting"]["text"] == "Appuyez sur {key}."
    assert alice_api.delete(detail(greeting["id"])).status_code == 204
    assert alice_api.get(detail(greeting["id"])).status_code == 404


def test_the_api_refuses_with_422_and_the_message(alice_api, acme):  # SPEC L6
    refused = alice_api.post(LIST, **body(name="Offer", category="callback", language="pt", text="Olá"))
    assert refused.status_code == 422
    assert refused.json()["details"] == {
        "language": [{"description": greeting_services.GREETING_LANGUAGE_MESSAGE, "error": "invalid_choice"}]
    }
    default = system(acme, "callback")
    for response in (alice_api.put(detail(default.pk), **body(text="Mine")), alice_api.delete(detail(default.pk))):
        assert (response.status_code, response.json()["error"]) == (403, "Forbidden")  # the record's rule, not the values
        assert response.json()["details"]["base"][0]["description"] == greeting_services.GREETING_SYSTEM_READ_ONLY_MESSAGE
    offer = make_greeting(acme)
    make_line(acme, callback_greeting=offer.pk)
    in_use = alice_api.delete(detail(offer.pk))
    assert (in_use.status_code, in_use.json()["error"]) == (409, "Conflict")
    assert in_use.json()["details"]["base"][0]["description"] == greeting_services.GREETING_IN_USE_MESSAGE.format(
        line="Main line"
    )
    malformed = alice_api.post(LIST, data=json.dumps({"name": "no envelope"}), content_type="application/json")
    assert malformed.status_code == 400


def test_agents_read_greetings_but_cannot_write_them(bob_api, acme):  # SPEC T4
    own = make_greeting(acme)
    assert bob_api.get(LIST).status_code == 200
    assert bob_api.get(detail(own.pk)).status_code == 200
    assert bob_api.post(LIST, **body(name="X", category="hold", text="Hi")).status_code == 403
    assert bob_api.put(detail(own.pk), **body(name="Taken")).status_code == 403
    assert bob_api.delete(detail(own.pk)).status_code == 403
    with scope(account=acme):
        assert Greeting.objects.get(account=acme, pk=own.pk).name == own.name


@pytest.mark.parametrize(
    ("method", "data"), [("get", None), ("put", {"greeting": {"name": "Mine"}}), ("delete", None)]
)
def test_every_greeting_route_answers_globex_as_missing(charlie_api, acme, method, data):  # SPEC T3
    own = make_greeting(acme)
    assert_isolated(charlie_api, detail(own.pk), detail(missing_id()), method=method, data=data)
    default = system(acme, "callback")  # acme's copy of a system greeting is acme's too
    assert_isolated(charlie_api, detail(default.pk), detail(missing_id()), method=method, data=data)
    with scope(account=acme):
        assert Greeting.objects.get(account=acme, pk=own.pk).name == own.name


def test_globex_lists_none_of_acmes_greetings(charlie_api, acme, globex):  # SPEC T3
    own = make_greeting(acme, "Acme only")
    listed = charlie_api.get(LIST + "?per_page=100").json()
    assert own.pk not in {g["id"] for g in listed["greetings"]}
    with scope(account=acme):
        acme_ids = set(Greeting.objects.filter(account=acme).values_list("pk", flat=True))
    assert not acme_ids & {g["id"] for g in listed["greetings"]}


# --- Pages ----------------------------------------------------------------------------
def test_alice_manages_greetings_on_pages(alice_client, acme):  # SPEC L6
    assert "Default callback message (Japanese)" in alice_client.get(reverse("talk:greetings")).content.decode()
    response = alice_client.post(
        reverse("talk:greeting_new"),
        {"name": "Evening offer", "category": "callback", "language": "en", "voice": "", "text": "Press {key}.",
         "audio_url": ""},
    )
    assert response.status_code == 302
    with scope(account=acme):
        own = Greeting.objects.get(account=acme, name="Evening offer")
    page = alice_client.get(reverse("talk:greeting_detail", args=[own.pk])).content.decode()
    assert "Delete greeting" in page
    response = alice_client.post(
        reverse("talk:greeting_detail", args=[own.pk]),
        {"name": "Evening offer", "category": "callback", "language": "de", "voice": "Polly.Hans",
         "text": "Drücken Sie {key}.", "audio_url": ""},
    )
    assert response.status_code == 302
    refused = alice_client.post(
        reverse("talk:greeting_detail", args=[own.pk]),
        {"name": "Evening offer", "category": "callback", "language": "de", "voice": "Polly.Joanna",
         "text": "Drücken Sie {key}.", "audio_url": ""},
    )
    assert refused.status_code == 400
    assert escape(greeting_services.GREETING_VOICE_MESSAGE) in refused.content.decode()
    assert alice_client.post(reverse("talk:greeting_delete", args=[own.pk])).status_code == 302
    with scope(account=acme):
        assert not Greeting.objects.filter(account=acme, pk=own.pk).exists()


def test_a_system_greeting_page_is_read_only(alice_client, acme):  # SPEC L6
    default = system(acme, "welcome")
    page = alice_client.get(reverse("talk:greeting_detail", args=[default.pk])).content.decode()
    assert "cannot be changed" in page and "Delete greeting" not in page and "disabled" in page
    alice_client.post(reverse("talk:greeting_detail", args=[default.pk]), {"name": "Mine", "text": "Mine"})
    assert system(acme, "welcome").name == default.name
    response = alice_client.post(reverse("talk:greeting_delete", args=[default.pk]), follow=True)
    assert greeting_services.GREETING_SYSTEM_READ_ONLY_MESSAGE in response.content.decode()


def test_an_account_created_later_gets_its_own_system_greetings(db):  # SPEC L6, T2
    initech = make_account("initech")
    with scope(account=initech):
        assert Greeting.objects.filter(account=initech, is_system=True).count() == len(greetings_catalog.CATEGORIES) * 5
