"""``{% pro_offerings pro user %}``: a tradesperson's bookable services on their public profile.

A template tag, so the profile page (a jobs view) shows what the quotes app sells without jobs importing quotes.
"""

from __future__ import annotations

from typing import Any

from django import template

from quotes.forms import duration_label
from quotes.selectors import offerings_of

register = template.Library()


@register.inclusion_tag("quotes/_pro_offerings.html")
def pro_offerings(pro: Any, user: Any) -> dict[str, Any]:
    rows = [(o, duration_label(o.duration_minutes)) for o in offerings_of(pro_id=pro.user_id)]
    # Anyone may look; customers (and visitors, who are asked to log in) may book.
    return {"rows": rows, "can_book": not getattr(user, "is_tradesperson", False)}
