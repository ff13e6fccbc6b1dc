"""The only code that changes jobs, leads, bids and tradesperson profiles.

Every function runs in one transaction that writes its rows and its events
(``marketplace.events.outbox.emit``), checks who may do it, and raises
:class:`~marketplace.api_errors.ServiceError` (a clear 4xx) when a rule says no.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from marketplace import ratelimit
from marketplace.accounts.models import User
from marketplace.cards import redact_card_numbers
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit, emit_many
from marketplace.images import clean_photo
from marketplace.masking import mask
from marketplace.moderation import Moderation
from marketplace.moderation import status_for as moderation_status_for

from . import events as ev
from . import questions, signals, vat
from .lifecycle import check_transition
from .models import LIVE_BID_STATUSES, Bid, Job, JobPhoto, Lead, PortfolioPhoto, Trade, TradespersonProfile
from .roles import PARTIES, JobRole, job_role


def scrub(text: str) -> str:
    """Free text with anything card-like removed: card numbers never reach our database, logs or topics."""
    return redact_card_numbers(text)


MAX_AMOUNT = Decimal("1000000")
PENNY = Decimal("0.01")


def money(value: Decimal | str | int) -> Decimal:
    """An amount in pounds with exactly two decimal places; more precision is refused, not rounded."""
    try:
        amount = Decimal(value)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ServiceError(f"{value!r} is not an amount of money.", code="bad_amount", kind=Refusal.INVALID) from exc
    if not amount.is_finite() or amount != amount.quantize(PENNY):
        raise ServiceError("Amounts are in pounds and pence (at most two decimal places).", code="bad_amount", kind=Refusal.INVALID)
    return amount.quantize(PENNY)


# --- profiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceDetails:
    """What a business prints on its invoices: legal name, address and VAT registration."""

    legal_name: str = ""
    business_address: str = ""
    vat_registered: bool = False
    vat_number: str = ""
    vat_rate: Decimal | None = None  # a fraction; None: the standard rate


def _invoice_fields(details: InvoiceDetails) -> dict[str, object]:
    fields: dict[str, object] = {
        "legal_name": scrub(details.legal_name.strip())[:160],
        "business_address": scrub(details.business_address.strip())[:500],
        "vat_registered": details.vat_registered,
    }
    if not details.vat_registered:
        # Not registered: no number to print, and quotes carry no VAT (the rate is kept for later).
        fields["vat_number"] = ""
        return fields
    try:
        fields["vat_number"] = vat.normalise_vat_number(details.vat_number)
    except ValidationError as exc:
        raise ServiceError(vat.VAT_NUMBER_MESSAGE, code="bad_vat_number", kind=Refusal.INVALID) from exc
    rate = vat.standard_rate() if details.vat_rate is None else details.vat_rate
    if not Decimal("0") <= rate <= Decimal("1"):
        raise ServiceError("The VAT rate is a percentage from 0 to 100.", code="bad_vat_rate", kind=Refusal.INVALID)
    fields["vat_rate"] = rate
    return fields


def pro_profile_save(
    *,
    user: User,
    business_name: str,
    trades: Iterable[Trade],
    base_latitude: Decimal,
    base_longitude: Decimal,
    base_place: str = "",
    service_radius_km: int = 15,
    bio: str = "",
    is_accepting_leads: bool = True,
    invoicing: InvoiceDetails | None = None,
    declined_answers: Iterable[str] | None = None,
) -> TradespersonProfile:
    """Create or update a tradesperson's profile. Badges are left to admins.

    A new or changed business name or bio passes the moderation rules (``marketplace.moderation``) or makes
    the profile pending: off the public profile page and the directory until staff approve it.

    ``invoicing`` (names, address, VAT) is changed only when given, so callers that do not
    edit it (the API, the demo) leave it as it was. Refuses a VAT-registered business without
    a valid UK VAT number (``bad_vat_number``) or with a rate outside 0..100 % (``bad_vat_rate``).
    ``declined_answers`` ("question_key=value", see ``jobs/questions.py``) is changed only when given;
    matching then skips jobs with any of those answers. Unknown answers are refused (``bad_declined_answer``).
    """
    if not user.is_tradesperson:
        raise ServiceError("Only tradespeople have a business profile.", code="not_a_tradesperson", kind=Refusal.FORBIDDEN)
    trades = list(trades)
    if not trades:
        raise ServiceError("Choose at least one trade.", code="no_trades", kind=Refusal.INVALID)
    defaults: dict[str, object] = {
        "business_name": mask(business_name)[:120],
        "base_latitude": base_latitude,
        "base_longitude": base_longitude,
        "base_place": base_place,
        "service_radius_km": service_radius_km,
        "bio": mask(bio),
        "is_accepting_leads": is_accepting_leads,
    }
    if invoicing is not None:
        defaults.update(_invoice_fields(invoicing))
    if declined_answers is not None:
        defaults["declined_answers"] = _declined_answers(declined_answers)
    with transaction.atomic():
        current = TradespersonProfile.objects.select_for_update().filter(user=user).first()
        if current is None or (current.business_name, current.bio) != (defaults["business_name"], defaults["bio"]):
            # New public text: the rules decide; a profile staff or reports took off stays off for a fresh check.
            status, found = moderation_status_for(business_name, bio)  # as written: masking hides what the rules look for
            if current is not None and current.moderation_status != Moderation.APPROVED:
                status, found = Moderation.PENDING, found or "changed while waiting for a check"
            defaults["moderation_status"], defaults["moderation_flags"] = status, found[:200]
        profile, _ = TradespersonProfile.objects.update_or_create(user=user, defaults=defaults)
        profile.trades.set(trades)
        signals.business_profile_saved.send(sender=TradespersonProfile, owner=user)
    return profile


def pro_service_area_set(
    *, user: User, base_latitude: Decimal, base_longitude: Decimal, base_place: str, service_radius_km: int
) -> TradespersonProfile:
    """Change only where a business is based and how far it travels (the availability page's service area).

    Matching reads the profile when it looks for candidates, so the next job posted (or re-matched)
    uses the new area at once; the apps above recompute their per-area figures from
    ``signals.business_profile_saved``, as after a whole profile save.
    """
    if not 1 <= service_radius_km <= 200:
        raise ServiceError("The service radius must be 1 to 200 km.", code="bad_radius", kind=Refusal.INVALID)
    with transaction.atomic():
        profile = TradespersonProfile.objects.select_for_update().filter(user=user).first()
        if profile is None:
            raise ServiceError("Save your business profile first: it says which trades you do.", code="no_profile", kind=Refusal.CONFLICT)
        profile.base_latitude, profile.base_longitude = base_latitude, base_longitude
        profile.base_place, profile.service_radius_km = base_place, service_radius_km
        profile.save(update_fields=["base_latitude", "base_longitude", "base_place", "service_radius_km"])
        signals.business_profile_saved.send(sender=TradespersonProfile, owner=user)
    return profile


def _declined_answers(tokens: Iterable[str]) -> list[str]:
    known = {token for _, answers in questions.declinable_answers() for token, _ in answers}
    wanted = sorted(set(tokens))
    unknown = [token for token in wanted if token not in known]
    if unknown:
        raise ServiceError(
            "Some of the answers you don't take are no longer asked: reload the page and choose again.",
            code="bad_declined_answer",
            kind=Refusal.INVALID,
            field="declined_answers",
        )
    return wanted


# --- jobs -------------------------------------------------------------------------------


def job_snapshot(job: Job, photos: Iterable[JobPhoto] | None = None) -> ev.JobPostedV3:
    """The job as events carry it (job.posted): enough for any read model.

    ``photos``: the job's photos when the caller has them (a job just posted), saving the query.
    """
    return ev.JobPostedV3(
        job_id=job.pk,
        customer_id=job.customer_id,
        trade=ev.TradeRef(slug=job.trade.slug, name=job.trade.name),
        title=job.title,
        description=job.description,
        latitude=str(job.latitude),
        longitude=str(job.longitude),
        place=job.place,
        budget_min=str(job.budget_min),
        budget_max=str(job.budget_max),
        window_start=job.window_start.isoformat() if job.window_start else None,
        window_end=job.window_end.isoformat() if job.window_end else None,
        is_emergency=job.is_emergency,
        status=job.status,
        posted_at=job.created_at.isoformat(),
        expires_at=job.expires_at.isoformat(),
        photo_urls=[photo.url for photo in (job.photos.all() if photos is None else photos)],
        answers=list(job.answers),
    )


def _awarded_tradesperson_id(job: Job) -> int | None:
    """Who job events name as the tradesperson (None before the award), so handlers need not read the job."""
    if job.awarded_bid_id is None:
        return None
    return Bid.objects.filter(pk=job.awarded_bid_id).values_list("tradesperson_id", flat=True).first()


def _check_window(window_start: datetime | None, window_end: datetime | None) -> None:
    if (window_start is None) != (window_end is None):
        raise ServiceError("Give both the start and the end of the preferred window, or neither.", code="bad_window", kind=Refusal.INVALID)
    if window_start and window_end:
        if window_end <= window_start:
            raise ServiceError("The preferred window must end after it starts.", code="bad_window", kind=Refusal.INVALID)
        if window_end < timezone.now():
            raise ServiceError("The preferred window is in the past.", code="bad_window", kind=Refusal.INVALID)


def _check_budget(budget_min: Decimal, budget_max: Decimal) -> None:
    if budget_min < 0 or budget_max < 0 or budget_max > MAX_AMOUNT:
        raise ServiceError("Budgets must be between 0 and 1,000,000.", code="bad_budget", kind=Refusal.INVALID)
    if budget_max < budget_min:
        raise ServiceError("The maximum budget must be at least the minimum.", code="bad_budget", kind=Refusal.INVALID)


def job_post(
    *,
    customer: User,
    trade: Trade,
    title: str,
    description: str,
    latitude: Decimal,
    longitude: Decimal,
    place: str = "",
    budget_min: Decimal = Decimal("0"),
    budget_max: Decimal = Decimal("0"),
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    is_emergency: bool = False,
    photos: Iterable[UploadedFile] = (),
    answers: Mapping[str, Any] | None = None,
    answer_photos: Mapping[str, UploadedFile] | None = None,
    idempotency_key: str = "",
    requested_pro: User | None = None,
) -> tuple[Job, bool]:
    """Post a job (with optional photos) and emit ``job.posted``.

    ``answers``: {question key: value} for the trade's questions and ``answer_photos``: {question
    key: image} for its photo questions (``jobs/questions.py`` checks them; a refusal names
    ``answers.<key>``).  A photo answer is stored as a ``JobPhoto`` that its answer references.
    Idempotent per (customer, idempotency_key): a repeated key returns the job the
    first request created and ``created=False``, emitting nothing.

    ``requested_pro``: a direct request ("request a quote from this pro"). Matching offers the job
    to that tradesperson alone for ``MATCHING["DIRECT_REQUEST_EXCLUSIVE_MINUTES"]``, then, if they
    declined or did not bid, to others (:func:`job_direct_request_open`). Emits ``job.direct_requested``
    too. Refused (``pro_unavailable``) when that tradesperson does not do the trade or takes no leads.
    """
    if not customer.is_customer:
        raise ServiceError("Only customers can post jobs.", code="not_a_customer", kind=Refusal.FORBIDDEN)
    if idempotency_key:
        existing = Job.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    ratelimit.check("job_post", customer.pk, what="jobs posted in a short time")
    budget_min, budget_max = money(budget_min), money(budget_max)
    _check_budget(budget_min, budget_max)
    _check_window(window_start, window_end)
    asked = questions.clean_answers(trade=trade, raw=answers or {}, photos=answer_photos)
    for key, upload in asked.photos.items():
        try:
            validate_photo(upload)
        except ServiceError as exc:
            raise ServiceError(exc.message, code=exc.code, kind=exc.kind, field=f"answers.{key}") from exc
    photos = list(photos)
    if len(photos) + len(asked.photos) > settings.JOBS["MAX_PHOTOS"]:
        raise ServiceError(f"At most {settings.JOBS['MAX_PHOTOS']} photos per job.", code="too_many_photos", kind=Refusal.INVALID)
    for photo in photos:
        validate_photo(photo)
    moderation_status, moderation_flags = moderation_status_for(title)  # what the home page may show
    profile = _check_requested_pro(requested_pro, customer=customer, trade=trade) if requested_pro is not None else None
    # Files first, outside the transaction (the storage may be a remote bucket); rows after.
    # Photo answers are photos of the job too, cleaned and stored the same way (after the plain ones).
    stored = store_photos([*photos, *asked.photos.values()], folder=f"jobs/c{customer.pk}")
    answer_files = dict(zip(asked.photos, stored[len(photos) :], strict=True))
    try:
        with transaction.atomic():
            job = Job.objects.create(
                customer=customer,
                trade=trade,
                title=mask(title)[:120],  # masking can lengthen it
                description=mask(description),
                moderation_status=moderation_status,
                moderation_flags=moderation_flags,
                latitude=latitude,
                longitude=longitude,
                place=place,
                budget_min=budget_min,
                budget_max=budget_max,
                window_start=window_start,
                window_end=window_end,
                is_emergency=is_emergency,
                expires_at=timezone.now() + timedelta(hours=settings.JOBS["EXPIRE_AFTER_HOURS"]),
                idempotency_key=idempotency_key,
                requested_pro=requested_pro,
                exclusive_until=timezone.now() + timedelta(minutes=settings.MATCHING["DIRECT_REQUEST_EXCLUSIVE_MINUTES"])
                if requested_pro is not None
                else None,
                # Photo answers reference their JobPhoto, which needs the job first: those are written just below.
                answers=[] if asked.photos else asked.answers,
            )
            saved = [JobPhoto.objects.create(job=job, image=image, thumbnail=thumbnail) for image, thumbnail in stored[: len(photos)]]
            if asked.photos:
                job.answers = _with_photos(job, asked, answer_files)
                job.save(update_fields=["answers"])
            # Photo answers are photos of the job too: read them back rather than track two lists.
            snapshot = job_snapshot(job, None if asked.photos else saved)
            pending: list[PendingEvent[Any]] = [PendingEvent(ev.JOB_POSTED, job.pk, snapshot, customer.pk)]
            if profile is not None and job.exclusive_until is not None:
                pending.append(
                    PendingEvent(
                        ev.JOB_DIRECT_REQUESTED,
                        job.pk,
                        ev.JobDirectRequestedV1(
                            job_id=job.pk,
                            customer_id=customer.pk,
                            tradesperson_id=profile.user_id,
                            business_name=profile.business_name,
                            exclusive_until=job.exclusive_until.isoformat(),
                        ),
                        customer.pk,
                    )
                )
            emit_many(pending)
    except IntegrityError:
        delete_stored(name for pair in stored for name in pair)
        # Two requests with the same key raced; the other one won.
        existing = Job.objects.filter(customer=customer, idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing:
            return existing, False
        raise
    except BaseException:
        delete_stored(name for pair in stored for name in pair)
        raise
    if not asked.photos:
        _photos_known(job, saved)
    return job, True


def _photos_known(job: Job, photos: list[JobPhoto]) -> None:
    """``job.photos.all()`` (the response) is the photos just saved, without reading them back (as a prefetch would)."""
    known = JobPhoto.objects.filter(job=job)
    # How Django's own prefetch fills a queryset.
    known._result_cache = list(photos)
    known._prefetch_done = True  # type: ignore[attr-defined]
    job._prefetched_objects_cache = {"photos": known}  # type: ignore[attr-defined]


def _with_photos(job: Job, asked: questions.CleanAnswers, files: Mapping[str, tuple[str, str]]) -> list[ev.JobAnswer]:
    """The answers with each photo answer's stored (image, thumbnail) as a JobPhoto of the job, referenced by id and URL."""
    answers = []
    for answer in asked.answers:
        stored = files.get(answer["key"])
        if stored is not None:
            photo = JobPhoto.objects.create(job=job, image=stored[0], thumbnail=stored[1])
            answer = {**answer, "value": photo.url, "photo_id": photo.pk}
        answers.append(answer)
    return answers


