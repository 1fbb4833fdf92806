"""Admin-center pages of Talk (SPEC L1-L7): lines with their General and Callback
tabs, greetings, and the telephony provider. Admins only; thin: parse, call a
service, render."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportcenter.auth import admin_required
from supportcenter.errors import ServiceError
from supportcenter.tenancy import not_found
from talk import selectors, services
from talk.forms import (
    CallbackForm,
    GreetingForm,
    LineGeneralForm,
    TelephonySettingsForm,
    add_service_error,
)
from talk.models import Greeting, Line
from talk.selectors.lines import line_groups, line_list_with_groups
from talk.twiml import RECORD_MAX_SECONDS
from talk.voices import LANGUAGE_NAMES


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


def _line_context(request: HttpRequest, line: Line, tab: str) -> dict:
    supported, reason = selectors.line_callback_supported(line)
    return {
        "line": line,
        "tab": tab,
        "warnings": selectors.line_warnings(line),
        "callback_supported": supported,
        "callback_reason": reason,
        "effective_language": selectors.effective_callback_language(line),
        "effective_language_name": LANGUAGE_NAMES[selectors.effective_callback_language(line)],
    }


@require_GET
@admin_required
def lines(request: HttpRequest) -> HttpResponse:
    rows = [(line, line_groups(line)) for line in line_list_with_groups(account=request.account)]
    return render(request, "talk/lines.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@admin_required
def line_new(request: HttpRequest) -> HttpResponse:
    form = LineGeneralForm(request.POST if request.method == "POST" else None, account=request.account)
    if request.method == "POST" and form.is_valid():
        data = form.changes()
        try:
            line = services.line_create(
                account=request.account, actor=request.user, name=data.pop("name"), kind=data.pop("kind"), **data
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Line “{line.name}” added. Paste its webhook URLs into your provider's console.")
            return redirect("talk:line_detail", line_id=line.pk)
    return render(request, "talk/line_new.html", {"form": form}, status=_status(form))


@require_http_methods(["GET", "POST"])
@admin_required
def line_detail(request: HttpRequest, line_id: int) -> HttpResponse:
    """The General tab, with the webhook URLs to paste into the provider's console."""
    line = selectors.access_line(account=request.account, line_id=line_id)
    if line is None:
        return not_found(request)
    form = LineGeneralForm(request.POST if request.method == "POST" else None, account=request.account, line=line)
    if request.method == "POST" and form.is_valid():
        try:
            line = services.line_update(account=request.account, line=line, actor=request.user, **form.changes())
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Changes saved.")
            return redirect("talk:line_detail", line_id=line.pk)
    context = _line_context(request, line, "general")
    context.update(form=form, webhooks=selectors.line_webhook_urls(line=line, request=request))
    return render(request, "talk/line_general.html", context, status=_status(form))


@require_http_methods(["GET", "POST"])
@admin_required
def line_callback(request: HttpRequest, line_id: int) -> HttpResponse:
    """The Callback tab: the seed's steps, then Advanced (L2, L7)."""
    line = selectors.access_line(account=request.account, line_id=line_id)
    if line is None:
        return not_found(request)
    form = CallbackForm(request.POST if request.method == "POST" else None, account=request.account, line=line)
    if request.method == "POST" and form.is_valid():
        try:
            line = services.callback_settings_update(
                account=request.account, line=line, actor=request.user, **form.changes()
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Callback settings saved.")
            return redirect("talk:line_callback", line_id=line.pk)
    context = _line_context(request, line, "callback")
    context["form"] = form
    # The account's retention, said next to the line's recording switch (SPEC C14).
    retention = selectors.telephony_settings_get(account=request.account).recording_retention_days
    context.update(recording_retention_days=retention, record_max_seconds=RECORD_MAX_SECONDS)
    advanced_names = [name for name in form.fields if name not in CallbackForm.SEED_FIELDS]
    context["advanced_open"] = any(name in form.errors for name in advanced_names)
    return render(request, "talk/line_callback.html", context, status=_status(form))


@require_POST
@admin_required
def line_regenerate_token(request: HttpRequest, line_id: int) -> HttpResponse:
    line = selectors.access_line(account=request.account, line_id=line_id)
    if line is None:
        return not_found(request)
    services.line_webhook_token_regenerate(account=request.account, line=line, actor=request.user)
    messages.success(request, "New webhook URLs generated: update them in your provider's console.")
    return redirect("talk:line_detail", line_id=line.pk)


@require_GET
@admin_required
def greetings(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in Greeting.Category.values:
        category = ""
    return render(
        request,
        "talk/greetings.html",
        {
            "greetings": selectors.greeting_list(account=request.account, category=category or None),
            "categories": Greeting.Category.choices,
            "category": category,
        },
    )


@require_http_methods(["GET", "POST"])
@admin_required
def greeting_new(request: HttpRequest) -> HttpResponse:
    form = GreetingForm(request.POST if request.method == "POST" else None, initial={"category": request.GET.get("category", "callback")})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            greeting = services.greeting_create(
                account=request.account,
                actor=request.user,
                name=data.pop("name"),
                category=data.pop("category"),
                language=data.pop("language"),
                **data,
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Greeting “{greeting.name}” created.")
            return redirect("talk:greetings")
    return render(request, "talk/greeting_form.html", {"form": form, "greeting": None}, status=_status(form))


@require_http_methods(["GET", "POST"])
@admin_required
def greeting_detail(request: HttpRequest, greeting_id: int) -> HttpResponse:
    greeting = selectors.access_greeting(account=request.account, greeting_id=greeting_id)
    if greeting is None:
        return not_found(request)
    form = GreetingForm(request.POST if request.method == "POST" else None, initial=GreetingForm.initial_from(greeting))
    if greeting.is_system:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            greeting = services.greeting_update(
                account=request.account, greeting=greeting, actor=request.user, **form.cleaned_data
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Greeting saved.")
            return redirect("talk:greetings")
    return render(
        request,
        "talk/greeting_form.html",
        {
            "form": form,
            "greeting": greeting,
            "used_by": selectors.greeting_usage(account=request.account, greeting=greeting),
        },
        status=_status(form),
    )


@require_POST
@admin_required
def greeting_delete(request: HttpRequest, greeting_id: int) -> HttpResponse:
    greeting = selectors.access_greeting(account=request.account, greeting_id=greeting_id)
    if greeting is None:
        return not_found(request)
    try:
        services.greeting_delete(account=request.account, greeting=greeting, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("talk:greeting_detail", greeting_id=greeting.pk)
    messages.success(request, f"Greeting “{greeting.name}” deleted.")
    return redirect("talk:greetings")


@require_http_methods(["GET", "POST"])
@admin_required
def telephony_settings(request: HttpRequest) -> HttpResponse:
    row = selectors.telephony_settings_get(account=request.account)
    form = TelephonySettingsForm(
        request.POST if request.method == "POST" else None, initial=TelephonySettingsForm.initial_from(row)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.telephony_settings_update(account=request.account, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Telephony settings saved.")
            return redirect("talk:telephony_settings")
    return render(request, "talk/telephony_settings.html", {"form": form, "settings_row": row}, status=_status(form))
