"""Template tags that drop the directory's parts into other apps' pages (the public profile's live badges)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from jobs.models import TradespersonProfile
from marketplace.accounts.models import User
from reviews.streams import pro_stream

from ..selectors import badges_of_pro

register = template.Library()


@register.inclusion_tag("directory/_pro_badges.html", takes_context=True)
def pro_badges_panel(context: dict[str, Any], pro: TradespersonProfile) -> dict[str, Any]:
    """The profile's credential badges (verified, unexpired), live on ``pro.<id>`` for signed-in viewers (static/js/pro-badges.js)."""
    user = context["request"].user
    signed_in = isinstance(user, User) and user.is_authenticated
    return {
        "badges": badges_of_pro(user_id=pro.user_id),
        "config": {
            "stream": pro_stream(pro.user_id) if signed_in else None,
            "badges_url": reverse("api-pro-badges", args=[pro.user_id]),
        },
    }
