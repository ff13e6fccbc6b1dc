"""Contact details stay masked in job chat (both ways), so the platform stays the place to deal.

The rule, applied to every message before it is stored, published or shown:

1. card numbers go first (:func:`jobs.services.scrub`: 13-19 digits passing Luhn -> "[card number removed]");
2. email addresses (``name@host.tld``, also spelled out:
   ``name (at) host (dot) com``, ``name at host dot com``, ``name at host.com``);
3. phone numbers: any run of 10 or more digits, optionally starting with ``+`` or ``00``, where the digits
   may be separated by spaces, dots, dashes or brackets (at most two between digits) ("07700 900123", "+44 (0)20 7946 0958",
   "0 7 7 0 0 9 0 0 1 2 3", "077-009-00123").  UK numbers have 10 or 11 digits (12 with +44).

Each is replaced by ``[contact details hidden]``.  Shorter numbers (prices, house numbers, dates,
times, postcodes) are left alone.  It is a deterrent, not a guarantee: spelled-out digits pass.
"""

from __future__ import annotations

import re

HIDDEN = "[contact details hidden]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SPELLED_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+\s*(?:\(at\)|\[at\])\s*[A-Za-z0-9-]+(?:(?:\s*(?:\(dot\)|\[dot\])\s*|\.)[A-Za-z]{2,})+"
    r"|[A-Za-z0-9._%+-]+\s+at\s+[A-Za-z0-9-]+(?:\s+dot\s+[A-Za-z]{2,})+"
    r"|[A-Za-z0-9._%+-]+\s+at\s+[A-Za-z0-9-]+\.(?:com|net|org|co\.uk|org\.uk|uk|io)\b",
    re.IGNORECASE,
)
# A digit, then digits each preceded by at most two separators (or "(0)"), 10+ digits in all.
_PHONE = re.compile(r"(?:\+|\b00)?\(?\d(?:(?:[ .\-()]{1,2}|\s?\(0\)\s?)?\d){9,}")


def mask_contact_details(text: str) -> tuple[str, bool]:
    """``text`` with card numbers, emails and phone numbers hidden; and whether anything changed."""
    from jobs.services import scrub  # jobs imports a lot; this module stays cheap to import

    masked = scrub(text)
    masked = _EMAIL.sub(HIDDEN, masked)
    masked = _SPELLED_EMAIL.sub(HIDDEN, masked)
    masked = _PHONE.sub(HIDDEN, masked)
    return masked, masked != text
