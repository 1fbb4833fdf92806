"""The call simulator page of the demo: dial a line, hear (read) it, press keys."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from callsim import runner
from callsim.models import SimulatorCall
from callsim.selectors import access_simulator_call, simulator_calls_of
from supportcenter.auth import member_required
from supportcenter.errors import ServiceError
from supportcenter.tenancy import not_found
from talk.models import AgentPresence
from talk.selectors import access_line, line_list, line_webhook_urls
from talk.selectors.routing import agent_presence, available_agent_count
from talk.services.agents import agent_status_set

DEFAULT_FROM = "+14155550111"


def _payload(row: SimulatorCall) -> dict:
    state = row.state
    pending = state.get("pending")
    return {
        "id": row.pk,
        "line": row.line.name,
        "from": state.get("from_"),
        "to": state.get("to"),
        "status": state.get("status"),
        "in_queue": bool(state.get("queue")),
        "waiting_for_keys": bool(pending),
        "busy": row.busy,
        "error": row.error,
        "transcript": state.get("transcript", []),
    }


def _access(request: HttpRequest, call_id: int) -> SimulatorCall | None:
    return access_simulator_call(account=request.account, call_id=call_id)


@require_GET
@member_required
def page(request: HttpRequest) -> HttpResponse:
    lines = [line for line in line_list(account=request.account) if line.enabled]
    recent = simulator_calls_of(account=request.account, user=request.user)
    available = available_agent_count(account=request.account)
    mine = agent_presence(account=request.account, user=request.user)
    return render(request, "callsim/simulator.html", {
        "lines": lines, "recent": recent, "default_from": DEFAULT_FROM, "agents_available": available,
        "my_status": mine.status if mine else AgentPresence.Status.OFFLINE, "statuses": AgentPresence.Status.choices,
    })


@require_POST
@member_required
def my_status(request: HttpRequest) -> HttpResponse:
    """The signed-in member's Talk status (the agent console will own this switch)."""
    try:
        agent_status_set(account=request.account, user=request.user, status=request.POST.get("status", ""),
                         actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("callsim:page")


@require_POST
@member_required
def dial(request: HttpRequest) -> HttpResponse:
    try:
        line_id = int(request.POST.get("line", ""))
    except ValueError:
        line_id = 0
    line = access_line(account=request.account, line_id=line_id)
    if line is None or not line.enabled:
        return JsonResponse({"error": "Choose a line.", "field": "line"}, status=422)
    try:
        row = runner.simulator_call_place(
            account=request.account, line=line, from_=request.POST.get("from", ""), user=request.user,
            urls=line_webhook_urls(line=line, request=request),
        )
    except ServiceError as error:
        return JsonResponse({"error": error.message, "field": error.field}, status=422)
    return JsonResponse(_payload(row), status=201)


@require_GET
@member_required
def state(request: HttpRequest, call_id: int) -> HttpResponse:
    row = _access(request, call_id)
    if row is None:
        return not_found(request)
    return JsonResponse(_payload(row))


@require_POST
@member_required
def act(request: HttpRequest, call_id: int) -> HttpResponse:
    row = _access(request, call_id)
    if row is None:
        return not_found(request)
    try:
        runner.simulator_call_act(
            account=request.account, row=row, action=request.POST.get("action", ""), keys=request.POST.get("keys", "")
        )
    except ServiceError as error:
        return JsonResponse({"error": error.message, "field": error.field}, status=409 if error.message == runner.BUSY_MESSAGE else 422)
    row.refresh_from_db()
    return JsonResponse(_payload(row), status=202)
