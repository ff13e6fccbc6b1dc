"""Why a card payment failed, in words a person understands.

A gateway answers a decline with a code (``card_declined``, ``insufficient_funds``,
``unknown_token``, …, see ``payments.gateway.GatewayResult``). Codes are for logs, events and
staff; people read :func:`decline_reason`. In the core because the notification texts
(``jobs``), the payment refusals (``payments``) and the timeline (``timeline``) all word the
same reasons, and they sit in different layers.
"""

from __future__ import annotations

# code -> the end of "Your card was declined: …" / "The deposit payment failed: …"
DECLINE_REASONS: dict[str, str] = {
    "card_declined": "the bank declined the card",
    "insufficient_funds": "the card has insufficient funds",
    "unknown_token": "the card details were not recognised",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the security code was wrong",
    "processing_error": "the bank could not process the payment",
}
DEFAULT_REASON = "the card was not accepted"


def decline_reason(code: str | None) -> str:
    """A lower-case clause for a decline code (or an unknown one, or a sentence a gateway sent): never the raw code.

    A gateway may send a short sentence instead of a code; one with a space in it is passed on
    (without its final full stop), anything that looks like a code is not.
    """
    text = (code or "").strip()
    if text in DECLINE_REASONS:
        return DECLINE_REASONS[text]
    if " " in text and "_" not in text:
        return text.rstrip(".")
    return DEFAULT_REASON
