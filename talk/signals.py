"""A new account starts with the system greetings and its telephony settings (SPEC L6)."""
from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver
from django_scopes import scope

from supportcenter.models import Account


@receiver(post_save, sender=Account, dispatch_uid="talk.account_created")
def account_created(sender, instance: Account, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    from talk import services

    with scope(account=instance):
        services.system_greetings_sync(account=instance)
        services.telephony_settings_ensure(account=instance)
