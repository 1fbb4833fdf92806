"""A member who signs out of an account goes offline there (SPEC R1, C2): an agent
who left must not keep callbacks available, nor be offered calls."""
from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django_scopes import scope

from supportcenter.errors import ServiceError
from talk.models import AgentPresence
from talk.services.agents import agent_status_set

logger = logging.getLogger(__name__)


@receiver(user_logged_out, dispatch_uid="talk.console.offline_on_logout")
def offline_on_logout(sender, request, user, **kwargs) -> None:
    account = getattr(request, "account", None) if request is not None else None
    if account is None or user is None or not user.is_authenticated:
        return
    with scope(account=account):
        if not AgentPresence.objects.filter(account=account, user=user).exclude(
            status=AgentPresence.Status.OFFLINE
        ).exists():
            return  # no row means offline already: nothing to write or push
        try:
            agent_status_set(account=account, user=user, status=AgentPresence.Status.OFFLINE, actor=user)
        except ServiceError:  # no longer a member: nothing of theirs is routed here anyway
            logger.info("sign-out of a non-member; presence left as is")
