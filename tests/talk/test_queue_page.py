"""The supervisors' live queue page and its actions (SPEC S1, S2, R15, R16, T3, T4)."""
from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from supportcenter import services as core_services
from supportcenter.models import AuditEntry, Membership
from talk import routing
from talk import services as talk_services
from talk.models import AgentPresence, Call, CallbackRequest, Offer, QueueEntry
from talk.selectors.supervision import DUE, LATER, QUEUED, supervision_queue
from talk.services import supervision
from talk.services.offers import offer_accept
from talk.supervision_views import (
    ASSIGNEE_MISSING_MESSAGE,
    MOVE_NOTHING_MESSAGE,
    REASON_REQUIRED_MESSAGE,
    SCHEDULED_MALFORMED_MESSAGE,
    SUPERVISORS_ONLY_MESSAGE,
)
from tests.conftest import page_client
from tests.isolation import _body, missing_id
from tests.talk.calls_support import make_line, set_presence
from tests.tickets.helpers import comments_of

pytestmark = pytest.mark.django_db

QUEUE = "/talk/queue/"
ROWS = "/talk/queue/rows.json"


# --- Building a queue ------------------------------------------------------------------
def live_caller(account, line, number: str, entered_at: datetime, *, stage: str = Call.Stage.QUEUED) -> QueueEntry:
    with scope(account=account):
        call = Call.objects.create(account=account, line=line, provider_call_sid=f"CA{number}{entered_at.timestamp()}",
                                   from_raw=number, caller_number=number, stage=stage)
        return QueueEntry.objects.create(account=account, line=line, call=call, kind=QueueEntry.Kind.LIVE,
                                         entered_at=entered_at)


def callback(account, line, number: str, entered_at: datetime, **fields) -> CallbackRequest:
    """A pending callback request at ``entered_at`` (written directly: many, fast, at any place)."""
    with scope(account=account):
        entry = QueueEntry.objects.create(account=account, line=line, kind=QueueEntry.Kind.CALLBACK,
                                          entered_at=entered_at)
        fields.setdefault("expires_at", timezone.now() + timedelta(hours=1))
        return CallbackRequest.objects.create(
            account=account, line=line, queue_entry=entry, number=number, number_source=Call.NumberSource.CALLER_ID,
            language="en", requested_at=entered_at, queue_entered_at=entered_at, **fields,
        )


def make_supervisor(account, user, admin) -> None:
    with scope(account=account):
        core_services.membership_set_supervisor(account=account, user_id=user.pk, supervisor=True, actor=admin)


def text(response) -> str:
    return html_lib.unescape(response.content.decode())


def error_of(response) -> str:
    found = re.search(r'id="queue-error">([^<]*)<', text(response))
    return found.group(1) if found else ""


def row_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-entry="(\d+)"', html)]


def reload(account, request: CallbackRequest) -> CallbackRequest:
    with scope(account=account):
        return CallbackRequest.objects.select_related("queue_entry").get(pk=request.pk)


@pytest.fixture
def line(acme):
    return make_line(acme)


@pytest.fixture
def other_line(acme):
    return make_line(acme, "Sales line", number="+14155550199")


# --- Who sees it ---------------------------------------------------------------------------
def test_it_shows_the_queue_to_admins_and_supervisors_only(client, acme, alice, bob, alice_client, bob_client):
    # SPEC S1, T4
    anonymous = page_client(acme)
    assert anonymous.get(QUEUE)["Location"].startswith("/login/?next=/talk/queue/")
    assert anonymous.get(ROWS, HTTP_ACCEPT="application/json").status_code == 401  # a script's request
    refused = bob_client.get(QUEUE)
    assert refused.status_code == 403 and SUPERVISORS_ONLY_MESSAGE in text(refused)
    assert bob_client.get(ROWS).status_code == 403
    assert "Queue</a>" not in text(bob_client.get("/"))

    assert alice_client.get(QUEUE).status_code == 200
    assert 'href="/talk/queue/">Queue</a>' in text(alice_client.get("/"))
    make_supervisor(acme, bob, alice)
    assert bob_client.get(QUEUE).status_code == 200
    assert 'href="/talk/queue/">Queue</a>' in text(bob_client.get("/"))


