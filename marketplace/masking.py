"""Contact details are hidden in every free text another party or the public can read, so the platform stays the place to deal.

One module, applied at write time (the text is stored masked) by every service that saves such text: chat
messages, bid messages, quote notes and line descriptions, job titles and descriptions, tradesperson bios,
reviews and review replies.  :func:`mask_contact_details` returns the masked text and whether anything was
hidden, so the writer can be told; :func:`mask` is the one-line form the services call.

What is hidden, in this order:

1. card numbers (:func:`marketplace.cards.redact_card_numbers`, the one card redactor: 13-19 digits passing
   Luhn -> ``[card number removed]``);
2. links: ``http(s)://...``, ``www....`` and bare domains (``mysite.co.uk``, ``wa.me/...``), also spelled
   ``mysite dot com``;
3. email addresses: ``name@host.tld`` (spaces around ``@`` and ``.`` allowed), ``name (at) host (dot) com``,
   ``name at host dot com``, ``name at host.com``, ``name at gmail`` (a known mail provider);
4. social handles: ``@handle``, and a handle after a messaging app's name ("insta: joe_plumbs",
   "whatsapp me on joe.plumbs", "fb joe.bloggs99");
5. phone numbers spelled out, alone or mixed with digits: a run of number words (``zero``/``oh``/``nought``
   to ``nine``, ``double``/``triple`` before one) and digit groups worth 10 or more digits;
6. phone numbers in digits: groups of digits separated by up to three spaces or punctuation marks
   (``. - ( ) / _ , * | +``) worth 10 to 16 digits that start like a phone number: ``0`` (UK national, and
   ``00`` international), ``+``, ``44`` or a UK mobile without its 0 (``7`` and exactly 10 digits).  So
   "07700 900123", "+44 (0)20 7946 0958", "0 7 7 0 0 - 9 0 0 - 1 2 3", "0.7.7.0.0.9.0.0.1.2.3" and
   "O77OO 9OO 123" (letter O glued to digits read as zero) all go.

Each is replaced by ``[contact details hidden]``.  Before matching, invisible characters (zero-width spaces,
soft hyphens) are removed, so they cannot split a number.  Ordinary numbers stay: prices ("£1,250.00",
"£1,250 - £1,500"), dates ("21/11/2026"), times ("14:30"), postcodes ("SW1A 1AA"), quantities
("3 radiators"), references under 10 digits.  It is a deterrent, not a guarantee: "seven thousand seven
hundred", digits hidden in other words or a number split over two messages pass.
"""

from __future__ import annotations

import re

from marketplace.cards import redact_card_numbers

HIDDEN = "[contact details hidden]"
# Shown next to a field whose text is masked, and to the writer after saving when something was hidden.
FIELD_HINT = "Phone numbers, emails, links and social handles are hidden automatically."
HIDDEN_NOTICE = (
    "We hid contact details (a phone number, an email, a link or a handle) in what you wrote: keep the conversation on TradeLink."
)

# Zero-width and other invisible characters people use to split a number or an address.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")

_TLD = r"(?:com|net|org|co\.uk|org\.uk|uk|io|me|info|biz|co|eu|online|site|shop|app)"
_SPELLED_TLD = r"(?:com|net|org|co(?:\s+dot\s+uk)?|uk|io|me|info|biz)"
_LINK = re.compile(
    r"\bhttps?://\S+"
    r"|\bwww\.\S+"
    rf"|\b[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.{_TLD}\b(?:/\S*)?"
    r"|\b(?:wa\.me|bit\.ly)/\S*",
    re.IGNORECASE,
)
_SPELLED_LINK = re.compile(rf"\b[A-Za-z0-9][A-Za-z0-9-]*\s+dot\s+{_SPELLED_TLD}\b", re.IGNORECASE)

_MAIL_PROVIDERS = r"(?:gmail|googlemail|hotmail|outlook|yahoo|icloud|aol|btinternet|protonmail|proton|virginmedia|talktalk)"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s*@\s*[A-Za-z0-9-]+(?:\s*\.\s*[A-Za-z0-9-]+)*\s*\.\s*[A-Za-z]{2,}\b")
_SPELLED_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+\s*(?:\(at\)|\[at\]|\{at\})\s*[A-Za-z0-9-]+(?:(?:\s*(?:\(dot\)|\[dot\]|\{dot\})\s*|\.)[A-Za-z]{2,})+"
    rf"|[A-Za-z0-9._%+-]+\s+at\s+[A-Za-z0-9-]+(?:\s+dot\s+[A-Za-z]{{2,}})+"
    rf"|[A-Za-z0-9._%+-]+\s+at\s+[A-Za-z0-9-]+\.{_TLD}\b"
    rf"|[A-Za-z0-9._%+-]+\s+at\s+{_MAIL_PROVIDERS}\b",
    re.IGNORECASE,
)

