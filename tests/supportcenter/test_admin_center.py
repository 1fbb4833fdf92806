from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/admin-center/", "/admin-center/members/", "/admin-center/api-tokens/"])
def test_admin_center_pages_are_for_admins_only(alice_client, bob_client, path):  # SPEC T4
    assert alice_client.get(path).status_code == 200
    assert bob_client.get(path).status_code == 403


def test_team_members_lists_only_the_own_account(alice_client, bob, charlie_client):  # SPEC T3
    acme_page = alice_client.get("/admin-center/members/").content
    assert b"bob@acme.test" in acme_page and b"charlie@globex.test" not in acme_page
    globex_page = charlie_client.get("/admin-center/members/").content
    assert b"charlie@globex.test" in globex_page
    assert b"alice@acme.test" not in globex_page and b"bob@acme.test" not in globex_page
