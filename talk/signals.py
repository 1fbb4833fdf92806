"""A new account starts with the system greetings and its telephony settings (SPEC L6); the
webhook path forgets the lines it cached when what they carry changes here."""
from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_scopes import scope

from supportcenter.models import Account
from talk import services
from talk.models import CallerRecording, Greeting, Line, TelephonySettings
from talk.selectors.lines import webhook_lines_forget
from talk.services.recordings import recording_file_forget


@receiver(post_save, sender=Account, dispatch_uid="talk.account_created")
def account_created(sender, instance: Account, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    with scope(account=instance):
        services.system_greetings_sync(account=instance)
        services.telephony_settings_ensure(account=instance)


# The webhook path caches lines with their greetings, provider and account (talk.selectors.lines).
for _model in (Line, Greeting, TelephonySettings, Account):
    for _signal in (post_save, post_delete):
        _signal.connect(webhook_lines_forget, sender=_model, dispatch_uid=f"talk.webhook_lines.{_model.__name__}.{_signal is post_save}")


@receiver(post_delete, sender=CallerRecording, dispatch_uid="talk.recording_deleted")
def recording_deleted(sender, instance: CallerRecording, **kwargs) -> None:
    """A recording deleted with its request (or its account) takes its file along (C14)."""
    recording_file_forget(recording=instance)
