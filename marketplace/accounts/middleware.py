"""Staff need a second factor: a staff account without an activated TOTP authenticator is sent to set one
up before any staff page (admin, platform insights, ...).  Once set, allauth asks for the code at sign-in."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

# Pages a staff member without TOTP may still open: setting it up, signing out, and what is not a staff page.
STAFF_PREFIXES = ("/admin/", "/insights/platform/")


def needs_totp(user: object) -> bool:
    """True for a staff account with no TOTP authenticator (a session of it may not see staff pages)."""
    if not getattr(user, "is_staff", False):
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class StaffTotpMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.STAFF_REQUIRE_TOTP
            and request.path.startswith(STAFF_PREFIXES)
            and request.user.is_authenticated
            and needs_totp(request.user)
        ):
            messages.info(request, "Staff accounts need a second factor. Set up an authenticator app to continue.")
            return redirect("mfa_activate_totp")
        return self.get_response(request)
