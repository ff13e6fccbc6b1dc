"""A tradesperson's payout pages: ``/payouts/`` (balance, next payout, history) and ``/payouts/<id>/`` (the statement).

Only the tradesperson (and staff) see them; anyone else gets a 404. Times are shown in the viewer's
time zone (``marketplace.middleware`` activates it).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketplace.accounts.models import User

from .models import Payout
from .presenters import STATUS_SENTENCES, statement_lines
from .selectors import payout_balance, payout_for_viewer, payouts_of


def _every(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return "every day" if days == 1 else f"every {days} days"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "every hour" if hours == 1 else f"every {hours} hours"
    return f"every {max(1, seconds // 60)} minutes"


@login_required
@require_GET
def payouts_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not user.is_tradesperson:
        raise Http404("Payouts are for tradespeople.")
    context = {
        "balance": payout_balance(tradesperson_id=user.pk),
        "payouts": list(payouts_of(tradesperson_id=user.pk)[:100]),
        "run_every": _every(int(settings.PAYOUTS["RUN_EVERY_S"])),
    }
    return render(request, "payments/payouts.html", context)


@login_required
@require_GET
def statement_page(request: HttpRequest, payout_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    payout = payout_for_viewer(viewer=user, payout_id=payout_id)
    context = {"payout": payout, "lines": statement_lines(payout), "status_sentence": STATUS_SENTENCES[Payout.Status(payout.status)]}
    return render(request, "payments/statement.html", context)
