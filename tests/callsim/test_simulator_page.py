"""The demo's simulator page and its runner (SPEC O1)."""
from __future__ import annotations

import pytest
from django_scopes import scope

from callsim import runner
from callsim.models import SimulatorCall
from talk.models import AgentPresence
from tests.isolation import assert_isolated, missing_id
from tests.talk.calls_support import ClientTransport, requests_of


def test_the_page_lists_the_lines_and_sets_my_status(bob_client, main_line, acme, bob):  # SPEC O1, R1
    page = bob_client.get("/talk/simulator/")
    assert page.status_code == 200 and b"Main line" in page.content and b"0 agents online" in page.content
    bob_client.post("/talk/simulator/my-status/", {"status": "online"})
    with scope(account=acme):
        assert AgentPresence.objects.get(user=bob).status == "online"
    assert b"1 agent online" in bob_client.get("/talk/simulator/").content
    response = bob_client.post("/talk/simulator/my-status/", {"status": "asleep"}, follow=True)
    assert b"Choose online, away" in response.content


def test_the_runner_places_a_call_and_keeps_the_secret_out_of_the_row(main_line, acme, bob):  # SPEC O1
    transport = ClientTransport()
    base = f"http://localhost/talk/webhooks/{main_line.webhook_token}"
    with scope(account=acme):
        AgentPresence.objects.create(account=acme, user=bob, status="online")
        row = runner.simulator_call_place(
            account=acme, line=main_line, from_="+14155550111", user=bob,
            urls={"voice_url": f"{base}/voice/", "status_callback_url": f"{base}/status/"}, transport=transport,
        )
        row.refresh_from_db()
        assert row.state["status"] == "in-progress" and not row.busy and "auth_token" not in row.state
        for keys in ("2", "1", "1"):
            runner.simulator_call_act(account=acme, row=row, action="press", keys=keys, transport=transport)
            row.refresh_from_db()
        assert row.state["status"] == "completed" and row.error == ""
    assert len(requests_of(acme)) == 1


def test_the_simulator_walks_the_menu_of_a_waiting_callback(main_line, acme, bob):  # SPEC O1, C13
    from talk import greetings_catalog as catalog
    from talk.services.callback_requests import callback_request_create

    transport = ClientTransport()
    base = f"http://localhost/talk/webhooks/{main_line.webhook_token}"
    with scope(account=acme):
        AgentPresence.objects.create(account=acme, user=bob, status="online")
        request = callback_request_create(line=main_line, number="+14155550111")
        row = runner.simulator_call_place(
            account=acme, line=main_line, from_="+14155550111", user=bob,
            urls={"voice_url": f"{base}/voice/", "status_callback_url": f"{base}/status/"}, transport=transport,
        )
        row.refresh_from_db()
        heard = [entry["text"] for entry in row.state["transcript"] if entry["kind"] == "say"]
        assert heard == [catalog.PENDING_TEXTS[catalog.PENDING_MENU]["en"]]
        runner.simulator_call_act(account=acme, row=row, action="press", keys="2", transport=transport)
        row.refresh_from_db()
        heard = [entry["text"] for entry in row.state["transcript"] if entry["kind"] == "say"]
        assert heard[-1] == catalog.PENDING_TEXTS[catalog.PENDING_CANCELLED]["en"]
        assert row.state["status"] == "completed" and row.error == ""
        request.refresh_from_db()
        assert request.state == "cancelled" and request.cancelled_by == "caller"


@pytest.mark.parametrize(
    "data, message",
    [({"action": "press", "keys": "12a"}, "Keys are digits"), ({"action": "dance"}, "Unknown action")],
)
def test_bad_actions_are_refused(bob_client, main_line, acme, bob, data, message):
    with scope(account=acme):
        row = SimulatorCall.objects.create(account=acme, line=main_line, placed_by=bob, state={"status": "in-progress"})
    response = bob_client.post(f"/talk/simulator/{row.pk}/act/", data)
    assert response.status_code == 422 and message in response.json()["error"]


def test_an_ended_or_busy_call_refuses_actions(bob_client, main_line, acme, bob):
    with scope(account=acme):
        ended = SimulatorCall.objects.create(account=acme, line=main_line, state={"status": "completed"})
        busy = SimulatorCall.objects.create(account=acme, line=main_line, busy=True, state={"status": "in-progress"})
    assert bob_client.post(f"/talk/simulator/{ended.pk}/act/", {"action": "hangup"}).json()["error"] == runner.ENDED_MESSAGE
    assert bob_client.post(f"/talk/simulator/{busy.pk}/act/", {"action": "hangup"}).status_code == 409


def test_dialing_needs_a_line_and_a_caller(bob_client, main_line):
    assert bob_client.post("/talk/simulator/dial/", {"line": "", "from": "+1"}).status_code == 422
    response = bob_client.post("/talk/simulator/dial/", {"line": main_line.pk, "from": " "})
    assert response.status_code == 422 and response.json()["field"] == "from"


def test_globex_cannot_see_or_drive_acme_simulated_calls(charlie_client, main_line, acme):  # SPEC T3
    with scope(account=acme):
        row = SimulatorCall.objects.create(account=acme, line=main_line, state={"status": "in-progress"})
    assert_isolated(charlie_client, f"/talk/simulator/{row.pk}.json", f"/talk/simulator/{missing_id()}.json")
    assert_isolated(charlie_client, f"/talk/simulator/{row.pk}/act/", f"/talk/simulator/{missing_id()}/act/",
                    method="post")
    response = charlie_client.post("/talk/simulator/dial/", {"line": main_line.pk, "from": "+14155550111"})
    assert response.status_code == 422
    with scope(account=acme):
        assert SimulatorCall.objects.count() == 1
