"""Account writes: sign-up (the account and its email address row, which allauth verifies)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from marketplace.cards import redact_card_numbers
from marketplace.errors import Refusal, ServiceError

from .models import User


def user_sign_up(*, username: str, email: str, password: str, role: str, display_name: str = "", time_zone: str = "Europe/London") -> User:
    """Create a customer or tradesperson account. Staff accounts are made in admin only.

    Raises ServiceError (400) for a taken username, an unknown role or a weak password.
    """
    if role not in (User.Role.CUSTOMER, User.Role.TRADESPERSON):
        raise ServiceError("Choose whether you are a customer or a tradesperson.", code="bad_role", kind=Refusal.INVALID)
    display_name = redact_card_numbers(display_name)
    candidate = User(username=username, email=email, role=role, display_name=display_name, time_zone=time_zone)
    try:
        validate_password(password, candidate)
        candidate.full_clean(exclude=["password"], validate_unique=False)  # uniqueness: the database decides
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="invalid_account", kind=Refusal.INVALID) from exc
    try:
        with transaction.atomic():
            candidate.set_password(password)
            candidate.save()
            if candidate.email:
                # Unverified until the emailed link is followed; the pages remind them meanwhile.
                EmailAddress.objects.create(user=candidate, email=candidate.email, primary=True, verified=False)
    except IntegrityError as exc:
        raise ServiceError("That username is taken.", code="username_taken", kind=Refusal.INVALID) from exc
    return candidate
