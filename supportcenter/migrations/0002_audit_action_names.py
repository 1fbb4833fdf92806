"""Audit actions named ``<entity>.<verb>`` everywhere (issue 12): rename the entries
written under the old names, so a search by action finds old and new alike."""
from django.db import migrations

RENAMED = {
    "talk.agent_busy_reconciled": "agent_presence.reconcile",
    "talk.agent_device": "agent_presence.set_device",
    "talk.agent_status": "agent_presence.set_status",
    "talk.greeting.create": "greeting.create",
    "talk.greeting.update": "greeting.update",
    "talk.greeting.delete": "greeting.delete",
    "talk.line.create": "line.create",
    "talk.line.update": "line.update",
    "talk.line.webhook_token_regenerate": "line.regenerate_token",
    "talk.offer.accept": "offer.accept",
    "talk.offer.decline": "offer.decline",
    "talk.telephony_settings.update": "telephony_settings.update",
    "callback_request.declined": "callback_request.decline",
    "callback_request.expired": "callback_request.expire",
}


def _rename(apps, pairs) -> None:
    AuditEntry = apps.get_model("supportcenter", "AuditEntry")
    for old, new in pairs:
        AuditEntry.objects.filter(action=old).update(action=new)


def forwards(apps, schema_editor) -> None:
    _rename(apps, RENAMED.items())


def backwards(apps, schema_editor) -> None:
    _rename(apps, ((new, old) for old, new in RENAMED.items()))


class Migration(migrations.Migration):
    dependencies = [("supportcenter", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
