from __future__ import annotations

from tests.isolation import assert_isolated, missing_id


def test_a_member_reads_another_member(alice_api, bob):
    response = alice_api.get(f"/api/v2/users/{bob.pk}.json")
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "agent"


def test_me_has_the_zendesk_shape(alice_api, alice):
    user = alice_api.get("/api/v2/users/me.json").json()["user"]
    assert set(user) >= {"id", "url", "name", "email", "role", "active", "time_zone", "locale"}
    assert user["url"].endswith(f"/api/v2/users/{alice.pk}.json")
    assert user["time_zone"] == "America/New_York"


def test_globex_cannot_read_an_acme_user(charlie_api, alice):  # SPEC T3
    assert_isolated(charlie_api, f"/api/v2/users/{alice.pk}.json", f"/api/v2/users/{missing_id()}.json")


def test_the_api_schema_and_docs_are_served_without_external_assets(client, db):  # SPEC A2
    schema = client.get("/api/schema/", HTTP_HOST="localhost")
    assert schema.status_code == 200 and b"/api/v2/users/me.json" in schema.content
    docs = client.get("/api/docs/", HTTP_HOST="localhost")
    assert docs.status_code == 200
    assert b"//cdn" not in docs.content and b"unpkg" not in docs.content and b"jsdelivr" not in docs.content
