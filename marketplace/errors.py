"""Domain errors: a business rule said no.

Services, consumers and forms raise :class:`ServiceError` with a stable ``code`` (clients switch on
it), a ``message`` for people and a :class:`Refusal` kind saying what sort of "no" it is.  Nothing
here knows about HTTP: the API layer (``marketplace.api_errors``) maps each kind to a status code
and renders the one JSON error shape; pages show the message next to a field or as a flash.
"""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    INVALID = "invalid"  # the values break a rule (a past time, an amount too large)
    FORBIDDEN = "forbidden"  # this user may not do this to this object
    NOT_FOUND = "not_found"  # no such object, or not one this user may see
    CONFLICT = "conflict"  # the object's state does not allow it now (illegal transition, job closed)
    DECLINED = "declined"  # the card was declined: nothing charged, nothing changed
    RATE_LIMITED = "rate_limited"  # too many of these; wait and retry
    UNAVAILABLE = "unavailable"  # a dependency (the payment provider) is briefly away; retry


class ServiceError(Exception):
    """A business rule refused the request (illegal transition, duplicate, not yours, ...).

    ``field``: the input the refusal is about (e.g. ``options[0].lines[3].unit_price``), when one is.
    """

    kind: Refusal = Refusal.CONFLICT
    default_code = "conflict"

    def __init__(self, message: str, code: str | None = None, kind: Refusal | None = None, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if kind is not None:
            self.kind = kind
        self.field = field

    def __str__(self) -> str:
        return self.message
