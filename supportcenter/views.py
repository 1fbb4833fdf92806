from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.staticfiles import finders
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportcenter import failures, selectors, services, throttle
from supportcenter.auth import admin_required, member_required
from supportcenter.errors import ServiceError
from supportcenter.forms import GroupForm, GroupMemberForm, add_service_error
from supportcenter.models import Group
from supportcenter.tenancy import membership_of, not_found

NOT_MEMBER_LOGIN_MESSAGE = "This account has no active user with that email."
_NEW_TOKEN_SESSION_KEY = "new_api_token"


class AccountLoginForm(AuthenticationForm):
    """Email + password, for a member of the host's account only."""

    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        self.request.user = user
        if membership_of(self.request) is None:
            raise forms.ValidationError(NOT_MEMBER_LOGIN_MESSAGE, code="not_member")


class LoginView(auth_views.LoginView):
    """Sign-in, throttled (issue 14; supportcenter.throttle): a locked e-mail or address
    answers 429 with ``Retry-After`` and this page saying for how long."""

    template_name = "supportcenter/login.html"
    authentication_form = AccountLoginForm
    redirect_authenticated_user = False
    http_method_names = ["get", "post", "options"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.account is None:
            return landing(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # A locked address: say so before anyone types a password for nothing.
        lock = throttle.signin_lock(request, email=None)
        if lock is not None:
            return self.locked(lock)
        return super().get(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        # Axes flags the request when it refused a locked sign-in, or this failure locked it.
        if getattr(self.request, "axes_locked_out", False):
            email = throttle.signin_email(self.request)
            return self.locked(_lock_of(self.request, email), email=email or "")
        return super().form_invalid(form)

    def locked(self, lock: throttle.Lock, *, email: str = "") -> HttpResponse:
        form = self.get_form_class()(self.request, initial={"username": email})
        context = self.get_context_data(form=form, locked_message=signin_locked_message(lock))
        return _locked_response(self.request, self.render_to_response(context, status=429), lock)


SIGNIN_LOCKED_MESSAGE = "Too many failed sign-ins. Try again in {wait}."


def signin_locked_message(lock: throttle.Lock) -> str:
    minutes = math.ceil(lock.retry_after() / 60)
    return SIGNIN_LOCKED_MESSAGE.format(wait="1 minute" if minutes == 1 else f"{minutes} minutes")


def _lock_of(request: HttpRequest, email: str | None) -> throttle.Lock:
    lock = throttle.signin_lock(request, email=email)
    # Axes said locked on the same rows: a lock ending this very instant still gets its second.
    return lock or throttle.Lock(timezone.now())


def _locked_response(request: HttpRequest, response: TemplateResponse, lock: throttle.Lock) -> HttpResponse:
    response["Retry-After"] = str(lock.retry_after())
    response.render()
    request.signin_locked_response = response  # what axes' middleware passes on
    return response


def signin_lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: axes' middleware replaces a locked-out request's response
    with this. The sign-in page has answered already; any other sign-in path gets the same
    page. (Axes' async middleware passes the credentials in the response's place.)"""
    answered = getattr(request, "signin_locked_response", None)
    if answered is not None:
        return answered
    email = throttle.signin_email(request, credentials if isinstance(credentials, dict) else None)
    lock = _lock_of(request, email)
    context = {"form": AccountLoginForm(request, initial={"username": email or ""}),
               "locked_message": signin_locked_message(lock), "next": ""}
    return _locked_response(request, TemplateResponse(request, LoginView.template_name, context, status=429), lock)


def landing(request: HttpRequest) -> HttpResponse:
    """The bare base domain: it belongs to no account, so it only points the way."""
    if request.account is not None:
        return home(request)
    return render(request, "supportcenter/landing.html")


@member_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "supportcenter/home.html")


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return home(request) if request.account is not None else landing(request)


@require_GET
@admin_required
def admin_center(request: HttpRequest) -> HttpResponse:
    return render(request, "supportcenter/admin_center.html")


SUPERVISOR_FORM_MESSAGE = "Choose a member and whether they supervise."


def _members_page(request: HttpRequest, *, status: int = 200, error: str = "") -> HttpResponse:
    return render(
        request, "supportcenter/admin_members.html",
        {"members": selectors.member_list(account=request.account), "error": error}, status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def admin_members(request: HttpRequest) -> HttpResponse:
    """The account's members; an admin makes an agent a supervisor here, or an agent again
    (SPEC S1, S2). Another account's member is refused exactly like a missing one (T3)."""
    if request.method == "GET":
        return _members_page(request)
    user_id, wanted = (request.POST.get("user_id") or "").strip(), request.POST.get("supervisor")
    if not user_id.isdigit() or not 0 < int(user_id) <= selectors.MAX_ID or wanted not in ("1", "0"):
        return _members_page(request, status=400, error=SUPERVISOR_FORM_MESSAGE)
    try:
        member = services.membership_set_supervisor(
            account=request.account, user_id=int(user_id), supervisor=wanted == "1", actor=request.user
        )
    except ServiceError as error:
        if error.code == "not_found":
            return not_found(request)
        return _members_page(request, status=422, error=error.message)
    name = member.user.name or member.user.email
    messages.success(
        request, f"{name} is a supervisor: they see and steer the callback queue." if member.supervisor
        else f"{name} is an agent again, no longer a supervisor."
    )
    return redirect("admin_members")


class TokenForm(forms.Form):
    description = forms.CharField(max_length=200)
    user = forms.TypedChoiceField(coerce=int, label="Owner")

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.user_id: m.user for m in members}
        self.fields["user"].choices = [(m.user_id, f"{m.user.name} <{m.user.email}>") for m in members]


@require_http_methods(["GET", "POST"])
@admin_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    members = list(selectors.member_list(account=request.account))
    form = TokenForm(request.POST if request.method == "POST" else None, members=members, initial={"user": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.api_token_create(
                account=request.account,
                user=form.members[form.cleaned_data["user"]],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            # Shown once, on the next page load, then gone from the session.
            request.session[_NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "raw": raw, "email": token.user.email}
            return redirect("api_tokens")
    return render(
        request,
        "supportcenter/api_tokens.html",
        {
            "form": form,
            "tokens": selectors.api_token_list(account=request.account),
            "new_token": request.session.pop(_NEW_TOKEN_SESSION_KEY, None),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@admin_required
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.access_api_token(account=request.account, token_id=token_id)
    if token is None:
        return not_found(request)
    services.api_token_revoke(account=request.account, token=token, actor=request.user)
    messages.success(request, f"Token “{token.description}” revoked.")
    return redirect("api_tokens")


# --- Groups (issue 15; SPEC R14: a line routes its calls to groups) --------------------
def _status(form: forms.Form | None) -> int:
    return 400 if form is not None and form.is_bound and form.errors else 200


def _group_page(
    request: HttpRequest, group: Group, *, form: GroupForm | None = None, member_form: GroupMemberForm | None = None
) -> HttpResponse:
    account = request.account
    memberships = sorted(
        selectors.group_membership_list(account=account, group_id=group.pk).select_related("user"),
        key=lambda membership: (membership.user.name.lower(), membership.user.email),
    )
    in_group = {membership.user_id for membership in memberships}
    candidates = [member for member in selectors.member_list(account=account) if member.user_id not in in_group]
    form = form or GroupForm(initial=GroupForm.initial_from(group))
    member_form = member_form or GroupMemberForm(candidates=candidates)
    return render(
        request,
        "supportcenter/admin_group.html",
        {"group": group, "form": form, "member_form": member_form, "memberships": memberships,
         "candidates": candidates},
        status=max(_status(form), _status(member_form)),
    )


@require_http_methods(["GET", "POST"])
@admin_required
def admin_groups(request: HttpRequest) -> HttpResponse:
    """The account's groups, and a form to add one."""
    form = GroupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(account=request.account, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Group “{group.name}” created. Add its members below.")
            return redirect("admin_group", group_id=group.pk)
    counts = Counter(selectors.group_membership_list(account=request.account).values_list("group_id", flat=True))
    groups = selectors.group_list(account=request.account).order_by(Lower("name"))
    return render(
        request,
        "supportcenter/admin_groups.html",
        {"rows": [(group, counts[group.pk]) for group in groups], "form": form},
        status=_status(form),
    )


@require_http_methods(["GET", "POST"])
@admin_required
def admin_group(request: HttpRequest, group_id: int) -> HttpResponse:
    """One group: rename, describe, mark default; its members."""
    group = selectors.access_group(account=request.account, group_id=group_id)
    if group is None:
        return not_found(request)
    form = None
    if request.method == "POST":
        form = GroupForm(request.POST, initial=GroupForm.initial_from(group))
        if form.is_valid():
            try:
                group = services.group_update(
                    account=request.account, group=group, actor=request.user, **form.cleaned_data
                )
            except ServiceError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Group saved.")
                return redirect("admin_group", group_id=group.pk)
    return _group_page(request, group, form=form)


@require_POST
@admin_required
def admin_group_delete(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.access_group(account=request.account, group_id=group_id)
    if group is None:
        return not_found(request)
    try:
        services.group_delete(account=request.account, group=group, actor=request.user)
    except ServiceError as error:  # in use: a line or a callback request routes to it
        messages.error(request, error.message)
        return redirect("admin_group", group_id=group.pk)
    messages.success(request, f"Group “{group.name}” deleted.")
    return redirect("admin_groups")


@require_POST
@admin_required
def admin_group_member_add(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.access_group(account=request.account, group_id=group_id)
    if group is None:
        return not_found(request)
    in_group = set(
        selectors.group_membership_list(account=request.account, group_id=group.pk).values_list("user_id", flat=True)
    )
    candidates = [m for m in selectors.member_list(account=request.account) if m.user_id not in in_group]
    form = GroupMemberForm(request.POST, candidates=candidates)
    if form.is_valid():
        try:
            membership = services.group_membership_create(
                account=request.account, actor=request.user, group_id=group.pk, user_id=form.cleaned_data["user"]
            )
        except ServiceError as error:
            form.add_error("user" if error.field == "user_id" else None, error.message)
        else:
            messages.success(request, f"{membership.user.name} added to {group.name}.")
            return redirect("admin_group", group_id=group.pk)
    return _group_page(request, group, member_form=form)


@require_POST
@admin_required
def admin_group_member_remove(request: HttpRequest, group_id: int, membership_id: int) -> HttpResponse:
    group = selectors.access_group(account=request.account, group_id=group_id)
    membership = selectors.access_group_membership(account=request.account, membership_id=membership_id)
    if group is None or membership is None or membership.group_id != group.pk:
        return not_found(request)
    services.group_membership_delete(account=request.account, membership=membership, actor=request.user)
    messages.success(request, f"{membership.user.name} removed from {group.name}.")
    return redirect("admin_group", group_id=group.pk)


# --- Error pages and the favicon ----------------------------------------------------
# Django calls these only with DEBUG off (with it on, it shows its technical pages, which
# list every URL pattern and the settings): production, the tests, and the demo unless
# SC_DEBUG asks for them.
SERVER_ERROR_BODY = failures.SERVER_ERROR_BODY  # the 500's envelope (plus its "error_id")
FORBIDDEN_API_ERROR = "Forbidden"


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return not_found(request)


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    """A refused page says why (the exception's message is written for people) and
    leads back to the start page; the API answers JSON like its other errors."""
    message = str(exception or "")
    if failures.wants_json(request):  # the API, and the pages' JSON routes and scripts
        return JsonResponse({"error": FORBIDDEN_API_ERROR, "description": message or "Forbidden"}, status=403)
    return TemplateResponse(request, "403.html", {"exception": message}, status=403).render()


def error_500(request: HttpRequest) -> HttpResponse:
    """What a middleware raised (a view's exception is answered by supportcenter.failures'
    middleware first): 503 for an outage of the database or Redis, else 500 with an error id;
    JSON for the API, a page rendered without the request's context for people."""
    return failures.server_error(request)


@lru_cache(maxsize=1)
def _favicon_svg() -> bytes:
    return Path(finders.find("favicon.svg")).read_bytes()


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links to: the same SVG icon."""
    response = HttpResponse(_favicon_svg(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
