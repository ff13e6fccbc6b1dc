"""Fixtures for page tests: people, a trade, a tradesperson's profile, a job and a lead."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from jobs import services
from jobs.models import Job, Lead, Trade, TradespersonProfile
from marketplace.accounts.models import User
from tests.factories import post_job


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def trade(db: None) -> Trade:
    return Trade.objects.get_or_create(slug="plumbing", defaults={"name": "Plumbing"})[0]


@pytest.fixture
def profile(tradesperson: User, trade: Trade) -> TradespersonProfile:
    return services.pro_profile_save(
        user=tradesperson,
        business_name="Xavier Plumbing",
        trades=[trade],
        base_latitude=Decimal("51.53620"),
        base_longitude=Decimal("-0.10330"),
        base_place="Islington N1",
        service_radius_km=15,
    )


@pytest.fixture
def job(customer: User, trade: Trade) -> Job:
    return post_job(
        customer, trade=trade, title="Leaking kitchen tap", place="Highbury N5", latitude=Decimal("51.55"), longitude=Decimal("-0.1")
    )


def offer(job: Job, profile: TradespersonProfile) -> Lead:
    """Offer the job to the tradesperson as matching would."""
    return services.leads_offer(job=job, offers=[(profile, Decimal("1.95"), Decimal("0.9"))], match_round=1)[0]


@pytest.fixture
def lead(job: Job, profile: TradespersonProfile) -> Lead:
    return offer(job, profile)


def png(name: str = "tap.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (11, 110, 79)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
