"""Stored webhook answers are kept for a day, then purged by the hourly task (issue 12; SPEC C10)."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_scopes import scopes_disabled

from talk import tasks
from talk.models import WebhookReceipt
from talk.services.housekeeping import RECEIPT_KEEP, webhook_receipts_purge


def _receipt(account, key: str, age: timedelta) -> WebhookReceipt:
    with scopes_disabled():
        receipt = WebhookReceipt.objects.create(account=account, key=key, response="<Response/>")
        WebhookReceipt.objects.filter(pk=receipt.pk).update(created_at=timezone.now() - age)
    return receipt


def _keys() -> set[str]:
    with scopes_disabled():
        return set(WebhookReceipt.objects.values_list("key", flat=True))


def test_answers_older_than_a_day_go_in_every_account_and_newer_ones_stay(acme, globex):  # SPEC C10
    _receipt(acme, "acme-old", RECEIPT_KEEP + timedelta(minutes=1))
    _receipt(globex, "globex-old", timedelta(days=30))
    _receipt(acme, "acme-new", RECEIPT_KEEP - timedelta(minutes=1))
    _receipt(globex, "globex-new", timedelta(seconds=5))
    assert tasks.purge_webhook_receipts() == 2
    assert _keys() == {"acme-new", "globex-new"}
    assert webhook_receipts_purge() == 0  # nothing left to purge: nothing more goes


def test_a_backlog_goes_in_batches(acme, monkeypatch):
    monkeypatch.setattr("talk.services.housekeeping.PURGE_BATCH", 3)
    for n in range(7):
        _receipt(acme, f"old-{n}", timedelta(days=2))
    _receipt(acme, "new", timedelta(hours=1))
    assert webhook_receipts_purge() == 7
    assert _keys() == {"new"}


def test_the_task_cluster_runs_the_purge_every_hour(db):
    schedule = Schedule.objects.get(func="talk.tasks.purge_webhook_receipts")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.HOURLY, -1)
