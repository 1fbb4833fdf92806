"""SimulatorCall moved to the callsim app (issue 12): talk forgets the model, the
table stays where it is (callsim 0001 takes it over under its old name)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('talk', '0010_provider_jobs'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='SimulatorCall')],
            database_operations=[],
        ),
    ]
