"""Rows kept only for a while: provider retries come within minutes (C10), so a webhook's
stored answer is deleted after a day. The task cluster runs ``webhook_receipts_purge``
every hour (talk.tasks.purge_webhook_receipts, scheduled by a migration)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django_scopes import scopes_disabled

from talk.models import WebhookReceipt

RECEIPT_KEEP = timedelta(days=1)  # Twilio retries a webhook for minutes, never a day later
PURGE_BATCH = 5000  # rows per DELETE: short transactions, whatever the backlog


def webhook_receipts_purge(*, now: datetime | None = None) -> int:
    """Delete the stored webhook answers older than a day, of every account, in batches."""
    cutoff = (now or timezone.now()) - RECEIPT_KEEP
    deleted = 0
    with scopes_disabled():  # housekeeping of every account, by design
        while True:
            ids = list(WebhookReceipt.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
            if not ids:
                return deleted
            deleted += WebhookReceipt.objects.filter(pk__in=ids).delete()[0]
