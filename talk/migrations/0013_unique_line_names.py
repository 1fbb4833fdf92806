"""Line names unique per account, whatever the case (issue 13): agents and the dashboard's
filter tell lines apart by name. Lines already named alike get " (2)", " (3)" … first."""
import django.db.models.functions.text
from django.db import migrations, models


def rename_duplicates(apps, schema_editor):
    Line = apps.get_model("talk", "Line")
    seen: dict[tuple[int, str], int] = {}
    for line in Line.objects.order_by("account_id", "created_at", "pk"):
        key = (line.account_id, line.name.lower())
        count = seen.get(key, 0) + 1
        seen[key] = count
        if count > 1:
            suffix = f" ({count})"
            line.name = line.name[: 100 - len(suffix)] + suffix
            line.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("supportcenter", "0002_audit_action_names"),
        ("talk", "0012_purge_receipts_schedule"),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="line",
            constraint=models.UniqueConstraint(
                models.F("account"), django.db.models.functions.text.Lower("name"), name="talk_line_unique_name"
            ),
        ),
    ]
