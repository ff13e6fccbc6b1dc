"""``{% team_role as role %}``: the signed-in user's role in their business ("owner", "dispatcher", "technician"
or ""), so the navigation shows each role its own pages (scheduling.team decides)."""

from __future__ import annotations

from typing import Any

from django import template

from scheduling.team import membership

register = template.Library()


@register.simple_tag(takes_context=True)
def team_role(context: dict[str, Any]) -> str:
    request = context.get("request")
    member = membership(getattr(request, "user", None))
    return str(member.role) if member is not None else ""
