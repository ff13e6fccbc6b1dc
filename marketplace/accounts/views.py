"""Account pages: sign-up, the rate-limited sign-in, and the sessions page.

Everything else (password reset and change, email verification and change, TOTP) is django-allauth's,
in our look (templates/account/, templates/mfa/, templates/allauth/).
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.views import LoginView
from allauth.usersessions.models import UserSession
from allauth.usersessions.views import ListUserSessionsView
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from marketplace import ratelimit
from marketplace.errors import ServiceError
from marketplace.ratelimit import login_key

from .forms import SignUpForm
from .presenters import session_rows
from .services import user_sign_up

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