def test_it_lists_every_waiting_entry_with_its_facts(acme, alice, bob, dave, alice_client, line):  # SPEC S1
    now = timezone.now()
    live = live_caller(acme, line, "+14155550123", now - timedelta(minutes=4, seconds=5))
    menu = live_caller(acme, line, "+14155550124", now - timedelta(minutes=3), stage=Call.Stage.MENU)
    captured = callback(acme, line, "+14155550125", now - timedelta(minutes=2), confirmed=False, assignee=dave,
                        assigned_at=now)
    later = callback(acme, line, "+14155550126", now - timedelta(minutes=1), scheduled_for=now + timedelta(hours=2))
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        Offer.objects.create(account=acme, entry=live, agent=bob, kind="live", expires_at=now + timedelta(seconds=20))
        ended = live_caller(acme, line, "+14155550127", now)
        Call.objects.filter(pk=ended.call_id).update(ended_at=now)  # left: not waiting (C15)

    html = text(alice_client.get(QUEUE))
    assert row_ids(html) == [live.pk, menu.pk, captured.queue_entry_id, later.queue_entry_id]
    assert "+1 415-555-0123" in html  # formatted for reading
    assert "4 min 0" in html  # waited since the original entry
    assert "Offered to Bob Agent for " in html
    assert "Choosing a callback" in html
    assert "Captured" in html and "Dave Agent" in html
    local = later.scheduled_for.astimezone(ZoneInfo("America/New_York"))
    assert f"Scheduled for <time datetime=\"{local.isoformat()}\"" in html  # the account's zone
    assert "Times in America/New_York" in html
    assert "Recorded name" in html


def test_it_orders_due_scheduled_callbacks_first_then_the_queue_then_later_ones(acme, alice, bob, line):
    # SPEC R16, S1: the page's order is the routing order
    now = timezone.now()
    oldest = live_caller(acme, line, "+14155550130", now - timedelta(minutes=10))
    waiting = callback(acme, line, "+14155550131", now - timedelta(minutes=8))
    due_late = callback(acme, line, "+14155550132", now - timedelta(minutes=2), scheduled_for=now - timedelta(seconds=30))
    due_early = callback(acme, line, "+14155550133", now - timedelta(minutes=1), scheduled_for=now - timedelta(minutes=1))
    far = callback(acme, line, "+14155550134", now - timedelta(minutes=20), scheduled_for=now + timedelta(days=2))
    near = callback(acme, line, "+14155550135", now - timedelta(minutes=5), scheduled_for=now + timedelta(hours=1))
    with scope(account=acme):
        parts = [(e.pk, e.queue_part) for e in supervision_queue(account=acme, now=now)]
    assert parts == [
        (due_early.queue_entry_id, DUE), (due_late.queue_entry_id, DUE),
        (oldest.pk, QUEUED), (waiting.queue_entry_id, QUEUED),
        (near.queue_entry_id, LATER), (far.queue_entry_id, LATER),
    ]
    html = text(page_client(acme, alice).get(QUEUE))
    assert row_ids(html) == [pk for pk, _part in parts]
    assert html.index("Due now: promised times") < html.index("In the queue") < html.index("Scheduled for later")

    # Routing offers in the same order: one free agent gets the first row (H7's pass).
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        made = routing.route_account(acme)
    assert [offer.entry_id for offer in made] == [due_early.queue_entry_id]


