"""``{% email_unverified as nag %}``: the reminder every page shows until the account's email is confirmed."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def email_unverified(context: dict[str, Any]) -> bool:
    """True when the signed-in person has an email address and none of their addresses is confirmed."""
    user = context.get("user")
    if user is None or not user.is_authenticated or not user.email:
        return False
    return not EmailAddress.objects.filter(user=user, verified=True).exists()
