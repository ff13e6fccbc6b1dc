"""Browser pages for insights: the tradesperson's dashboard and the staff platform dashboard.

Both are drawn by ``static/js/insights.js`` (charts with the vendored Chart.js) from the insights
API, filter by UTC date range and trade, link a CSV export with the same filters, and refetch when
the ``insights`` consumer pushes ``insights.changed`` on their stream.
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from marketplace.accounts.models import User

from .models import PLATFORM
from .selectors import Filters, trades_for
from .streams import PLATFORM_STREAM, pro_stream


def _page(request: HttpRequest, *, scope: int, title: str, api: str, csv: str, stream: str) -> HttpResponse:
    filters = Filters.default()
    config = {
        "api_url": reverse(api),
        "csv_url": reverse(csv),
        "stream": stream,
        "platform": scope == PLATFORM,
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
    }
    context = {"title": title, "trades": trades_for(scope=scope), "config": config, "platform": scope == PLATFORM}
    return render(request, "insights/dashboard.html", context)


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if user.is_tradesperson:
        return _page(request, scope=user.pk, title="Your insights", api="api-insights", csv="api-insights-csv", stream=pro_stream(user.pk))
    if user.is_staff:
        return redirect("insights-platform")
    raise Http404("Insights are for tradespeople.")


@staff_member_required
@require_GET
def platform_page(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        scope=PLATFORM,
        title="Platform insights",
        api="api-insights-platform",
        csv="api-insights-platform-csv",
        stream=PLATFORM_STREAM,
    )
