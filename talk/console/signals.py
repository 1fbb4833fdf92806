"""What the core's events mean for agents and routing (connected by TalkConfig.ready).

A member who signs out of an account goes offline there (SPEC R1, C2): an agent
who left must not keep callbacks available, nor be offered calls.

Groups route calls (SPEC R14): a change of who is in a group, or of a line's groups,
changes who may be offered what, so it wakes the router (after commit); a group that
a line or an open callback request routes to cannot be deleted (the core asks here).
"""
from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django_scopes import scope

from supportcenter.errors import ServiceError
from supportcenter.models import Group, GroupMembership
from supportcenter.services import group_uses
from talk.enqueue import wake_router
from talk.models import AgentPresence, Line
from talk.selectors.routing import group_uses as talk_group_uses
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


@receiver(post_save, sender=GroupMembership, dispatch_uid="talk.console.route_on_member_added")
@receiver(post_delete, sender=GroupMembership, dispatch_uid="talk.console.route_on_member_removed")
def route_on_membership_change(sender, instance: GroupMembership, raw: bool = False, **kwargs) -> None:
    if not raw:
        wake_router(instance.account_id)


@receiver(m2m_changed, sender=Line.groups.through, dispatch_uid="talk.console.route_on_line_groups")
def route_on_line_groups(sender, instance, action: str, reverse: bool, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        wake_router(instance.account_id)  # a line, or (reverse) a group: both of the account


@receiver(group_uses, sender=Group, dispatch_uid="talk.console.group_uses")
def lines_and_requests_using(sender, account, group: Group, **kwargs) -> list[str]:
    with scope(account=account):
        return talk_group_uses(account=account, group=group)