def test_it_filters_by_line_and_group(acme, alice, alice_client, line, other_line):  # SPEC S1, R14
    now = timezone.now()
    with scope(account=acme):
        group = core_services.group_create(account=acme, actor=alice, name="Billing")
    on_line = callback(acme, line, "+14155550140", now - timedelta(minutes=3))
    on_other = callback(acme, other_line, "+14155550141", now - timedelta(minutes=2))
    own_group = callback(acme, line, "+14155550142", now - timedelta(minutes=1))
    with scope(account=acme):
        own_group.groups.set([group])
    assert row_ids(text(alice_client.get(f"{QUEUE}?line={other_line.pk}"))) == [on_other.queue_entry_id]
    assert row_ids(text(alice_client.get(f"{QUEUE}?group={group.pk}"))) == [own_group.queue_entry_id]
    # A line routed to the group brings its callbacks along (those without groups of their own).
    with scope(account=acme):
        talk_services.line_update(account=acme, line=other_line, actor=alice, default_group=group.pk)
    assert row_ids(text(alice_client.get(f"{QUEUE}?group={group.pk}"))) == [
        on_other.queue_entry_id, own_group.queue_entry_id]
    rows = alice_client.get(f"{ROWS}?line={line.pk}").json()
    assert row_ids(rows["html"]) == [on_line.queue_entry_id, own_group.queue_entry_id] and rows["total"] == 2
    bad = alice_client.get(f"{QUEUE}?line=abc")
    assert bad.status_code == 400 and "Choose a line from the list." in text(bad)
    assert alice_client.get(f"{ROWS}?group=-1").status_code == 400


def test_another_accounts_lines_groups_and_callbacks_answer_like_missing_ones(acme, globex, alice, charlie,
                                                                              charlie_client, line):  # SPEC T3
    with scope(account=acme):
        group = core_services.group_create(account=acme, actor=alice, name="Billing")
    request = callback(acme, line, "+14155550150", timezone.now())
    for foreign, missing in (
        (f"{QUEUE}?line={line.pk}", f"{QUEUE}?line={missing_id()}"),
        (f"{QUEUE}?group={group.pk}", f"{QUEUE}?group={missing_id()}"),
        (f"{ROWS}?line={line.pk}", f"{ROWS}?line={missing_id()}"),
        (f"{ROWS}?group={group.pk}", f"{ROWS}?group={missing_id()}"),
    ):
        a, b = charlie_client.get(foreign), charlie_client.get(missing)
        assert (a.status_code, _body(a)) == (b.status_code, _body(b)) and a.status_code == 404
    data = {"reason": "Duplicate", "assignee": "", "scheduled_for": "", "line": str(line.pk), "group": "line"}
    for action in ("cancel", "assign", "reschedule", "move"):
        a = charlie_client.post(f"{QUEUE}callbacks/{request.pk}/{action}/", data)
        b = charlie_client.post(f"{QUEUE}callbacks/{missing_id()}/{action}/", data)
        assert (a.status_code, _body(a)) == (b.status_code, _body(b)) and a.status_code == 404, action
    # Globex's own page shows none of acme's queue.
    assert row_ids(text(charlie_client.get(QUEUE))) == []
    assert reload(acme, request).state == CallbackRequest.State.PENDING


# --- Many entries ----------------------------------------------------------------------------
def test_it_pages_a_long_queue_in_a_fixed_number_of_queries(acme, alice, bob, dave, alice_client, line, other_line):
    # SPEC S1: usable with 1,000 entries; the query count does not grow with the rows
    now = timezone.now()
    with scope(account=acme):
        group = core_services.group_create(account=acme, actor=alice, name="Billing")
    set_presence(acme, bob, AgentPresence.Status.ONLINE)

    def fill(count: int, start: int) -> None:
        for i in range(count):
            at = now - timedelta(seconds=2000 - start - i)
            if i % 3 == 0:
                entry = live_caller(acme, line, f"+1415555{start + i:04d}", at)
            else:
                request = callback(acme, other_line if i % 2 else line, f"+1415556{start + i:04d}", at,
                                   assignee=dave if i % 5 == 0 else None,
                                   scheduled_for=now + timedelta(hours=1) if i % 7 == 0 else None)
                entry = request.queue_entry
                if i % 4 == 0:
                    with scope(account=acme):
                        request.groups.set([group])
            if i == 1 and start == 0:
                with scope(account=acme):
                    Offer.objects.create(account=acme, entry=entry, agent=bob, kind=entry.kind,
                                         expires_at=now + timedelta(seconds=30))

    fill(6, 0)
    alice_client.get(QUEUE)  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        small = alice_client.get(QUEUE)
    fill(150, 100)
    with CaptureQueriesContext(connection) as many:
        big = alice_client.get(QUEUE)
    assert small.status_code == big.status_code == 200
    assert len(row_ids(text(big))) == 100
    assert "Rows 1–100 of 156" in text(big)
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
    # Pinned: account, session, user, membership (4); lines, groups, agents of the forms (3); the
    # counts per part, the page of rows (2); its offers, line groups, own groups, group names,
    # recordings (5); the header's Talk status (1).
    assert len(many) <= 15
    second = text(alice_client.get(f"{QUEUE}?page=2"))
    assert len(row_ids(second)) == 56 and "Page 2 of 2" in second
    with CaptureQueriesContext(connection) as table:
        assert alice_client.get(f"{ROWS}?page=2").status_code == 200
    assert len(table) <= 15


