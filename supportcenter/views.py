from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportcenter import selectors, services
from supportcenter.auth import admin_required, member_required
from supportcenter.errors import ServiceError
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
    template_name = "supportcenter/login.html"
    authentication_form = AccountLoginForm
    redirect_authenticated_user = False
    http_method_names = ["get", "post", "options"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.account is None:
            return landing(request)
        return super().dispatch(request, *args, **kwargs)


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


@require_GET
@admin_required
def admin_members(request: HttpRequest) -> HttpResponse:
    return render(
        request, "supportcenter/admin_members.html", {"members": selectors.member_list(account=request.account)}
    )


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


# --- Error pages and the favicon ----------------------------------------------------
# Django calls these only with DEBUG off (with it on, it shows its technical pages, which
# list every URL pattern and the settings): production, the tests, and the demo unless
# SC_DEBUG asks for them.
SERVER_ERROR_BODY = {"error": "ServerError", "description": "Something went wrong on our side. Try again."}
FORBIDDEN_API_ERROR = "Forbidden"


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return not_found(request)


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    """A refused page says why (the exception's message is written for people) and
    leads back to the start page; the API answers JSON like its other errors."""
    message = str(exception or "")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": FORBIDDEN_API_ERROR, "description": message or "Forbidden"}, status=403)
    return TemplateResponse(request, "403.html", {"exception": message}, status=403).render()


def error_500(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context: the failure may be the database, which the
    context processors (account, membership) would need again."""
    if request.path.startswith("/api/"):
        return JsonResponse(SERVER_ERROR_BODY, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())


@lru_cache(maxsize=1)
def _favicon_svg() -> bytes:
    return Path(finders.find("favicon.svg")).read_bytes()


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links to: the same SVG icon."""
    response = HttpResponse(_favicon_svg(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
