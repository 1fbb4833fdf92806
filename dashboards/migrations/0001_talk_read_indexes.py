"""Indexes the dashboard's reads need on talk's tables (SPEC D1-D5, issue 7 benchmark).

Every dashboard figure is a range of one account's rows by a time column; without
these the database reads the account's whole history for "today". They are plain
database indexes (no model state changes), created here because dashboards owns
those reads; talk may adopt them into its models' Meta at any time (the names
are distinct, and IF NOT EXISTS keeps this idempotent).
"""
from __future__ import annotations

from django.db import migrations

INDEXES = [
    ("dash_queue_entered", "talk_queueentry", "(account_id, entered_at)", ""),
    ("dash_queue_left", "talk_queueentry", "(account_id, left_at)", ""),
    ("dash_queue_waiting", "talk_queueentry", "(account_id, entered_at)", "WHERE state = 'waiting'"),
    ("dash_callback_requested", "talk_callbackrequest", "(account_id, requested_at)", ""),
    ("dash_callback_started", "talk_callbackrequest", "(account_id, started_at)", "WHERE started_at IS NOT NULL"),
    ("dash_attempt_started", "talk_callbackattempt", "(account_id, started_at)", ""),
    ("dash_offer_responded", "talk_offer", "(account_id, responded_at)", ""),
]


class Migration(migrations.Migration):
    dependencies = [("talk", "0005_routing_data")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns} {where}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, columns, where in INDEXES
    ]
