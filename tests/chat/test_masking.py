"""Contact details never reach a chat message (chat.masking): UK phone formats (digits or spelled out), emails, card numbers."""

from __future__ import annotations

import pytest

from chat.masking import HIDDEN, mask_contact_details

PHONES = [
    "07700 900123",
    "07700900123",
    "+44 7700 900123",
    "+447700900123",
    "0044 7700 900 123",
    "+44 (0)20 7946 0958",
    "(020) 7946 0958",
    "020-7946-0958",
    "0 7 7 0 0 9 0 0 1 2 3",
    "07700.900.123",
    "oh seven seven oh oh nine oh oh one two three",
    "zero seven seven double oh, nine double oh one two three",
    "Oh-Seven-Seven-Zero-Zero 900123",
    "07700 nine oh oh one two three",
    "nought two nought seven nine four six nought nine five eight",
]
EMAILS = [
    "bob.smith+work@gmail.co.uk",
    "bob at gmail dot com",
    "bob (at) gmail (dot) com",
    "bob [at] mail [dot] co [dot] uk",
    "bob at gmail.com",
]
KEPT = [
    "£1,250.00 for two days",
    "10:30 on 21/11/2026",
    "12 High Street, N1 9GU",
    "I can come at 9 or at 10",
    "See you at 10am. Thanks!",
    "Quote ref 123456",
    "Flat 3, 221B Baker St",
    "One or two days, three at most; oh, and four lads",
    "two, three, four, five, six, seven, eight, nine",
    "Seven thousand seven hundred pounds",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_hidden(phone: str) -> None:
    text, changed = mask_contact_details(f"Call me on {phone} after six")
    assert text == f"Call me on {HIDDEN} after six" and changed


@pytest.mark.parametrize("email", EMAILS)
def test_emails_are_hidden(email: str) -> None:
    text, changed = mask_contact_details(f"Write to {email} please")
    assert text == f"Write to {HIDDEN} please" and changed


def test_card_numbers_are_removed_by_the_shared_scrubber() -> None:
    text, changed = mask_contact_details("My card is 4242 4242 4242 4242, take the deposit")
    assert "4242" not in text and "[card number removed]" in text and changed


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask_contact_details(text) == (text, False)
