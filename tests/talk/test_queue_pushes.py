"""The router's "queue.changed" pushes, coalesced per account (issue 11, item 4)."""
from __future__ import annotations

import pytest

from talk import router


@pytest.fixture
def sent(monkeypatch):
    frames: list[tuple[str, str]] = []
    monkeypatch.setattr(router, "push_now", lambda group, kind, payload: frames.append((group, kind)))
    return frames


def test_the_first_push_goes_at_once_then_at_most_one_per_interval(sent):
    pushes = router.QueuePushes(interval=0.5)
    pushes.want(1)
    pushes.flush(now=10.0)
    assert len(sent) == 1 and pushes.next_at() is None
    for t in (10.1, 10.2, 10.3):  # passes in a burst
        pushes.want(1)
        pushes.flush(now=t)
    assert len(sent) == 1 and pushes.next_at() == 10.5  # one more is owed, not three
    pushes.flush(now=10.5)
    assert len(sent) == 2 and pushes.next_at() is None  # the last pass's state is pushed


def test_accounts_are_coalesced_apart(sent):
    pushes = router.QueuePushes(interval=0.5)
    for account_id in (1, 2):
        pushes.want(account_id)
    pushes.flush(now=1.0)
    pushes.want(1)
    pushes.flush(now=1.1)
    assert sorted(group for group, _kind in sent) == sorted({group for group, _kind in sent})
    assert len(sent) == 2 and pushes.next_at() == 1.5


def test_a_channel_layer_down_loses_the_frame_not_the_router(monkeypatch, caplog):
    def down(group, kind, payload):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(router, "push_now", down)
    pushes = router.QueuePushes(interval=0.5)
    pushes.want(1)
    pushes.flush(now=1.0)
    assert pushes.next_at() is None and "queue.changed" in caplog.text
