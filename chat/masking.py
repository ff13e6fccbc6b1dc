"""Contact details stay masked in job chat (both ways), so the platform stays the place to deal.

The rule, applied to every message before it is stored, published or shown:

1. card numbers go first (:func:`jobs.services.scrub`: 13-19 digits passing Luhn -> "[card number removed]");
2. email addresses (``name@host.tld``, also spelled out:
   ``name (at) host (dot) com``, ``name at host dot com``, ``name at host.com``);
3. phone numbers: any run of 10 or more digits, optionally starting with ``+`` or ``00``, where the digits
   may be separated by spaces, dots, dashes or brackets (at most two between digits) ("07700 900123", "+44 (0)20 7946 0958",
   "0 7 7 0 0 9 0 0 1 2 3", "077-009-00123").  UK numbers have 10 or 11 digits (12 with +44).

4. phone numbers spelled out, alone or mixed with digits: a run of number words (``zero``/``oh``/``nought``
   to ``nine``, ``double``/``triple`` before one) and digit groups, separated by spaces, commas, dots
   or dashes, worth 10 or more digits ("oh seven seven double oh, nine hundred..." does not count
   "hundred": a run stops at any other word).

Each is replaced by ``[contact details hidden]``.  Shorter numbers (prices, house numbers, dates,
times, postcodes) are left alone.  It is a deterrent, not a guarantee: "seven thousand seven hundred"
or digits hidden in other words pass.
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


_DIGIT_WORD = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)"
_NUMBER_TOKEN = re.compile(rf"\b(?:(double|triple)[\s-]+(?:{_DIGIT_WORD}|\d)|{_DIGIT_WORD})\b|\d+", re.IGNORECASE)
_RUN_GAP = re.compile(r"[\s,.\-/]{0,3}")
_REPEATS = {"double": 2, "triple": 3}


def _mask_spelled_numbers(text: str) -> str:
    """Runs of number words (and digit groups) worth 10+ digits, with at least one word, become HIDDEN."""
    tokens = list(_NUMBER_TOKEN.finditer(text))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        j, digits, words = i, 0, 0
        while True:
            token = tokens[j]
            repeat = token.group(1)
            if token.group(0)[0].isdigit():
                digits += len(token.group(0))
            else:
                digits += _REPEATS[repeat.lower()] if repeat else 1
                words += 1
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            if nxt is None or not _RUN_GAP.fullmatch(text, token.end(), nxt.start()):
                break
            j += 1
        if digits >= 10 and words:
            spans.append((tokens[i].start(), tokens[j].end()))
        i = j + 1
    for start, end in reversed(spans):
        text = text[:start] + HIDDEN + text[end:]
    return text


def mask_contact_details(text: str) -> tuple[str, bool]:
    """``text`` with card numbers, emails and phone numbers hidden; and whether anything changed."""
    from jobs.services import scrub  # jobs imports a lot; this module stays cheap to import

    masked = scrub(text)
    masked = _EMAIL.sub(HIDDEN, masked)
    masked = _SPELLED_EMAIL.sub(HIDDEN, masked)
    masked = _mask_spelled_numbers(masked)
    masked = _PHONE.sub(HIDDEN, masked)
    return masked, masked != text