def _check_requested_pro(pro: User, *, customer: User, trade: Trade) -> TradespersonProfile:
    """The requested tradesperson's profile, if they can be asked for this trade; a sentence saying why not otherwise."""
    profile = TradespersonProfile.objects.filter(user=pro, user__is_active=True).first()
    if profile is None or pro.pk == customer.pk:
        raise ServiceError("That tradesperson can't be asked for quotes.", code="pro_unavailable", kind=Refusal.INVALID)
    if not profile.trades.filter(pk=trade.pk).exists():
        raise ServiceError(
            f"{profile.business_name} doesn't do {trade.name.lower()} work. Choose one of their trades, or post the job to everyone.",
            code="pro_wrong_trade",
            kind=Refusal.INVALID,
        )
    if not profile.is_accepting_leads:
        raise ServiceError(
            f"{profile.business_name} isn't taking new jobs at the moment. Post the job to everyone instead.",
            code="pro_unavailable",
            kind=Refusal.INVALID,
        )
    return profile


def job_direct_request_open(*, job: Job, reason: str) -> Job | None:
    """Open a direct request to other tradespeople: emits ``job.direct_request_opened`` and matching
    then runs its first round (the requested tradesperson keeps their lead).

    ``reason``: "declined" (the tradesperson turned it down) or "no_reply" (run by the clock once
    ``exclusive_until`` has passed with no bid). None, and nothing emitted, when the job is no
    longer an open, exclusive request, or, for "no_reply", the time has not come or a bid arrived.
    """
    with transaction.atomic():
        job = _locked_job(job)
        if job.status != Job.Status.OPEN or job.exclusive_until is None or job.requested_pro_id is None:
            return None
        if reason == "no_reply" and (job.exclusive_until > timezone.now() or job.bids.exists()):
            return None
        job.exclusive_until = None
        job.save(update_fields=["exclusive_until", "updated_at"])
        profile = TradespersonProfile.objects.filter(user_id=job.requested_pro_id).first()
        emit(
            ev.JOB_DIRECT_REQUEST_OPENED,
            aggregate_id=job.pk,
            data=ev.JobDirectRequestOpenedV1(
                job_id=job.pk,
                customer_id=job.customer_id,
                tradesperson_id=job.requested_pro_id,
                business_name=profile.business_name if profile else "",
                reason="declined" if reason == "declined" else "no_reply",
            ),
        )
    return job


