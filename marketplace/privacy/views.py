"""The account's privacy page: download my data, delete my account."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from marketplace.accounts.models import User
from marketplace.errors import ServiceError

from .forms import EraseForm
from .selectors import ExportEncoder, user_export
from .services import erasure_blockers, user_erase


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def export_response(user: User) -> HttpResponse:
    """The person's data as a JSON download (the page, the API and the admin's subject access request share it)."""
    body = json.dumps(user_export(user=user), cls=ExportEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tradelink-data-{user.pk}.json"'
    return response


@login_required
def privacy_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not user.check_password(form.cleaned_data["password"]):
            form.add_error("password", "That is not your password.")
        else:
            try:
                user_erase(user=user, actor=user)
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                logout(request)
                messages.success(request, "Your account is deleted. Thank you for using TradeLink.")
                return redirect("home")
    return render(request, "privacy/account.html", {"form": form, "blockers": erasure_blockers(user=user), "here": "account"})


@login_required
def download_my_data(request: HttpRequest) -> HttpResponse:
    return export_response(_user(request))
