"""Give every existing account the system greetings (new accounts get them from
talk.signals). Uses the catalogue as it is now; later catalogue changes are
applied by talk.services.system_greetings_sync (run by seed_demo)."""
from django.db import migrations


def add_system_greetings(apps, schema_editor):
    from talk import greetings_catalog

    Account = apps.get_model("supportcenter", "Account")
    Greeting = apps.get_model("talk", "Greeting")
    rows = greetings_catalog.system_greetings()
    for account in Account.objects.all():  # a cross-tenant job: historical managers are unscoped
        existing = set(
            Greeting.objects.filter(account=account, is_system=True).values_list("system_key", flat=True)
        )
        Greeting.objects.bulk_create(
            [Greeting(account=account, is_system=True, **row) for row in rows if row["system_key"] not in existing]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("talk", "0001_initial"),
        ("supportcenter", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_system_greetings, migrations.RunPython.noop)]
