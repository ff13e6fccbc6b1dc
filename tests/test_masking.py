"""Contact details never reach text another party or the public reads (marketplace.masking): a table of evasions
that must be hidden and of ordinary text that must be kept as it is."""

from __future__ import annotations

import pytest

from marketplace.masking import HIDDEN, has_contact_details, mask, mask_contact_details

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
    "0 7 7 0 0 - 9 0 0 - 1 2 3",
    "0-7-7-0-0-9-0-0-1-2-3",
    "0.7.7.0.0.9.0.0.1.2.3",
    "0/7/7/0/0/9/0/0/1/2/3",
    "07700_900_123",
    "07700*900*123",
    "0,7,7,0,0,9,0,0,1,2,3",
    "(07700) 900 123",
    "07700.900.123",
    "077 00 90 01 23",
    "7700 900123",
    "O77OO 9OO 123",
    "077\u200b00\u200b900\u200b123",
    "oh seven seven oh oh nine oh oh one two three",
    "zero seven seven double oh, nine double oh one two three",
    "ZERO SEVEN SEVEN ZERO ZERO NINE ZERO ZERO ONE TWO THREE",
    "Oh-Seven-Seven-Zero-Zero 900123",
    "07700 nine oh oh one two three",
    "nought two nought seven nine four six nought nine five eight",
]
EMAILS = [
    "bob.smith+work@gmail.co.uk",
    "bob @ gmail . com",
    "bob at gmail dot com",
    "bob (at) gmail (dot) com",
    "bob [at] mail [dot] co [dot] uk",
    "bob {at} mail {dot} com",
    "bob at gmail.com",
    "bob at hotmail",
]
LINKS_AND_HANDLES = [
    "https://bobs-plumbing.example/contact",
    "www.bobsplumbing.co.uk",
    "bobsplumbing.co.uk",
    "bobsplumbing dot com",
    "wa.me/447700900123",
    "@bobs_plumbing",
    "insta @bobs_plumbing",
    "insta: bobs_plumbing",
    "whatsapp me on bob.plumbs",
    "fb bob.smith99",
]
KEPT = [
    "£1,250.00 for two days",
    "£1,250 - £1,500 depending on the valve",
    "1,250.00 - 1,500.00",
    "10:30 on 21/11/2026",
    "between 14:30 and 16:00 on 2026-03-14",
    "12 High Street, N1 9GU",
    "SW1A 1AA",
    "3 radiators, 2 towel rails and 15 m of 22 mm pipe",
    "I can come at 9 or at 10",
    "See you at 10am. Thanks!",
    "Quote ref 123456",
    "Flat 3, 221B Baker St",
    "One or two days, three at most; oh, and four lads",
    "two, three, four, five, six, seven, eight, nine",
    "Seven thousand seven hundred pounds",
    "2 @ £50 each",
    "Meet at the house at noon",
    "The signal is weak in the loft",
    "Is 3.5 kW enough? e.g. a combi",
    "I'm on WhatsApp too",
    "Cistern ballcock and stopcock replaced",
    "20/11/2026 10 radiators",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_hidden(phone: str) -> None:
    text, changed = mask_contact_details(f"Call me on {phone} after six")
    assert text == f"Call me on {HIDDEN} after six" and changed


@pytest.mark.parametrize("email", EMAILS)
def test_emails_are_hidden(email: str) -> None:
    text, changed = mask_contact_details(f"Write to {email} please")
    assert text == f"Write to {HIDDEN} please" and changed


@pytest.mark.parametrize("evasion", LINKS_AND_HANDLES)
def test_links_and_social_handles_are_hidden(evasion: str) -> None:
    text, changed = mask_contact_details(f"Find us: {evasion} thanks")
    assert text == f"Find us: {HIDDEN} thanks" and changed


def test_card_numbers_are_removed_by_the_shared_scrubber() -> None:
    text, changed = mask_contact_details("My card is 4242 4242 4242 4242, take the deposit")
    assert "4242" not in text and "[card number removed]" in text and changed


def test_a_number_next_to_a_price_is_still_hidden() -> None:
    assert mask("£1,250, 07700 900123 to book") == f"£1,250, {HIDDEN} to book"


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text: str) -> None:
    assert mask_contact_details(text) == (text, False)
    assert not has_contact_details(text)
