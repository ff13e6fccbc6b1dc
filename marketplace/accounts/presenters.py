"""What the sessions page shows of a session: a device a person recognises, an address cut short, last seen."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"), ("Mac OS X", "Mac"), ("Linux", "Linux"))


@dataclass(frozen=True)
class SessionRow:
    pk: int
    device: str
    address: str
    last_seen: datetime
    signed_in: datetime
    current: bool


def device(user_agent: str) -> str:
    """'Chrome on Mac' from a user-agent string; 'Unknown device' when it says nothing we know."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def short_address(ip: str) -> str:
    """The network part only: 203.0.113.x, 2001:db8:1:…; enough to recognise, not to locate."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if parsed.version == 4:
        return ".".join(ip.split(".")[:3]) + ".x"
    return ":".join(parsed.exploded.split(":")[:3]) + ":…"


def session_rows(sessions: Iterable[Any], *, current_key: str | None) -> list[SessionRow]:
    """This session first, then the others, most recently seen first."""
    rows = [
        SessionRow(
            pk=s.pk,
            device=device(s.user_agent),
            address=short_address(s.ip),
            last_seen=s.last_seen_at,
            signed_in=s.created_at,
            current=s.session_key == current_key,
        )
        for s in sessions
    ]
    return sorted(rows, key=lambda r: (not r.current, -r.last_seen.timestamp()))