def validate_photo(photo: UploadedFile) -> None:
    """A real JPEG/PNG/WebP image under the size limit, or a clear 400."""
    limit = settings.JOBS["MAX_PHOTO_BYTES"]
    if photo.size is None or photo.size > limit:
        raise ServiceError(f"Each photo must be at most {limit // (1024 * 1024)} MB.", code="photo_too_large", kind=Refusal.INVALID)
    try:
        with warnings.catch_warnings():
            # A small file that decodes to a gigantic image is an attack, not a photo.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(photo) as image:
                image.verify()
                kind = (image.format or "").upper()
    except (UnidentifiedImageError, OSError, ValidationError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ServiceError(
            "That file is not an image we can read (use JPEG, PNG or WebP).", code="bad_photo", kind=Refusal.INVALID
        ) from exc
    finally:
        photo.seek(0)
    if kind not in {"JPEG", "PNG", "WEBP"}:
        raise ServiceError("Photos must be JPEG, PNG or WebP.", code="bad_photo", kind=Refusal.INVALID)


def store_photos(photos: Iterable[File], *, folder: str) -> list[tuple[str, str]]:
    """Each (validated) photo re-encoded without metadata and saved with its thumbnail, under ``folder``.

    Returns the stored (image, thumbnail) names, for the rows the caller then writes in its
    transaction. Call it before that transaction, never inside: saving may be a call to a bucket.
    On any failure the files saved so far are deleted again.
    """
    stored: list[tuple[str, str]] = []
    try:
        for photo in photos:
            try:
                clean = clean_photo(photo, max_side=settings.JOBS["PHOTO_MAX_SIDE"], thumb_width=settings.JOBS["PHOTO_THUMB_WIDTH"])
            except (OSError, ValueError, Image.DecompressionBombError) as exc:  # decodes no further than verify() looked
                raise ServiceError(
                    "That file is not an image we can read (use JPEG, PNG or WebP).", code="bad_photo", kind=Refusal.INVALID
                ) from exc
            image = default_storage.save(f"{folder}/{clean.original.name}", clean.original)
            stored.append((image, ""))  # so that a failure saving the thumbnail deletes the image again
            stored[-1] = (image, default_storage.save(f"{folder}/{clean.thumbnail.name}", clean.thumbnail))
    except BaseException:
        delete_stored(name for pair in stored for name in pair)
        raise
    return stored


def delete_stored(names: Iterable[str]) -> None:
    """Delete stored files (outside any transaction: the storage may be remote); a missing file is no error."""
    for name in names:
        if name:
            default_storage.delete(name)


def job_photo_clean(*, photo: JobPhoto) -> bool:
    """Give a photo uploaded before metadata stripping and thumbnails existed both; False if it had them already.

    Idempotent: a photo with a thumbnail is left alone, so running it again makes nothing twice.
    The new files are saved first, then the row points at them (one UPDATE, no transaction held
    around storage calls), then the old file is deleted.
    """
    if photo.thumbnail:
        return False
    with photo.image.open("rb") as original:
        [(image, thumbnail)] = store_photos([original], folder=f"jobs/c{photo.job.customer_id}")
    old = photo.image.name
    updated = JobPhoto.objects.filter(pk=photo.pk, thumbnail="").update(image=image, thumbnail=thumbnail)
    delete_stored([old] if updated else [image, thumbnail])
    return bool(updated)


# --- portfolio ----------------------------------------------------------------------------


def portfolio_photo_add(*, user: User, photo: UploadedFile, caption: str = "") -> PortfolioPhoto:
    """Add a photo of past work to ``user``'s public portfolio (stored as job photos are: no metadata, a thumbnail).

    Refused without a business profile, or with a full portfolio. No event: nothing downstream reads portfolios.
    """
    profile = TradespersonProfile.objects.filter(user=user).first()
    if profile is None:
        raise ServiceError("Save your business profile before adding photos.", code="no_profile", kind=Refusal.CONFLICT)
    _check_portfolio_room(profile)
    validate_photo(photo)
    [(image, thumbnail)] = store_photos([photo], folder=f"portfolio/{profile.pk}")
    try:
        with transaction.atomic():
            locked = TradespersonProfile.objects.select_for_update().get(pk=profile.pk)
            _check_portfolio_room(locked)  # again under the lock: two uploads at once must not both take the last place
            last = locked.portfolio.order_by("-position").values_list("position", flat=True).first()
            return PortfolioPhoto.objects.create(
                profile=locked, image=image, thumbnail=thumbnail, caption=mask(caption.strip())[:140], position=(last or 0) + 1
            )
    except BaseException:
        delete_stored([image, thumbnail])
        raise


def _check_portfolio_room(profile: TradespersonProfile) -> None:
    limit = settings.JOBS["MAX_PORTFOLIO_PHOTOS"]
    if profile.portfolio.count() >= limit:
        raise ServiceError(f"Your portfolio holds at most {limit} photos; delete one first.", code="portfolio_full", kind=Refusal.CONFLICT)


def portfolio_photo_delete(*, user: User, photo_id: int) -> None:
    """Delete one of ``user``'s portfolio photos and its files; another's photo, or none, is a 404."""
    with transaction.atomic():
        photo = PortfolioPhoto.objects.select_for_update().filter(pk=photo_id, profile__user=user).first()
        if photo is None:
            raise ServiceError("That photo is not in your portfolio.", code="not_found", kind=Refusal.NOT_FOUND)
        names = [photo.image.name, photo.thumbnail.name]
        photo.delete()
    delete_stored(names)


def _locked_job(job: Job | int) -> Job:
    pk = job.pk if isinstance(job, Job) else job
    return Job.objects.select_for_update(of=("self",)).select_related("trade").get(pk=pk)


def _owned_job(job: Job, actor: User, action: str) -> Job:
    locked = _locked_job(job)
    if locked.customer_id != actor.pk:
        raise ServiceError(f"Only the customer who posted this job can {action} it.", code="forbidden", kind=Refusal.FORBIDDEN)
    return locked


# What a customer may change on an open job; job.updated carries these as they now are.
EDITABLE_FIELDS = (
    "title",
    "description",
    "latitude",
    "longitude",
    "place",
    "budget_min",
    "budget_max",
    "window_start",
    "window_end",
    "is_emergency",
    "trade",  # a Trade; matching re-matches when it (or the place) changes
)


def job_update(*, job: Job, actor: User, **fields: Any) -> Job:
    """Edit an open job's details (title, description, location, trade, budget, window, urgency).

    Emits ``job.updated`` with the job as it now is and ``changed``, the fields whose value this
    edit changed: matching re-matches when the place (latitude/longitude) or the trade changed.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be edited: {', '.join(sorted(unknown))}.", code="not_editable", kind=Refusal.INVALID)
    with transaction.atomic():
        job = _owned_job(job, actor, "edit")
        if job.status != Job.Status.OPEN:
            raise ServiceError("Only open jobs can be edited.", code="illegal_transition")
        changed: list[str] = []
        for name, value in fields.items():
            if name in ("budget_min", "budget_max"):
                value = money(value)
            elif name in ("title", "description"):
                if name == "title":  # a new title is checked again before it is shown publicly
                    job.moderation_status, job.moderation_flags = moderation_status_for(value)
                value = mask(value)[: 120 if name == "title" else None]  # masking can lengthen a title past its column
            elif name == "trade" and not isinstance(value, Trade):
                raise ServiceError("Choose one of the trades listed.", code="bad_trade", kind=Refusal.INVALID)
            if getattr(job, name) != value:
                changed.append(name)
                if name == "trade":
                    job.answers = []  # they answered the old trade's questions, which tradespeople of the new one were never asked
            setattr(job, name, value)
        _check_budget(job.budget_min, job.budget_max)
        if "window_start" in fields or "window_end" in fields:
            _check_window(job.window_start, job.window_end)
        job.save()
        snapshot = job_snapshot(job)
        data = ev.JobUpdatedV3(
            job_id=job.pk,
            title=snapshot["title"],
            description=snapshot["description"],
            latitude=snapshot["latitude"],
            longitude=snapshot["longitude"],
            place=snapshot["place"],
            budget_min=snapshot["budget_min"],
            budget_max=snapshot["budget_max"],
            window_start=snapshot["window_start"],
            window_end=snapshot["window_end"],
            is_emergency=snapshot["is_emergency"],
            customer_id=job.customer_id,
            tradesperson_id=_awarded_tradesperson_id(job),
            changed=changed,
            trade=snapshot["trade"],
        )
        emit(ev.JOB_UPDATED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return job


def job_moderate(*, job: Job, moderator: User, approve: bool) -> Job:
    """Staff approve a job's title for public listings (the home page) or reject it; the job itself is unaffected.

    Like badges on profiles, this is a staff decision about public display, not a change to the job: it
    emits no event (the admin's change log records who did it).  Refused for anyone but staff (403).
    """
    if not moderator.is_staff:
        raise ServiceError("Only staff moderate public listings.", code="forbidden", kind=Refusal.FORBIDDEN)
    with transaction.atomic():
        job = _locked_job(job)
        job.moderation_status = Moderation.APPROVED if approve else Moderation.REJECTED
        job.moderated_at, job.moderated_by = timezone.now(), moderator
        job.save(update_fields=["moderation_status", "moderated_at", "moderated_by", "updated_at"])
    return job


def job_cancel(*, job: Job, actor: User, reason: str = "") -> Job:
    """Cancel a job that has not started and emit ``job.cancelled``.

    Its customer may cancel it while open, awarded or scheduled; the awarded tradesperson may
    cancel an awarded or scheduled job. What a cancellation after the award costs is the
    cancellation policy's (``payments/cancellation.py``), applied by the payments consumer.
    """
    with transaction.atomic():
        job = _locked_job(job)
        role = job_role(actor, job)
        if role not in PARTIES:
            raise ServiceError(
                "Only the customer or the tradesperson doing this job can cancel it.", code="forbidden", kind=Refusal.FORBIDDEN
            )
        check_transition(job, Job.Status.CANCELLED)
        job.status = Job.Status.CANCELLED
        job.save(update_fields=["status", "updated_at"])
        # Apps built on jobs react in this transaction (scheduling frees the worker's booked time).
        signals.job_cancelling.send(sender=Job, job=job, actor=actor, side=role.value, reason=mask(reason))
        who = "" if role is JobRole.CUSTOMER else "Cancelled by the tradesperson. "
        emit(
            ev.JOB_CANCELLED,
            aggregate_id=job.pk,
            data=ev.JobCancelledV2(
                job_id=job.pk,
                status=job.status,
                reason=(who + mask(reason))[:500],
                customer_id=job.customer_id,
                tradesperson_id=_awarded_tradesperson_id(job),
            ),
            actor_id=actor.pk,
        )
    return job


def job_expire(*, job: Job) -> Job | None:
    """Expire an open job past its ``expires_at`` (run by the clock). None if it no longer applies."""
    with transaction.atomic():
        job = _locked_job(job)
        if job.status != Job.Status.OPEN or job.expires_at > timezone.now():
            return None
        job.status = Job.Status.EXPIRED
        job.save(update_fields=["status", "updated_at"])
        emit(
            ev.JOB_EXPIRED,
            aggregate_id=job.pk,
            data=ev.JobExpiredV2(job_id=job.pk, status=job.status, customer_id=job.customer_id, tradesperson_id=None),
        )
    return job


def job_widen_search(*, job: Job) -> Job | None:
    """Run matching again, wider, for an open job with no live bid; emits ``job.search_widened``.

    Run by the clock for a quiet job, and by matching when the last live bid was withdrawn.
    None (and nothing emitted) when the job is closed, already at the widest round, or has a bid
    still in the running (active or shortlisted), so calling it twice widens once.
    """
    factors: list[float] = settings.MATCHING["RADIUS_FACTORS"]
    with transaction.atomic():
        job = _locked_job(job)
        if job.status != Job.Status.OPEN or job.match_round >= len(factors) or job.bids.filter(status__in=LIVE_BID_STATUSES).exists():
            return None
        if job.exclusive_until is not None:
            return None  # a direct request still with its tradesperson: job_direct_request_open comes first
        job.match_round += 1
        job.save(update_fields=["match_round", "updated_at"])
        emit(
            ev.JOB_SEARCH_WIDENED,
            aggregate_id=job.pk,
            data=ev.JobSearchWidenedV2(
                job_id=job.pk,
                match_round=job.match_round,
                radius_factor=factors[job.match_round - 1],
                customer_id=job.customer_id,
                tradesperson_id=None,
            ),
        )
    return job


def job_award(*, job: Job, bid: Bid, actor: User) -> Job:
    """Accept one bid: the job is awarded to its tradesperson, every other live bid is declined (events for each).

    Sets ``awarded_bid`` and ``tradesperson`` together, so ``jobs.roles.job_role`` knows the awarded
    tradesperson from the job row alone.
    """
    with transaction.atomic():
        job = _owned_job(job, actor, "award")
        bid = Bid.objects.select_for_update().get(pk=bid.pk)
        if bid.job_id != job.pk:
            raise ServiceError("That bid is for another job.", code="bid_not_on_job", kind=Refusal.INVALID)
        if bid.status not in (Bid.Status.ACTIVE, Bid.Status.SHORTLISTED):
            raise ServiceError(f"This bid is {bid.get_status_display().lower()} and cannot be accepted.", code="bid_not_open")
        check_transition(job, Job.Status.AWARDED)
        job.status = Job.Status.AWARDED
        job.awarded_bid = bid
        job.tradesperson_id = bid.tradesperson_id
        job.save(update_fields=["status", "awarded_bid", "tradesperson", "updated_at"])
        bid.status = Bid.Status.ACCEPTED
        bid.save(update_fields=["status", "updated_at"])
        others = list(
            Bid.objects.select_for_update().filter(job=job, status__in=[Bid.Status.ACTIVE, Bid.Status.SHORTLISTED]).exclude(pk=bid.pk)
        )
        Bid.objects.filter(pk__in=[o.pk for o in others]).update(status=Bid.Status.DECLINED, updated_at=timezone.now())
        pending: list[PendingEvent[Any]] = [
            PendingEvent(
                ev.JOB_AWARDED,
                job.pk,
                ev.JobAwardedV2(
                    job_id=job.pk,
                    status=job.status,
                    bid_id=bid.pk,
                    tradesperson_id=bid.tradesperson_id,
                    amount=str(bid.amount),
                    customer_id=job.customer_id,
                ),
                actor.pk,
            )
        ]
        pending += [
            PendingEvent(
                ev.BID_DECLINED,
                job.pk,
                ev.BidDeclinedV1(
                    bid_id=o.pk,
                    job_id=job.pk,
                    tradesperson_id=o.tradesperson_id,
                    status=Bid.Status.DECLINED,
                    reason="Another bid was accepted.",
                ),
                actor.pk,
            )
            for o in others
        ]
        emit_many(pending)
    return job


def job_set_status(*, job: Job, status: str, actor: User | None = None) -> Job:
    """Move an awarded job along its lifecycle (scheduled, in progress, completed)."""
    with transaction.atomic():
        job = _locked_job(job)
        previous = job.status
        check_transition(job, status)
        job.status = status
        job.save(update_fields=["status", "updated_at"])
        emit(
            ev.JOB_STATUS_CHANGED,
            aggregate_id=job.pk,
            data=ev.JobStatusChangedV2(
                job_id=job.pk,
                from_status=previous,
                status=status,
                customer_id=job.customer_id,
                tradesperson_id=_awarded_tradesperson_id(job),
            ),
            actor_id=actor.pk if actor else None,
        )
    return job


def _assigned_job(job: Job, actor: User) -> Job:
    locked = _locked_job(job)
    if job_role(actor, locked) is not JobRole.TRADESPERSON:
        raise ServiceError("Only the tradesperson doing this job can change its progress.", code="forbidden", kind=Refusal.FORBIDDEN)
    return locked


def job_start_work(*, job: Job, actor: User) -> Job:
    """The assigned tradesperson starts work (awarded or scheduled -> in progress)."""
    with transaction.atomic():
        return job_set_status(job=_assigned_job(job, actor), status=Job.Status.IN_PROGRESS, actor=actor)


def job_complete(*, job: Job, actor: User) -> Job:
    """The assigned tradesperson marks the work done; the payments consumer then collects the price."""
    with transaction.atomic():
        return job_set_status(job=_assigned_job(job, actor), status=Job.Status.COMPLETED, actor=actor)


# --- leads ------------------------------------------------------------------------------


def lead_mark_seen(*, lead: Lead, actor: User) -> Lead:
    """Record the first time the tradesperson opened the lead (once)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.tradesperson_id != actor.pk:
            raise ServiceError("This lead is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)
        if lead.seen_at is None:
            lead.seen_at = timezone.now()
            lead.save(update_fields=["seen_at"])
            emit(
                ev.LEAD_SEEN,
                aggregate_id=lead.job_id,
                data=ev.LeadSeenV1(lead_id=lead.pk, job_id=lead.job_id, tradesperson_id=actor.pk, seen_at=lead.seen_at.isoformat()),
                actor_id=actor.pk,
            )
    return lead


def lead_decline(*, lead: Lead, actor: User) -> Lead:
    """The requested tradesperson turns down a direct request: the job opens to others at once
    (:func:`job_direct_request_open`, reason "declined"). Only a direct request still exclusive to
    them can be declined, and only before they bid.
    """
    with transaction.atomic():
        job = _locked_job(lead.job_id)
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.tradesperson_id != actor.pk:
            raise ServiceError("This lead is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)
        if job.requested_pro_id != actor.pk or job.exclusive_until is None or job.status != Job.Status.OPEN:
            raise ServiceError("This request is already open to other tradespeople.", code="not_exclusive")
        if lead.bid_at is not None:
            raise ServiceError("You have already bid on this job; withdraw your bid instead.", code="already_bid")
        lead.declined_at = timezone.now()
        lead.save(update_fields=["declined_at"])
        job_direct_request_open(job=job, reason="declined")
    return lead


# --- bids -------------------------------------------------------------------------------


def _bid_data(bid: Bid, lead: Lead | None = None) -> ev.BidPlacedV1:
    profile = TradespersonProfile.objects.filter(user_id=bid.tradesperson_id).first()
    return ev.BidPlacedV1(
        bid_id=bid.pk,
        job_id=bid.job_id,
        tradesperson_id=bid.tradesperson_id,
        business_name=profile.business_name if profile else str(bid.tradesperson),
        amount=str(bid.amount),
        message=bid.message,
        earliest_start=bid.earliest_start.isoformat() if bid.earliest_start else None,
        status=bid.status,
        revision=bid.revision,
        lead_offered_at=lead.offered_at.isoformat() if lead else None,
    )


def _check_amount(amount: Decimal) -> Decimal:
    amount = money(amount)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise ServiceError("A bid must be more than 0 and at most 1,000,000.", code="bad_amount", kind=Refusal.INVALID)
    return amount


def bid_place(
    *,
    job: Job,
    tradesperson: User,
    amount: Decimal,
    message: str = "",
    earliest_start: datetime | None = None,
) -> Bid:
    """Bid on a job the tradesperson was offered as a lead. Emits ``bid.placed``.

    Refused: not a tradesperson, no lead for this job, the job is closed or their
    own, or they already bid (revise that bid instead).
    """
    if not tradesperson.is_tradesperson:
        raise ServiceError("Only tradespeople can bid.", code="not_a_tradesperson", kind=Refusal.FORBIDDEN)
    ratelimit.check("bid", tradesperson.pk, what="bids in a short time")
    amount = _check_amount(amount)
    with transaction.atomic():
        job = _locked_job(job)
        if job.customer_id == tradesperson.pk:
            raise ServiceError("You cannot bid on your own job.", code="own_job", kind=Refusal.FORBIDDEN)
        lead = Lead.objects.select_for_update().filter(job=job, tradesperson=tradesperson).first()
        if lead is None:
            raise ServiceError("You can only bid on jobs offered to you as a lead.", code="no_lead", kind=Refusal.FORBIDDEN)
        if lead.withdrawn_at is not None:
            raise ServiceError(
                "This job changed and no longer matches your trades or area, so it takes no bid from you.",
                code="lead_withdrawn",
                kind=Refusal.CONFLICT,
            )
        if job.status != Job.Status.OPEN:
            raise ServiceError(f"This job is {job.get_status_display().lower()} and takes no more bids.", code="job_closed")
        if Bid.objects.filter(job=job, tradesperson=tradesperson).exists():
            raise ServiceError("You have already bid on this job; revise your bid instead.", code="already_bid")
        bid = Bid.objects.create(job=job, tradesperson=tradesperson, amount=amount, message=mask(message), earliest_start=earliest_start)
        if lead.bid_at is None:
            lead.bid_at = bid.created_at
            lead.save(update_fields=["bid_at"])
        emit(ev.BID_PLACED, aggregate_id=job.pk, data=_bid_data(bid, lead), actor_id=tradesperson.pk)
    return bid


def _own_open_bid(bid: Bid, actor: User) -> Bid:
    bid = Bid.objects.select_for_update().select_related("job").get(pk=bid.pk)
    if bid.tradesperson_id != actor.pk:
        raise ServiceError("This bid is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)
    if bid.status not in (Bid.Status.ACTIVE, Bid.Status.SHORTLISTED):
        raise ServiceError(f"This bid is {bid.get_status_display().lower()} and cannot be changed.", code="bid_not_open")
    if bid.job.status != Job.Status.OPEN:
        raise ServiceError("The customer has already decided on this job.", code="job_closed")
    return bid


def bid_revise(*, bid: Bid, actor: User, amount: Decimal, message: str | None = None, earliest_start: datetime | None = None) -> Bid:
    """Change a bid before the customer decides; emits ``bid.revised`` with the previous amount."""
    amount = _check_amount(amount)
    with transaction.atomic():
        _locked_job(bid.job_id)
        bid = _own_open_bid(bid, actor)
        previous = bid.amount
        bid.amount = amount
        if message is not None:
            bid.message = mask(message)
        if earliest_start is not None:
            bid.earliest_start = earliest_start
        bid.revision += 1
        bid.save()
        data = ev.BidRevisedV1(**_bid_data(bid), previous_amount=str(previous))
        emit(ev.BID_REVISED, aggregate_id=bid.job_id, data=data, actor_id=actor.pk)
    return bid


def bid_withdraw(*, bid: Bid, actor: User) -> Bid:
    with transaction.atomic():
        _locked_job(bid.job_id)
        bid = _own_open_bid(bid, actor)
        bid.status = Bid.Status.WITHDRAWN
        bid.save(update_fields=["status", "updated_at"])
        emit(
            ev.BID_WITHDRAWN,
            aggregate_id=bid.job_id,
            data=ev.BidWithdrawnV1(bid_id=bid.pk, job_id=bid.job_id, tradesperson_id=bid.tradesperson_id, status=bid.status),
            actor_id=actor.pk,
        )
    return bid


def _customer_decision(bid: Bid, actor: User, new_status: str, allowed_from: set[str]) -> Bid:
    job = _owned_job(bid.job, actor, "decide on bids for")
    bid = Bid.objects.select_for_update().get(pk=bid.pk)
    if job.status != Job.Status.OPEN:
        raise ServiceError("This job is no longer open.", code="job_closed")
    if bid.status not in allowed_from:
        raise ServiceError(f"This bid is {bid.get_status_display().lower()} and cannot be {new_status}.", code="bid_not_open")
    bid.status = new_status
    bid.save(update_fields=["status", "updated_at"])
    return bid


def bid_shortlist(*, bid: Bid, actor: User) -> Bid:
    with transaction.atomic():
        bid = _customer_decision(bid, actor, Bid.Status.SHORTLISTED, {Bid.Status.ACTIVE})
        emit(
            ev.BID_SHORTLISTED,
            aggregate_id=bid.job_id,
            data=ev.BidShortlistedV1(bid_id=bid.pk, job_id=bid.job_id, tradesperson_id=bid.tradesperson_id, status=bid.status),
            actor_id=actor.pk,
        )
    return bid


def bid_decline(*, bid: Bid, actor: User, reason: str = "") -> Bid:
    with transaction.atomic():
        bid = _customer_decision(bid, actor, Bid.Status.DECLINED, {Bid.Status.ACTIVE, Bid.Status.SHORTLISTED})
        emit(
            ev.BID_DECLINED,
            aggregate_id=bid.job_id,
            data=ev.BidDeclinedV1(
                bid_id=bid.pk,
                job_id=bid.job_id,
                tradesperson_id=bid.tradesperson_id,
                status=bid.status,
                reason=mask(reason)[:500],
            ),
            actor_id=actor.pk,
        )
    return bid
