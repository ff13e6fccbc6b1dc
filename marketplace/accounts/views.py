"""Account pages: sign-up (log-in and log-out are Django's own views)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from marketplace import ratelimit
from marketplace.errors import ServiceError
from marketplace.ratelimit import login_key

from .forms import SignUpForm
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
            if user.is_tradesperson:
                messages.success(request, "Welcome to TradeLink! Finish your business profile so we can send you leads.")
                return redirect("profile")
            messages.success(request, "Welcome to TradeLink! Post your first job whenever you're ready.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


class RateLimitedLoginView(LoginView):
    """Django's sign-in page, refusing rapid repeated attempts for one account from one address (429)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            ratelimit.check("login", login_key(request, request.POST.get("username", "")), what="sign-in attempts")
        except ratelimit.RateLimited as exc:
            form = self.get_form()  # bound, so the username stays filled in; not validated (no password check)
            response = self.render_to_response(self.get_context_data(form=form, rate_limited=exc.message), status=429)
            response["Retry-After"] = str(exc.wait)
            return response
        return super().post(request, *args, **kwargs)
