"""The notification centre and the bell's unread count."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .models import Notification
from .selectors import notifications_for, unread_count
from .services import notification_mark_read

PAGE_SIZE = 100


def _uid(request: HttpRequest) -> int:
    pk = request.user.pk
    assert pk is not None  # login_required
    return int(pk)


def notification_json(item: Notification) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "url": item.url,
        "unread": item.read_at is None,
        "created_at": item.created_at.isoformat(),
        "created_display": date_filter(timezone.localtime(item.created_at), "D j M Y, H:i"),
    }


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    items = notifications_for(recipient_id=_uid(request))[:PAGE_SIZE]
    return render(request, "notifications/list.html", {"items": items, "unread": unread_count(recipient_id=_uid(request))})


@login_required
@require_GET
def notifications_json(request: HttpRequest) -> JsonResponse:
    items = notifications_for(recipient_id=_uid(request))[:PAGE_SIZE]
    return JsonResponse({"notifications": [notification_json(n) for n in items], "unread": unread_count(recipient_id=_uid(request))})


@login_required
@require_GET
def unread_count_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"unread": unread_count(recipient_id=_uid(request))})


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    changed = notification_mark_read(recipient_id=_uid(request))
    if changed:
        messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} as read.")
    return redirect("notifications")


@login_required
@require_GET
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (only ever within this site)."""
    item = get_object_or_404(notifications_for(recipient_id=_uid(request)), pk=notification_id)
    notification_mark_read(recipient_id=_uid(request), notification_ids=[item.pk])
    if item.url and url_has_allowed_host_and_scheme(item.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(item.url)
    return redirect("notifications")
