"""Builders for talk's tests: lines and greetings made through the services, as an
admin would make them (plain functions, so other test modules can import them)."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from supportcenter import services as core_services
from supportcenter.models import Account, Group
from talk import routing, services
from talk.models import CallbackRequest, Greeting, Line, QueueEntry
from talk.services.callback_requests import callback_request_create


def make_line(account: Account, name: str = "Main line", kind: str = Line.Kind.PHONE, **fields) -> Line:
    if kind == Line.Kind.PHONE:
        fields.setdefault("number", "+14155550100")
    if kind == Line.Kind.SIP:
        fields.setdefault("sip_address", "sip:support@pbx.example.com")
    with scope(account=account):
        return services.line_create(account=account, actor=None, name=name, kind=kind, **fields)


def make_greeting(account: Account, name: str = "Our callback offer", category: str = Greeting.Category.CALLBACK,
                  **fields) -> Greeting:
    fields.setdefault("text", "Press {key} and we call you back.")
    with scope(account=account):
        return services.greeting_create(account=account, actor=None, name=name, category=category, **fields)


def reload(line: Line) -> Line:
    with scope(account=line.account):
        return Line.objects.get(account=line.account, pk=line.pk)


# --- Groups, callbacks and routing (R14): shared by the routing and supervision tests ---
def make_group(account: Account, name: str, *members) -> Group:
    """A group of ``account`` made through the core's services, with these members."""
    with scope(account=account):
        group = core_services.group_create(account=account, actor=None, name=name)
        for user in members:
            core_services.group_membership_create(account=account, actor=None, group_id=group.pk, user_id=user.pk)
    return group


def line_routing(line: Line) -> tuple[int | None, set[int]]:
    """The line's default group id and its groups' ids, as stored."""
    fresh = reload(line)
    with scope(account=line.account):
        return fresh.default_group_id, set(fresh.groups.values_list("pk", flat=True))


def waiting_callback(line: Line, number: str, *, groups=(), minutes_ago: int = 0) -> CallbackRequest:
    """A pending callback request on ``line`` (its own ``groups``, if any), entered the
    queue ``minutes_ago`` minutes ago; returned as stored."""
    with scope(account=line.account):
        request = callback_request_create(line=line, number=number, groups=groups)
        if minutes_ago:
            entered = timezone.now() - timedelta(minutes=minutes_ago)
            QueueEntry.objects.filter(pk=request.queue_entry_id).update(entered_at=entered)
            CallbackRequest.objects.filter(pk=request.pk).update(queue_entered_at=entered)
        request.refresh_from_db()
        return request


def route_now(account: Account, now=None) -> list:
    """One routing pass of ``account`` now (or at ``now``): the offers it made."""
    with scope(account=account):
        return routing.route_account(account, now=now)
