"""Account pages: sign-up, the rate-limited sign-in, the sessions page and API tokens.

Everything else (password reset and change, email verification and change, TOTP) is django-allauth's,
in our look (templates/account/, templates/mfa/, templates/allauth/).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from allauth.account.views import LoginView
from allauth.usersessions.models import UserSession
from allauth.usersessions.views import ListUserSessionsView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from marketplace import ratelimit
from marketplace.errors import Refusal, ServiceError
from marketplace.ratelimit import login_key

from .forms import ApiTokenForm, SignUpForm
from .models import User
from .presenters import session_rows
from .selectors import api_tokens_of
from .services import api_token_create, api_token_revoke, api_tokens_revoke_all, user_sign_up

SERVICE_ERROR_FIELDS = {"username_taken": "username", "bad_role": "role"}


def signup(request: HttpRequest) -> HttpResponse:
    """Create the account, log the person in, and send a tradesperson on to their business profile."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_sign_up(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                role=data["role"],
                display_name=data["display_name"],
                time_zone=data["time_zone"],
            )
        except ServiceError as exc:
            form.add_error(SERVICE_ERROR_FIELDS.get(exc.code), exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            send_verification(request, user)
            if user.is_tradesperson:
                messages.success(request, "Welcome to TradeLink! Finish your business profile so we can send you leads.")
                return redirect("profile")
            messages.success(request, "Welcome to TradeLink! Post your first job whenever you're ready.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def send_verification(request: HttpRequest, user: Any) -> None:
    """Email the new account's address a verification link (sent after the commit, by the adapter)."""
    address = EmailAddress.objects.filter(user=user, primary=True, verified=False).first()
    if address is not None:
        address.send_confirmation(request, signup=True)


class RateLimitedLoginView(LoginView):
    """allauth's sign-in page (username or email; then the TOTP code for an account that has one), refusing
    rapid repeated attempts for one account from one address (429) with our limiter (RATE_LIMITS["login"])."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            ratelimit.check("login", login_key(request, request.POST.get("login", "")), what="sign-in attempts")
        except ratelimit.RateLimited as exc:
            form = self.get_form()  # bound, so the username stays filled in; not validated (no password check)
            response = self.render_to_response(self.get_context_data(form=form, rate_limited=exc.message), status=429)
            response["Retry-After"] = str(exc.wait)
            return response
        return super().post(request, *args, **kwargs)


class SessionsView(ListUserSessionsView):
    """Your sessions: each signed-in browser (device, shortened address, last seen; this one marked), each with
    "Sign out", and "Sign out everywhere else" (allauth's form on this page)."""

    template_name = "usersessions/usersession_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rows"] = session_rows(context["sessions"], current_key=self.request.session.session_key)
        return context


@login_required
@require_POST
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign one of your own sessions out: its next request is anonymous."""
    session = UserSession.objects.filter(user=request.user, pk=pk).first()
    if session is None:
        raise Http404
    if session.session_key == request.session.session_key:
        return redirect("logout")
    session.end()
    messages.success(request, "That session is signed out.")
    return redirect("usersessions_list")


def _token_uid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise ServiceError(
            "That API token does not exist (it may already be revoked).", code="token_not_found", kind=Refusal.NOT_FOUND
        ) from exc


@login_required
@never_cache  # the page that shows a new token must never be kept by a browser or proxy cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """See, create and revoke API tokens. A new token is shown on the page that made it, once; only its hash is kept."""
    user = request.user
    assert isinstance(user, User)  # login_required
    form = ApiTokenForm(request.POST if request.POST.get("action") == "create" else None)
    created: str | None = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create" and form.is_valid():
                _, created = api_token_create(user=user, label=form.cleaned_data["label"])
                form = ApiTokenForm()
            elif action == "revoke":
                api_token_revoke(user=user, uid=_token_uid(request.POST.get("token", "")))
                messages.success(request, "Token revoked. Apps using it are signed out.")
                return redirect("api-tokens-page")
            elif action == "revoke_all":
                count = api_tokens_revoke_all(user=user)
                messages.success(request, f"{count} token{'s' if count != 1 else ''} revoked. Every app is signed out.")
                return redirect("api-tokens-page")
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("api-tokens-page")
    context = {"form": form, "created": created, "tokens": list(api_tokens_of(user=user)), "ttl_days": settings.API_TOKEN_TTL_HOURS // 24}
    return render(request, "registration/api_tokens.html", context)
