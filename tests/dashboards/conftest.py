"""A day of Talk history at acme (America/New_York, EDT = UTC-4 on 2026-06-10),
with every figure computed by hand in the tests that read it."""
from __future__ import annotations

import pytest

from talk.models import AgentPresence, Call, CallbackRequest, Offer, QueueEntry
from tests.dashboards.history import History, utc
from tests.talk.calls_support import bob_online, main_line, make_line  # noqa: F401  (fixtures)

# 15:00 local on 2026-06-10; local midnight is 04:00Z.
NOW = utc(2026, 6, 10, 19, 0, 0)


@pytest.fixture
def lines(acme):
    return make_line(acme), make_line(acme, name="Sales", number="+14155550177")


@pytest.fixture
def day(acme, lines, bob, dave):
    """Everything in UTC; local time is 4 hours earlier."""
    main, sales = lines
    h = History(acme, main)
    h.presence(bob, AgentPresence.Status.ONLINE)
    h.presence(dave, AgentPresence.Status.AWAY)
    A, CB, AB = Call.Outcome.ANSWERED, Call.Outcome.CALLBACK_REQUESTED, Call.Outcome.ABANDONED
    rows = {}
    # Yesterday 23:50 local: not today.
    rows["yesterday"] = h.call(utc(2026, 6, 10, 3, 50), outcome=A, duration=500, answered_by=bob, answer_after=5,
                               queued=utc(2026, 6, 10, 3, 50, 5), left=utc(2026, 6, 10, 3, 50, 10))
    # Exactly local midnight: today. Waited 20 s, answered after 30 s, talked 120 s.
    rows["midnight"] = h.call(utc(2026, 6, 10, 4, 0), outcome=A, duration=120, answered_by=bob, answer_after=30,
                              queued=utc(2026, 6, 10, 4, 0, 10), left=utc(2026, 6, 10, 4, 0, 30))
    # Abandoned after 120 s in the queue.
    rows["abandoned"] = h.call(utc(2026, 6, 10, 13, 0), outcome=AB, queued=utc(2026, 6, 10, 13, 0, 5),
                               left=utc(2026, 6, 10, 13, 2, 5), entry_state=QueueEntry.State.ABANDONED)
    # Callback: queued 14:00:10, requested 14:01:10, agent started 14:10:10 (D3: 600 s),
    # first attempt 14:10:20 (550 s after the request), answered, 300 s talk.
    cb_call = h.call(utc(2026, 6, 10, 14, 0), outcome=CB, queued=utc(2026, 6, 10, 14, 0, 10),
                     left=utc(2026, 6, 10, 14, 10, 10))
    rows["callback_answered"] = h.callback(
        cb_call, requested=utc(2026, 6, 10, 14, 1, 10), state=CallbackRequest.State.COMPLETED,
        outcome=CallbackRequest.Outcome.ANSWERED, started=utc(2026, 6, 10, 14, 10, 10),
        first_attempt=utc(2026, 6, 10, 14, 10, 20), in_order=True,
    )
    h.attempt(rows["callback_answered"], started=utc(2026, 6, 10, 14, 10, 20), agent=bob, duration=300)
    # Captured (unconfirmed, C8): queued 14:04:10, requested 14:04:40, started 14:30:10 (D3: 1560 s),
    # first attempt 14:30:30 (1550 s), no answer, served out of order.
    cap_call = h.call(utc(2026, 6, 10, 14, 4), outcome=Call.Outcome.CALLBACK_CAPTURED,
                      queued=utc(2026, 6, 10, 14, 4, 10), left=utc(2026, 6, 10, 14, 30, 10))
    rows["callback_no_answer"] = h.callback(
        cap_call, requested=utc(2026, 6, 10, 14, 4, 40), state=CallbackRequest.State.FAILED,
        outcome=CallbackRequest.Outcome.NO_ANSWER, started=utc(2026, 6, 10, 14, 30, 10),
        first_attempt=utc(2026, 6, 10, 14, 30, 30), confirmed=False, in_order=False,
    )
    h.attempt(rows["callback_no_answer"], started=utc(2026, 6, 10, 14, 30, 30), agent=dave, duration=None,
              status="no_answer")
    # Abandoned after 60 s, 14:05:00-14:06:00: three callers waited at once then.
    rows["abandoned_2"] = h.call(utc(2026, 6, 10, 14, 4, 50), outcome=AB, queued=utc(2026, 6, 10, 14, 5),
                                 left=utc(2026, 6, 10, 14, 6), entry_state=QueueEntry.State.ABANDONED)
    # An outbound call of 60 s.
    rows["outbound"] = h.call(utc(2026, 6, 10, 16, 0), direction=Call.Direction.OUTBOUND, outcome=A, duration=60)
    # On the Sales line: answered by dave after 10 s, 30 s talk, no queue.
    rows["sales"] = h.call(utc(2026, 6, 10, 16, 0), outcome=A, duration=30, answered_by=dave, answer_after=10,
                           line=sales)
    # Waiting now: a callback since 18:30:10 (1790 s at NOW) and a live call since 18:55 (300 s).
    pending_call = h.call(utc(2026, 6, 10, 18, 30), outcome=CB, queued=utc(2026, 6, 10, 18, 30, 10))
    rows["callback_pending"] = h.callback(pending_call, requested=utc(2026, 6, 10, 18, 31),
                                          state=CallbackRequest.State.PENDING)
    rows["waiting"] = h.call(utc(2026, 6, 10, 18, 54, 50), queued=utc(2026, 6, 10, 18, 55))
    # Offers answered today: bob accepted 2 (a live call, a callback), declined 1, missed 1; dave declined 1.
    h.offer(rows["midnight"].entry, agent=bob, state=Offer.State.ACCEPTED, at=utc(2026, 6, 10, 4, 0, 20))
    h.offer(cb_call.entry, agent=bob, state=Offer.State.ACCEPTED, at=utc(2026, 6, 10, 14, 10), kind="callback")
    h.offer(cap_call.entry, agent=bob, state=Offer.State.DECLINED, at=utc(2026, 6, 10, 14, 20), kind="callback")
    h.offer(cap_call.entry, agent=dave, state=Offer.State.DECLINED, at=utc(2026, 6, 10, 14, 21), kind="callback")
    h.offer(rows["abandoned"].entry, agent=bob, state=Offer.State.TIMED_OUT, at=utc(2026, 6, 10, 13, 1))
    # Yesterday's offer: not today.
    h.offer(rows["yesterday"].entry, agent=bob, state=Offer.State.ACCEPTED, at=utc(2026, 6, 10, 3, 50, 6))
    rows["h"] = h
    return rows