# --- Actions (SPEC S2) -------------------------------------------------------------------------
def action(client, request, name: str, **data):
    return client.post(f"{QUEUE}callbacks/{request.pk}/{name}/", data)


def test_a_supervisor_cancels_a_callback_with_a_reason(acme, alice, bob, bob_client, line):  # SPEC S2, R12
    make_supervisor(acme, bob, alice)
    request = callback(acme, line, "+14155550160", timezone.now() - timedelta(minutes=1))
    refused = action(bob_client, request, "cancel", reason="  ", back=f"line={line.pk}")
    assert refused.status_code == 400 and REASON_REQUIRED_MESSAGE in text(refused)
    assert reload(acme, request).state == CallbackRequest.State.PENDING

    done = action(bob_client, request, "cancel", reason="The customer wrote in instead", back=f"line={line.pk}")
    assert done.status_code == 302 and done["Location"] == f"/talk/queue/?line={line.pk}"
    after = reload(acme, request)
    assert after.state == CallbackRequest.State.CANCELLED and after.cancelled_by == "supervisor"
    assert after.queue_entry.state == QueueEntry.State.CANCELLED
    page = text(bob_client.get(done["Location"]))
    assert "The callback to +1 415-555-0160 is cancelled" in page
    assert request.queue_entry_id not in row_ids(page)
    with scope(account=acme):
        assert AuditEntry.objects.filter(action="callback_request.cancel", actor=bob).count() == 1
    assert any("The customer wrote in instead" in c.body and not c.public for c in comments_of(acme))


def test_a_supervisor_assigns_a_callback_to_an_agent(acme, alice, bob, dave, alice_client, line):  # SPEC S2, R15
    request = callback(acme, line, "+14155550161", timezone.now())
    assert action(alice_client, request, "assign").status_code == 400  # the form always sends the field
    assert ASSIGNEE_MISSING_MESSAGE in text(action(alice_client, request, "assign"))
    done = action(alice_client, request, "assign", assignee=str(dave.pk))
    assert done.status_code == 302
    assert reload(acme, request).assignee_id == dave.pk
    assert "assigned to Dave Agent" in text(alice_client.get(done["Location"]))
    refused = action(alice_client, request, "assign", assignee=str(missing_id()))
    assert refused.status_code == 422 and supervision.ASSIGNEE_UNKNOWN_MESSAGE in text(refused)
    assert action(alice_client, request, "assign", assignee="").status_code == 302
    assert reload(acme, request).assignee_id is None


