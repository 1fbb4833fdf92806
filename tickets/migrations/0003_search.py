# Search (issue 15, item 3): GIN indexes for search.json, on PostgreSQL only (the SQLite
# demo matches substrings). The text expressions are exactly tickets.search.Vector's, so
# the planner can use them: tests/tickets/test_search.py reads the plan to prove it.
# Built CONCURRENTLY (so outside a transaction: atomic = False): a deployment keeps taking
# tickets and comments while the comments' index builds.

from django.db import migrations

INDEXES = {
    "ticket_subject_fts": "tickets_ticket USING gin (to_tsvector('simple'::regconfig, subject))",
    "comment_body_fts": "tickets_comment USING gin (to_tsvector('simple'::regconfig, body))",
    "ticket_tags_gin": "tickets_ticket USING gin (tags jsonb_path_ops)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tickets', '0002_reference_fields'),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
