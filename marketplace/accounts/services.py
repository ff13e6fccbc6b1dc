"""Account writes: sign-up (the account and its email address row, which allauth verifies), and API tokens
(create, revoke one, revoke all)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.cards import redact_card_numbers
from marketplace.errors import Refusal, ServiceError

from .models import ApiToken, User
from .signals import api_tokens_revoked


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


def api_token_create(*, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A new API token for ``user``, expiring after ``API_TOKEN_TTL_HOURS``; returns the row and the token.

    The token itself is returned only here (the database keeps a hash): show it once.
    Expired tokens of the user are deleted first; more than ``API_TOKENS_PER_USER`` live ones are refused.
    """
    label = redact_card_numbers(label.strip())[:80]
    with transaction.atomic():
        # Serialise token creation per user, so two sign-ins at once cannot pass the limit together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        if ApiToken.objects.filter(user=user).count() >= settings.API_TOKENS_PER_USER:
            raise ServiceError(
                f"You already have {settings.API_TOKENS_PER_USER} API tokens. "
                "Revoke one you no longer use on your API tokens page, then try again.",
                code="too_many_tokens",
                kind=Refusal.CONFLICT,
            )
        token, raw = ApiToken.objects.create(user=user, expiry=timedelta(hours=settings.API_TOKEN_TTL_HOURS), label=label)
    return token, raw


def _revoked(uids: list[UUID]) -> None:
    if uids:
        transaction.on_commit(lambda: api_tokens_revoked.send(sender=ApiToken, uids=uids))


def api_token_revoke(*, user: User, uid: UUID) -> None:
    """Revoke (delete) one of ``user``'s tokens; its open websockets are closed after commit.

    Raises ServiceError (not found) when ``user`` has no such token, including another user's: whose it is stays private.
    """
    with transaction.atomic():
        deleted, _ = ApiToken.objects.filter(user=user, uid=uid).delete()
        if not deleted:
            message = "That API token does not exist (it may already be revoked or expired)."
            raise ServiceError(message, code="token_not_found", kind=Refusal.NOT_FOUND)
        _revoked([uid])


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every token of ``user`` (signed out of every app); returns how many. Idempotent."""
    with transaction.atomic():
        uids = list(ApiToken.objects.filter(user=user).values_list("uid", flat=True))
        ApiToken.objects.filter(user=user, uid__in=uids).delete()
        _revoked(uids)
    return len(uids)
