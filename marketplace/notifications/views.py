"""The notification centre, the bell's unread count, and the inbound-SMS webhook."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from marketplace.accounts.models import User

from .forms import PreferencesForm
from .inbound import InboundRejected, get_inbound_adapter
from .models import Channel, Notification
from .selectors import notifications_for, notifications_with_channels, preferences_for, unread_count
from .services import inbound_sms_receive, notification_mark_read, preferences_update

PAGE_SIZE = 100


def _uid(request: HttpRequest) -> int:
    pk = request.user.pk
    assert pk is not None  # login_required
    return int(pk)


def channels_of(item: Notification) -> list[dict[str, str]]:
    """In-app, then each email/SMS delivery with its status (for the badges)."""
    rows = [{"channel": Channel.IN_APP.value, "label": Channel.IN_APP.label, "status": "sent"}]
    for delivery in item.deliveries.all():
        rows.append({"channel": delivery.channel, "label": Channel(delivery.channel).label, "status": delivery.status})
    return rows


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
        "channels": channels_of(item),
    }


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    items = [(n, channels_of(n)) for n in notifications_with_channels(recipient_id=_uid(request))[:PAGE_SIZE]]
    return render(request, "notifications/list.html", {"items": items, "unread": unread_count(recipient_id=_uid(request))})


@login_required
@require_GET
def notifications_json(request: HttpRequest) -> JsonResponse:
    items = notifications_with_channels(recipient_id=_uid(request))[:PAGE_SIZE]
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


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Which channels to use per category, and the mobile number texts go to."""
    prefs = preferences_for(user_id=_uid(request))
    form = PreferencesForm(request.POST or None, instance=prefs)
    user = request.user
    assert isinstance(user, User)  # login_required
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        preferences_update(
            user=user,
            phone=data["phone"],
            important_email=data["important_email"],
            important_sms=data["important_sms"],
            updates_email=data["updates_email"],
            updates_sms=data["updates_sms"],
        )
        messages.success(request, "Notification settings saved.")
        return redirect("notification-settings")
    return render(request, "notifications/settings.html", {"form": form, "prefs": prefs, "email": user.email})


@csrf_exempt
@require_POST
def sms_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    """``POST /webhooks/sms/<provider>/``: a text from the SMS provider (no session, no CSRF token: it is signed).

    200 ``{"outcome": "received" | "duplicate"}``; 403 when the signature, its age or the body is not to
    be trusted (nothing stored); 404 for a provider that is not the configured one.
    """
    adapter = get_inbound_adapter()
    if provider != adapter.name:
        return JsonResponse({"error": {"code": "unknown_provider", "message": "No such SMS provider here."}}, status=404)
    try:
        message = adapter.parse(request)
    except InboundRejected as exc:
        # The provider (not a person) reads this; the code is stable, the message says what to check.
        return JsonResponse({"error": {"code": exc.code, "message": str(exc)}}, status=403)
    inbound = inbound_sms_receive(provider=adapter.name, message=message)
    return JsonResponse({"outcome": "received" if inbound is not None else "duplicate"})
