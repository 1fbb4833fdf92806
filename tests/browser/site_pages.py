"""Every page of the site, with the objects they show, for the layout and accessibility walks.

A plain module (not fixtures) so both walks name the same pages in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass

from django_scopes import scope

from supportcenter import services as core_services
from tests.browser.conftest import account_url
from tests.talk.factories import make_greeting, make_line
from tests.talk.test_console_support import offered_callback
from tests.tickets.helpers import add_comment, make_ticket


@dataclass(frozen=True)
class SitePage:
    name: str
    path: str
    ready: str  # a selector that is there once the page has drawn


def make_objects(acme, alice, bob=None) -> dict:
    """Something on every page, badges included: a toll-free line with callback on (its
    warning, the "On" and "toll-free" badges) routed to two groups (the default one marked),
    a group with members, a custom greeting, a ticket with both kinds of comment, an API
    token and, given bob, a callback offered to him on his console."""
    with scope(account=acme):
        group = core_services.group_create(
            account=acme, actor=alice, name="Billing and refunds (Europe)", description="Invoices, refunds, VAT", default=True
        )
        for member in (alice, bob) if bob is not None else (alice,):  # bob takes the line's calls (R14)
            core_services.group_membership_create(account=acme, actor=alice, group_id=group.pk, user_id=member.pk)
        second = core_services.group_create(account=acme, actor=alice, name="Sales")
    line = make_line(acme, "Main line", number="+18005550100", callback_enabled=True,
                     default_group=group.pk, groups=[second.pk])
    make_greeting(acme, "Evening callback offer")
    ticket = make_ticket(acme, actor=alice, phone="+14155550123",
                         internal_note="Called back twice, no answer.")
    add_comment(acme, ticket, "We are looking into it.", public=True, author=alice)
    with scope(account=acme):
        core_services.api_token_create(account=acme, user=alice, description="Nightly export", actor=alice)
    if bob is not None:
        offered_callback(acme, line, bob)
    return {"line": line, "ticket": ticket, "group": group}


def admin_pages(objects: dict) -> list[SitePage]:
    line, ticket = objects["line"], objects["ticket"]
    return [
        SitePage("home", "/", "h1"),
        SitePage("tickets", "/tickets/", "table.tickets"),
        SitePage("ticket-new", "/tickets/new/", "form.ticket-new"),
        SitePage("ticket-detail", f"/tickets/{ticket.number}/", "#composer"),
        SitePage("admin-center", "/admin-center/", ".admin-layout"),
        SitePage("members", "/admin-center/members/", "table.list"),
        SitePage("groups", "/admin-center/groups/", "#admin-groups"),
        SitePage("group", f"/admin-center/groups/{objects['group'].pk}/", "#group-members"),
        SitePage("api-tokens", "/admin-center/api-tokens/", "table.list"),
        SitePage("lines", "/admin-center/talk/lines/", "#talk-lines"),
        SitePage("line-general", f"/admin-center/talk/lines/{line.pk}/", "#line-general-form"),
        SitePage("line-callback", f"/admin-center/talk/lines/{line.pk}/callback/", "#callback-form"),
        SitePage("greetings", "/admin-center/talk/greetings/", "#talk-greetings"),
        SitePage("telephony", "/admin-center/talk/telephony/", "#telephony-form"),
        SitePage("console", "/talk/console/", "#console-status"),
        SitePage("queue", "/talk/queue/", "#queue-table tr.queue-row"),
        SitePage("dashboard", "/dashboard/talk/", "[data-tile]"),
        SitePage("simulator", "/talk/simulator/", "#sim-dial"),
        SitePage("not-found", "/no-such-page/", "h1"),
    ]


def agent_pages(objects: dict) -> list[SitePage]:
    """An agent's everyday pages, and the admin center refused."""
    ticket = objects["ticket"]
    return [
        SitePage("home", "/", "h1"),
        SitePage("tickets", "/tickets/", "table.tickets"),
        SitePage("ticket-new", "/tickets/new/", "form.ticket-new"),
        SitePage("ticket-detail", f"/tickets/{ticket.number}/", "#composer"),
        SitePage("dashboard", "/dashboard/talk/", "[data-tile]"),
        SitePage("simulator", "/talk/simulator/", "#sim-dial"),
        SitePage("console", "/talk/console/", "#console-status"),
        SitePage("forbidden", "/admin-center/", "h1"),  # an agent in the admin center: the 403 page
    ]


LOGIN = SitePage("login", "/login/", "#id_username")


def open_page(page, live_server, account, site_page: SitePage) -> None:
    page.goto(account_url(live_server, account, site_page.path))
    page.wait_for_selector(site_page.ready)
