"""SimulatorCall, moved here from talk (issue 12). The table ``talk_simulatorcall``
already exists (talk 0004), with its rows: this migration only adds the model to
callsim's state, and moves the model's content type so permissions follow it."""
import django.db.models.deletion
import supportcenter.ids
from django.conf import settings
from django.db import migrations, models


def content_type_to(app_label: str, other: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model('contenttypes', 'ContentType')
        db = schema_editor.connection.alias
        if not ContentType.objects.using(db).filter(app_label=app_label, model='simulatorcall').exists():
            ContentType.objects.using(db).filter(app_label=other, model='simulatorcall').update(app_label=app_label)
    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('supportcenter', '0001_initial'),
        ('talk', '0011_simulatorcall_to_callsim'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SimulatorCall',
                    fields=[
                        ('id', supportcenter.ids.RandomIdField(default=supportcenter.ids.random_id, editable=False, primary_key=True, serialize=False)),
                        ('state', models.JSONField(default=dict)),
                        ('busy', models.BooleanField(default=False)),
                        ('error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='supportcenter.account')),
                        ('line', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='talk.line')),
                        ('placed_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'talk_simulatorcall',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to('callsim', 'talk'), content_type_to('talk', 'callsim')),
    ]
