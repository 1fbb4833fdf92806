"""Agent pages: the ticket list, a ticket with its comments, a new ticket (SPEC K2)."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from supportcenter import selectors as core_selectors
from supportcenter.auth import member_required
from supportcenter.errors import ServiceError
from supportcenter.tenancy import not_found
from tickets import selectors, services
from tickets.forms import TicketCreateForm, TicketFilterForm, TicketUpdateForm
from tickets.models import Via

PAGE_SIZE = 50


def _add_error(form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_GET
@member_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    account = request.account
    members = list(core_selectors.member_list(account=account))
    form = TicketFilterForm(request.GET, members=members)
    filters = {}
    if form.is_valid():
        filters = {
            "status": form.cleaned_data["status"] or None,
            "assignee": form.assignee_filter(request.user),
            "search": form.cleaned_data["q"],
        }
    tickets = selectors.ticket_list(account=account, **filters)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {"form": form, "page": page, "querystring": params.urlencode(), "filtered": any(filters.values())},
    )


@require_http_methods(["GET", "POST"])
@member_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    account = request.account
    ticket = selectors.access_ticket(account=account, number=number)
    if ticket is None:
        return not_found(request)
    members = list(core_selectors.member_list(account=account))
    form = TicketUpdateForm(request.POST if request.method == "POST" else None, ticket=ticket, members=members)
    if request.method == "POST" and form.is_valid() and not ticket.is_closed:
        data = form.cleaned_data
        changes: dict = {}
        if data["status_changed"]:
            changes["status"] = data["status"]
        if data["assignee_changed"]:
            changes["assignee"] = form.assignee_user()
        if data["body"]:
            changes["comment_body"] = data["body"]
            changes["comment_public"] = data["public"]
        try:
            services.ticket_update(account=account, ticket=ticket, actor=request.user, via=Via.WEB, **changes)
        except ServiceError as error:
            _add_error(form, error)
        else:
            messages.success(request, _saved_message(ticket.number, changes))
            return redirect("tickets:detail", number=ticket.number)
    elif request.method == "POST" and ticket.is_closed:
        form.add_error(None, services.TICKET_CLOSED_MESSAGE)
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "comments": selectors.comment_list(account=account, ticket=ticket),
            "form": form,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _saved_message(number: int, changes: dict) -> str:
    if "comment_body" in changes:
        what = "Reply sent" if changes["comment_public"] else "Internal note added"
    else:
        what = "Ticket updated"
    return f"{what} on ticket #{number}."


@require_http_methods(["GET", "POST"])
@member_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    account = request.account
    members = list(core_selectors.member_list(account=account))
    form = TicketCreateForm(request.POST if request.method == "POST" else None, members=members)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                account=account,
                subject=data["subject"],
                description=data["description"],
                requester_contact={"phone": data["phone"], "email": data["email"], "name": data["name"]},
                via=Via.WEB,
                actor=request.user,
                assignee=form.assignee_user(),
            )
        except ServiceError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"Ticket #{ticket.number} created.")
            return redirect("tickets:detail", number=ticket.number)
    return render(request, "tickets/new.html", {"form": form}, status=400 if form.is_bound and form.errors else 200)
