"""Fixtures for page tests: people, a trade, a tradesperson's profile, a job and a lead (all from tests.factories)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job, Lead, Trade, TradespersonProfile
from marketplace.accounts.models import User
from tests.factories import LeadFactory, TradeFactory, TradespersonProfileFactory, post_job
from tests.helpers import png_bytes


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def trade(db: None) -> Trade:
    return TradeFactory.create()


@pytest.fixture
def profile(tradesperson: User, trade: Trade) -> TradespersonProfile:
    return TradespersonProfileFactory.create(user=tradesperson, business_name="Xavier Plumbing", trades=[trade])


@pytest.fixture
def job(customer: User, trade: Trade) -> Job:
    return post_job(
        customer, trade=trade, title="Leaking kitchen tap", place="Highbury N5", latitude=Decimal("51.55"), longitude=Decimal("-0.1")
    )


@pytest.fixture
def lead(job: Job, profile: TradespersonProfile) -> Lead:
    """The job offered to the tradesperson as matching would, 1.95 km away."""
    return LeadFactory.create(job=job, profile=profile, distance_km=Decimal("1.95"))


def png(name: str = "tap.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour=(11, 110, 79)), content_type="image/png")
