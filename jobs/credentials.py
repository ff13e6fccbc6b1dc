"""The services of tradespeople's credentials (trade registrations, insurance): the only code that changes them.

- The tradesperson adds a credential (pending) or removes one of their own (:func:`credential_add`,
  :func:`credential_remove`); staff verify or reject it in Django admin (:func:`credential_verify`,
  :func:`credential_reject`); the clock marks verified ones whose date has passed expired
  (:func:`credentials_expire_due`, from ``jobs/periodic.py``).
- Each change that can move a badge emits a ``credential.*`` event (``jobs/events.py``; aggregate ``pro``,
  key = the tradesperson's user id) in the same transaction; the ``directory-live`` consumer pushes the
  new badges to the open public profile pages (``directory/projections.py``).
- A badge is a verified credential whose ``expires_on`` is today or later in the UK
  (``jobs.selectors.badges_for``): it drops from pages at midnight even before the clock's pass.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import FileExtensionValidator
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit, emit_many
from marketplace.events.schemas import EventType

from . import events as ev
from .models import Credential, TradespersonProfile


def today() -> date:
    """The date in the site's time zone (``TIME_ZONE``, Europe/London): credentials expire on UK dates."""
    return timezone.localdate()


def _data(credential: Credential) -> ev.CredentialChangedV1:
    return {
        "credential_id": credential.pk,
        "tradesperson_id": credential.profile.user_id,
        "kind": credential.kind,
        "status": credential.status,  # type: ignore[typeddict-item]  # one of Credential.Status, as the schema's enum
        "expires_on": credential.expires_on.isoformat(),
        "at": timezone.now().isoformat(),
    }


def _emit(event_type: EventType[ev.CredentialChangedV1], credential: Credential, actor: User | None) -> None:
    emit(event_type, aggregate_id=credential.profile.user_id, data=_data(credential), actor_id=actor.pk if actor else None)


def credential_add(*, user: User, kind: str, number: str, expires_on: date, document: UploadedFile | None = None) -> Credential:
    """Add a credential to the tradesperson's own profile, awaiting staff verification (no badge, no event yet).

    Refuses someone without a business profile (``no_profile``), an unknown kind (``bad_kind``), an empty
    number (``no_number``), a date already passed (``already_expired``) and a document that is not a PDF or an
    image, or is larger than ``JOBS["MAX_PHOTO_BYTES"]`` (``bad_document``). The document is stored under a random name.
    """
    profile = TradespersonProfile.objects.filter(user=user).first() if user.is_tradesperson else None
    if profile is None:
        raise ServiceError("Set up your business profile first, then add your credentials.", code="no_profile", kind=Refusal.FORBIDDEN)
    if kind not in Credential.Kind.values:
        raise ServiceError("Choose the kind of credential from the list.", code="bad_kind", kind=Refusal.INVALID)
    number = number.strip()
    if not number:
        raise ServiceError("Enter the registration or policy number.", code="no_number", kind=Refusal.INVALID)
    if expires_on < today():
        raise ServiceError("That date has passed: add a credential that is still valid.", code="already_expired", kind=Refusal.INVALID)
    if document is not None:
        _check_document(document)
    credential = Credential(profile=profile, kind=kind, number=number[:40], expires_on=expires_on)
    if document is not None:
        credential.document = document  # Django's FieldFile accepts an uploaded file
    credential.save()
    return credential


DOCUMENT_EXTENSIONS = ["pdf", "jpg", "jpeg", "png", "webp"]


def _check_document(document: UploadedFile) -> None:
    limit = int(settings.JOBS["MAX_PHOTO_BYTES"])  # the same limit as a job's photos
    try:
        FileExtensionValidator(DOCUMENT_EXTENSIONS)(document)
    except ValidationError:
        raise ServiceError("Upload the card or certificate as a PDF, JPG or PNG.", code="bad_document", kind=Refusal.INVALID) from None
    if (document.size or 0) > limit:
        megabytes = limit // (1024 * 1024)
        raise ServiceError(f"That file is too large: upload one under {megabytes} MB.", code="bad_document", kind=Refusal.INVALID)


def credential_remove(*, user: User, credential_id: int) -> None:
    """Remove one of the tradesperson's own credentials (``credential.removed``); anyone else's is ``not_found``."""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().select_related("profile").filter(pk=credential_id, profile__user=user).first()
        if credential is None:
            raise ServiceError("That credential is not on your profile.", code="not_found", kind=Refusal.NOT_FOUND)
        _emit(ev.CREDENTIAL_REMOVED, credential, user)
        credential.delete()


def credential_verify(*, credential: Credential, staff: User) -> bool:
    """Staff checked the credential: verified from now, a badge until it expires (``credential.verified``).

    False (and nothing changes) if it is already verified; refuses one whose date has passed (``already_expired``).
    """
    with transaction.atomic():
        locked = Credential.objects.select_for_update().select_related("profile").get(pk=credential.pk)
        if locked.status == Credential.Status.VERIFIED:
            return False
        if locked.expires_on < today():
            raise ServiceError("This credential's date has passed: it cannot be verified.", code="already_expired", kind=Refusal.CONFLICT)
        locked.status = Credential.Status.VERIFIED
        locked.verified_by = staff
        locked.verified_at = timezone.now()
        locked.rejection_reason = ""
        locked.save(update_fields=["status", "verified_by", "verified_at", "rejection_reason"])
        _emit(ev.CREDENTIAL_VERIFIED, locked, staff)
    return True


def credential_reject(*, credential: Credential, staff: User, reason: str = "") -> bool:
    """Staff rejected the credential (or withdrew a verification): no badge (``credential.rejected``). False if already rejected."""
    with transaction.atomic():
        locked = Credential.objects.select_for_update().select_related("profile").get(pk=credential.pk)
        if locked.status == Credential.Status.REJECTED:
            return False
        locked.status = Credential.Status.REJECTED
        locked.rejection_reason = reason[:300]
        locked.verified_by = staff
        locked.verified_at = timezone.now()
        locked.save(update_fields=["status", "rejection_reason", "verified_by", "verified_at"])
        _emit(ev.CREDENTIAL_REJECTED, locked, staff)
    return True


def credentials_expire_due() -> int:
    """Mark verified credentials whose last valid day has passed expired, one ``credential.expired`` each; how many.

    Idempotent and safe with two clocks at once: rows are claimed with ``SKIP LOCKED`` and only still-verified
    ones change.
    """
    with transaction.atomic():
        due = list(
            Credential.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("profile")
            .filter(status=Credential.Status.VERIFIED, expires_on__lt=today())
        )
        if not due:
            return 0
        Credential.objects.filter(pk__in=[c.pk for c in due]).update(status=Credential.Status.EXPIRED)
        for credential in due:
            credential.status = Credential.Status.EXPIRED
        emit_many([PendingEvent(ev.CREDENTIAL_EXPIRED, c.profile.user_id, _data(c)) for c in due])
    return len(due)
