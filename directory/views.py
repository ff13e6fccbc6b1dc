"""The pro directory page (/pros/): search by trade and postcode, best first. Public; the profile page is ``jobs.views.pro_public``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jobs import places
from jobs.selectors import trades_all
from marketplace.errors import ServiceError

from . import query, selectors


def directory(request: HttpRequest) -> HttpResponse:
    trade = request.GET.get("trade", "")
    postcode = request.GET.get("postcode", "")
    context: dict[str, object] = {"trades": trades_all(), "places": places.all_places(), "trade": trade, "postcode": postcode}
    searched = bool(trade or postcode)
    if searched:
        try:
            q = query.parse(trade=trade, postcode=postcode, page=request.GET.get("page", 1))
        except ServiceError as exc:
            context["error"] = exc.message
        else:
            page = selectors.search(trade=q.trade, place=q.place, page=q.page)
            base = {"trade": q.trade, "postcode": q.postcode}
            context.update(
                page=page,
                next_url=f"?{urlencode({**base, 'page': page.page + 1})}" if page.has_next else "",
                previous_url=f"?{urlencode({**base, 'page': page.page - 1})}" if page.has_previous else "",
                trade_name=next((t.name for t in context["trades"] if t.slug == q.trade), ""),  # type: ignore[attr-defined]
            )
    context["searched"] = searched
    return render(request, "directory/search.html", context)
