"""The signed-in member's Talk status, for the status switch in every page's header (issue 13)."""
from __future__ import annotations

from django.http import HttpRequest

from supportcenter.tenancy import membership_of
from talk.models import AgentPresence
from talk.selectors.routing import agent_presence


def agent_status(request: HttpRequest) -> dict:
    account = getattr(request, "account", None)
    if account is None or membership_of(request) is None:
        return {}
    presence = agent_presence(account=account, user=request.user)
    return {
        "talk_status": presence.status if presence else AgentPresence.Status.OFFLINE,
        "talk_statuses": AgentPresence.Status.choices,
    }
