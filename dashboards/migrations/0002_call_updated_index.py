"""The incremental calls export reads calls in order of their last change,
COALESCE(ended_at, answered_at, started_at) (dashboards.activity): an index on
that expression turns "the next 1000 since start_time" into a range scan."""
from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_talk_read_indexes")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS dash_call_updated ON talk_call "
            "(account_id, (COALESCE(ended_at, answered_at, started_at)), id)",
            reverse_sql="DROP INDEX IF EXISTS dash_call_updated",
        )
    ]
