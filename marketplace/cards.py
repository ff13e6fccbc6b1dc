"""Card numbers in free text: found (:func:`luhn_like_numbers`) to scan the database, logs and topics
for card data that should never be there, and removed (:func:`redact_card_numbers`) from anything a
person types (names, descriptions, messages) before it is stored.
"""

from __future__ import annotations

import re

# Digits in groups joined by single spaces or dashes: "4242 4242 4242 4242", "4000-0566-5566-5556".
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_number_spans(text: str) -> list[tuple[int, int]]:
    """Where card-like numbers are in ``text``: whole digit groups, 13-19 digits in all, passing Luhn; leftmost and longest first."""
    spans: list[tuple[int, int]] = []
    uuids = [(m.start(), m.end()) for m in _UUID.finditer(text)]
    for run in _DIGIT_RUN.finditer(text):
        for groups in _standalone_groups(text, run.start(), run.end(), uuids):
            _find_cards(text, groups, spans)
    return spans


def _touches_a_word(text: str, start: int, end: int) -> bool:
    """True if the digit group at ``start:end`` is glued to a letter or underscore (part of an id such as a UUID or a hex key)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before.isalpha() or before == "_" or after.isalpha() or after == "_"


def _standalone_groups(text: str, start: int, end: int, uuids: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The run's digit groups, split wherever a group is part of a word or of a UUID: a card number is written as whole numbers.

    Without this, about 0.3 % of UUIDs ("…c3-1234-5678-9012-345…") contain a Luhn-valid run.
    """
    pieces: list[list[tuple[int, int]]] = [[]]
    for group in _DIGIT_GROUP.finditer(text, start, end):
        in_uuid = any(u_start <= group.start() < u_end for u_start, u_end in uuids)
        if in_uuid or _touches_a_word(text, group.start(), group.end()):
            pieces.append([])
        else:
            pieces[-1].append((group.start(), group.end()))
    return [piece for piece in pieces if piece]


def _find_cards(text: str, groups: list[tuple[int, int]], spans: list[tuple[int, int]]) -> None:
    """Add the card-like spans among consecutive ``groups``: 13-19 digits in all, passing Luhn; leftmost and longest first."""
    first = 0
    while first < len(groups):
        digits, found = "", -1
        for last in range(first, len(groups)):
            digits += text[groups[last][0] : groups[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _luhn_ok(digits):
                found = last
        if found < 0:
            first += 1
        else:
            spans.append((groups[first][0], groups[found][1]))
            first = found + 1


def luhn_like_numbers(text: str) -> list[str]:
    """Card-like numbers in ``text``, as written there: 13-19 digits passing the Luhn check, groups joined by single spaces or dashes.

    Made to scan stored rows, logs and event topics for card numbers that should never be there.
    The list is the only place this module ever puts a number it finds: it logs nothing and
    raises nothing that contains one. What to do with them is the caller's decision; report a
    location and :func:`redact_card_numbers`' output, never the numbers themselves. A run of
    digits is split only at its spaces or dashes, so a 20-digit reference is not reported, and a
    card number joined to other digits by a space may be reported with or without them. Digits
    glued to a letter or underscore, or inside a UUID, belong to an identifier (event ids, hex
    keys) and are not reported: otherwise about 1 UUID in 330 would look like a card.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    return [text[start:end] for start, end in _card_number_spans(text)]


def redact_card_numbers(text: str, replacement: str = "[card number removed]") -> str:
    """``text`` with every number :func:`luhn_like_numbers` finds replaced, safe to log or show."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    parts: list[str] = []
    position = 0
    for start, end in _card_number_spans(text):
        parts += [text[position:start], replacement]
        position = end
    return "".join([*parts, text[position:]])


def has_card_length_digit_run(text: str) -> bool:
    """13 or more digits in a row (spaces or dashes allowed), Luhn or not: the length of a card number."""
    return any(sum(char.isdigit() for char in run.group()) >= 13 for run in _DIGIT_RUN.finditer(text))
