"""Builders for talk's tests: lines and greetings made through the services, as an
admin would make them (plain functions, so other test modules can import them)."""
from __future__ import annotations

from django_scopes import scope

from supportcenter.models import Account
from talk import services
from talk.models import Greeting, Line


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