_APPS = r"(?:whats\s?app|wa|insta(?:gram)?|ig|facebook|fb|snapchat|telegram|tiktok|twitter|linkedin|skype|viber)"
# The app's name, a few linking words ("me on", "is", ":"), then something that looks like a handle
# (has a digit, an underscore, a dot or a leading @); plain words after an app name ("insta is great") stay.
_APP_HANDLE = re.compile(
    rf"\b{_APPS}\b(?:\s*[:\-]\s*|\s+(?:me\s+)?(?:on|at|is|@)?\s*)"
    r"@?(?=[A-Za-z0-9_.]*[0-9_.@])[A-Za-z0-9][A-Za-z0-9_.]{2,}(?<!\.)",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z_][A-Za-z0-9_.]{2,}(?<!\.)")

_DIGIT_WORD = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)"
_NUMBER_TOKEN = re.compile(rf"\b(?:(double|triple)[\s-]+(?:{_DIGIT_WORD}|\d)|{_DIGIT_WORD})\b|\d+", re.IGNORECASE)
_RUN_GAP = re.compile(r"[\s,.\-/]{0,3}")
_REPEATS = {"double": 2, "triple": 3}

# Letter O glued to digits ("O77OO 9OO123") is read as a zero when looking for numbers.
_LETTER_O = re.compile(r"(?<=\d)[Oo]+|[Oo]+(?=\d)")
_DIGITS = re.compile(r"\d+")
_PHONE_GAP = re.compile(r"[\s.\-()/_,*|+]{1,3}")
_PHONE_MIN, _PHONE_MAX = 10, 16


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + HIDDEN + text[end:]
    return text


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
        if digits >= _PHONE_MIN and words:
            spans.append((tokens[i].start(), tokens[j].end()))
        i = j + 1
    return _replace_spans(text, spans)


def _longest_phone(digits: str, plus: bool) -> int:
    """How many digits a phone number starting with ``digits`` can have (0: it does not start like one)."""
    if plus:
        return 15
    if digits.startswith("00"):
        return _PHONE_MAX  # 00 44 (0) 20 7946 0958
    if digits.startswith("44"):
        return 13  # 44 (0) 20 7946 0958
    if digits.startswith("0"):
        return 11
    if digits.startswith("7"):
        return 10  # a UK mobile without its 0
    return 0


def _mask_phone_numbers(text: str) -> str:
    """Digit groups joined by short runs of separators, worth 10+ digits, starting like a phone number, become HIDDEN."""
    readable = _LETTER_O.sub(lambda m: "0" * len(m.group()), text)  # same length: spans map back onto ``text``
    groups = list(_DIGITS.finditer(readable))
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        start = groups[first].start()
        plus = start > 0 and readable[start - 1] == "+"
        digits, found = "", -1
        for last in range(first, len(groups)):
            if last > first and not _PHONE_GAP.fullmatch(readable, groups[last - 1].end(), groups[last].start()):
                break
            digits += groups[last].group()
            if len(digits) > _longest_phone(digits, plus):
                break
            if len(digits) >= _PHONE_MIN:
                found = last
        if found >= 0:
            opening = start - plus - (start - plus > 0 and readable[start - plus - 1] == "(")
            spans.append((opening, groups[found].end()))
            first = found + 1
        else:
            first += 1
    return _replace_spans(text, spans)


def mask_contact_details(text: str) -> tuple[str, bool]:
    """``text`` with card numbers, links, emails, social handles and phone numbers hidden; and whether anything was hidden."""
    visible = _INVISIBLE.sub("", text)
    masked = redact_card_numbers(visible)
    masked = _EMAIL.sub(HIDDEN, masked)
    masked = _SPELLED_EMAIL.sub(HIDDEN, masked)
    masked = _LINK.sub(HIDDEN, masked)
    masked = _SPELLED_LINK.sub(HIDDEN, masked)
    masked = _APP_HANDLE.sub(HIDDEN, masked)
    masked = _HANDLE.sub(HIDDEN, masked)
    masked = _mask_spelled_numbers(masked)
    masked = _mask_phone_numbers(masked)
    return masked, masked != visible


def mask(text: str) -> str:
    """:func:`mask_contact_details` without the flag: what the services store for text another party or the public reads."""
    return mask_contact_details(text)[0]


def has_contact_details(text: str) -> bool:
    """True if :func:`mask_contact_details` would hide something in ``text`` (moderation rules use it)."""
    return mask_contact_details(text)[1]


def hidden_in(*texts: str) -> bool:
    """True if masking hides something in any of ``texts``: views tell the writer with :data:`HIDDEN_NOTICE`."""
    return any(has_contact_details(text) for text in texts if text)
