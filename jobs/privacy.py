"""What the jobs app holds about a person (registered with marketplace.privacy): the jobs a customer posted
(their words, place and photos), a tradesperson's profile, portfolio, credentials and bid messages."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Bid, Credential, Job, JobPhoto, PortfolioPhoto, TradespersonProfile
from .services import job_cancel

UNDER_WAY = (Job.Status.AWARDED, Job.Status.SCHEDULED, Job.Status.IN_PROGRESS)
PROFILE_FIELDS = ("business_name", "bio", "base_place", "legal_name", "business_address", "vat_number")


def _export(user: User) -> dict[str, Any]:
    profile = TradespersonProfile.objects.filter(user=user).values(*PROFILE_FIELDS, "service_radius_km").first()
    return {
        "jobs_posted": list(
            Job.objects.filter(customer=user)
            .order_by("created_at")
            .values(
                "id",
                "title",
                "description",
                "place",
                "latitude",
                "longitude",
                "answers",
                "status",
                "budget_min",
                "budget_max",
                "created_at",
            )
        ),
        "job_photos": list(JobPhoto.objects.filter(job__customer=user).values_list("image", flat=True)),
        "bids": list(
            Bid.objects.filter(tradesperson=user).order_by("created_at").values("id", "job_id", "amount", "message", "status", "created_at")
        ),
        "profile": profile,
        "portfolio": list(PortfolioPhoto.objects.filter(profile__user=user).values("caption", "image")),
        "credentials": list(Credential.objects.filter(profile__user=user).values("kind", "number", "status", "expires_on")),
    }


def _refuse(user: User) -> str | None:
    job = (
        Job.objects.filter(status__in=UNDER_WAY).filter(customer=user).first()
        or Job.objects.filter(status__in=UNDER_WAY, tradesperson=user).first()
    )
    if job is None:
        return None
    return f"The job “{job.title}” is under way: finish it or cancel it first, then delete your account."


def _identifiers(user: User) -> list[str]:
    profile = TradespersonProfile.objects.filter(user=user).values_list("business_name", "legal_name", "business_address").first()
    return list(profile or [])


def _erase(user: User, erasure: Erasure) -> None:
    # Open jobs are cancelled (tradespeople with a lead or a bid are told, as for any cancellation).
    for job in Job.objects.filter(customer=user, status=Job.Status.OPEN):
        job_cancel(job=job, actor=user, reason="The customer closed their account.")
    for job in Job.objects.filter(customer=user):
        erasure.removed(job.title, job.description, job.place)
        # The place is the customer's home: kept only to about a kilometre, for the statistics.
        job.latitude, job.longitude = (round(job.latitude, 2), round(job.longitude, 2))
        job.title, job.description, job.place, job.answers = REMOVED, REMOVED, "", []
        job.save(update_fields=["title", "description", "place", "answers", "latitude", "longitude"])
    for photo in JobPhoto.objects.filter(job__customer=user):
        photo.delete()  # the files go with the rows (receivers.py)
    for bid in Bid.objects.filter(tradesperson=user).exclude(message=""):
        erasure.removed(bid.message)
    Bid.objects.filter(tradesperson=user).exclude(message="").update(message=REMOVED)
    for portfolio_photo in PortfolioPhoto.objects.filter(profile__user=user):
        erasure.removed(portfolio_photo.caption)
        portfolio_photo.delete()
    for credential in Credential.objects.filter(profile__user=user):
        erasure.identifies(credential.number)
        credential.document.delete(save=False)
    Credential.objects.filter(profile__user=user).update(number="", document="")
    profile = TradespersonProfile.objects.filter(user=user).first()
    if profile is not None:
        erasure.removed(profile.bio)
        profile.business_name = erasure.pseudonym
        profile.bio = profile.base_place = profile.legal_name = profile.business_address = profile.vat_number = ""
        profile.is_accepting_leads = False
        profile.base_latitude = round(profile.base_latitude, 1)
        profile.base_longitude = round(profile.base_longitude, 1)
        profile.save()


register(PersonalData("jobs", export=_export, erase=_erase, refuse=_refuse, identifiers=_identifiers))
