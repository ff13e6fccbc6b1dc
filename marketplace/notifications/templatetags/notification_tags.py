"""``{% unread_notifications %}``: the bell's count when a page is rendered (the live push keeps it current)."""

from __future__ import annotations

from typing import Any

from django import template

from marketplace.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return unread_count(recipient_id=user.pk)