def test_a_supervisor_reschedules_in_the_accounts_time_zone(acme, alice, alice_client, line):  # SPEC S2, R16
    request = callback(acme, line, "+14155550162", timezone.now())
    zone = ZoneInfo("America/New_York")
    tomorrow = (timezone.now().astimezone(zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                                              microsecond=0)
    done = action(alice_client, request, "reschedule", scheduled_for=tomorrow.strftime("%Y-%m-%dT%H:%M"))
    assert done.status_code == 302
    assert reload(acme, request).scheduled_for == tomorrow  # 10:00 in New York, stored as the same instant
    page = text(alice_client.get(done["Location"]))
    assert "is scheduled for" in page and "(America/New_York)" in page
    assert "Scheduled for later" in page

    malformed = action(alice_client, request, "reschedule", scheduled_for="tomorrow at ten")
    assert malformed.status_code == 400 and SCHEDULED_MALFORMED_MESSAGE in text(malformed)
    past = action(alice_client, request, "reschedule", scheduled_for="2020-01-01T10:00")
    assert past.status_code == 422 and supervision.PAST_TIME_MESSAGE in text(past)
    assert reload(acme, request).scheduled_for == tomorrow  # nothing written
    due = action(alice_client, request, "reschedule", scheduled_for="")
    assert due.status_code == 302 and reload(acme, request).scheduled_for is None


def test_a_supervisor_moves_a_callback_to_another_line_or_group(acme, globex, alice, alice_client, line, other_line):
    # SPEC S2, R14
    request = callback(acme, line, "+14155550163", timezone.now())
    with scope(account=acme):
        group = core_services.group_create(account=acme, actor=alice, name="Billing")
    nothing = action(alice_client, request, "move", line=str(line.pk), group="")
    assert nothing.status_code == 400 and MOVE_NOTHING_MESSAGE in text(nothing)
    done = action(alice_client, request, "move", line=str(other_line.pk), group=str(group.pk))
    assert done.status_code == 302
    after = reload(acme, request)
    with scope(account=acme):
        assert after.line_id == other_line.pk and list(after.groups.values_list("pk", flat=True)) == [group.pk]
        assert after.queue_entry.line_id == other_line.pk
    assert "moved to the line “Sales line” and the group “Billing”" in text(alice_client.get(done["Location"]))
    # Another account's line or group is refused exactly like a missing one (T3), and nothing moves.
    foreign_line = make_line(globex, "Globex line", number="+81355550100")
    with scope(account=globex):
        foreign_group = core_services.group_create(account=globex, actor=None, name="Globex team")
    for data, missing in (({"line": str(foreign_line.pk)}, {"line": str(missing_id())}),
                          ({"group": str(foreign_group.pk)}, {"group": str(missing_id())})):
        a, b = action(alice_client, request, "move", **data), action(alice_client, request, "move", **missing)
        assert a.status_code == b.status_code == 422 and error_of(a) == error_of(b) and error_of(a)
    assert reload(acme, request).line_id == other_line.pk
    back = action(alice_client, request, "move", line=str(other_line.pk), group="line")
    assert back.status_code == 302
    with scope(account=acme):
        assert not reload(acme, request).groups.exists()


def test_an_action_on_a_callback_just_taken_says_so_and_changes_nothing(acme, alice, bob, alice_client, line):
    # SPEC S2: raced against routing, the agent's accept won (409, never a 500)
    request = callback(acme, line, "+14155550164", timezone.now())
    set_presence(acme, bob, AgentPresence.Status.ONLINE)
    with scope(account=acme):
        offer = routing.route_account(acme)[0]
        offer_accept(account=acme, offer_id=offer.pk, agent=bob)
    page = text(alice_client.get(QUEUE))
    assert "In progress by Bob Agent" in page
    for name, data in (("cancel", {"reason": "Too late"}), ("assign", {"assignee": ""}),
                       ("reschedule", {"scheduled_for": ""}), ("move", {"group": "line"})):
        answer = action(alice_client, request, name, **data)
        assert answer.status_code == 409, name
        assert "no longer waiting" in text(answer)
    assert reload(acme, request).state == CallbackRequest.State.IN_PROGRESS


def test_agents_cannot_act_on_callbacks(acme, bob, bob_client, line):  # SPEC S2, T4
    request = callback(acme, line, "+14155550165", timezone.now())
    assert action(bob_client, request, "cancel", reason="No").status_code == 403
    assert reload(acme, request).state == CallbackRequest.State.PENDING
    with scope(account=acme):
        assert not Membership.objects.get(account=acme, user=bob).is_supervisor
