"""Public listings show only titles that passed the moderation rules or staff review (marketplace.moderation,
jobs.Job.moderation_status): the rules, the admin queue, and the home page."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client, override_settings
from django.urls import reverse

from jobs import services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.masking import HIDDEN
from marketplace.moderation import Moderation, flags, status_for
from tests.factories import post_job
from tests.helpers import rebuild_board

RULES = [
    ("Leaking kitchen tap", []),
    ("New boiler, 3 radiators, £1,250 budget", []),
    ("Tap fixed - call 0 7 7 0 0 - 9 0 0 - 1 2 3", ["contact details"]),
    ("See bobsplumbing.co.uk", ["a link", "contact details"]),
    ("Fix this shit tap", ["a word on the bad-words list"]),
    ("Shitake mushroom shelf", []),
]


@pytest.mark.parametrize(("title", "expected"), RULES)
def test_the_rules(title: str, expected: list[str]) -> None:
    assert flags(title) == expected
    assert status_for(title)[0] == (Moderation.APPROVED if not expected else Moderation.PENDING)


@override_settings(MODERATION={"BAD_WORDS": ["drat"]})
def test_the_bad_words_list_is_a_setting() -> None:
    assert flags("Drat, the tap leaks") == ["a word on the bad-words list"]
    assert flags("Fix this shit tap") == []


@pytest.mark.django_db
def test_a_flagged_title_waits_for_staff_and_the_home_page_hides_it(customer: User) -> None:
    clean = post_job(customer, title="Dripping bath tap")
    flagged = post_job(customer, title="Boiler - ring 07700 900123")
    assert (clean.moderation_status, flagged.moderation_status) == (Moderation.APPROVED, Moderation.PENDING)
    assert flagged.moderation_flags == "contact details" and "07700" not in flagged.title
    rebuild_board()
    public = Client().get(reverse("home")).content.decode()
    assert "Dripping bath tap" in public and "Boiler - ring" not in public

    # The customer's own pages are unaffected.
    own = Client()
    own.force_login(customer)
    assert "Boiler - ring" in own.get(reverse("job-list")).content.decode()
    # ... and its page says why the title is not on the home page yet.
    waiting = own.get(reverse("job-detail", args=[flagged.pk])).content.decode()
    assert 'data-testid="moderation-pending"' in waiting
    assert 'data-testid="moderation-pending"' not in own.get(reverse("job-detail", args=[clean.pk])).content.decode()

    # The admin queue: filter pending, approve one, reject another.
    staff = User.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    web = Client()
    web.force_login(staff)
    url = reverse("admin:jobs_job_changelist")
    queue = web.get(url, {"moderation_status__exact": "pending"}).content.decode()
    assert "Boiler - ring" in queue and "Dripping bath tap" not in queue
    done = web.post(url, {"action": "approve_for_public_listings", "_selected_action": [flagged.pk]}, follow=True)
    assert "Approved 1 job title(s)" in done.content.decode()
    approved = Job.objects.get(pk=flagged.pk)
    assert approved.moderation_status == Moderation.APPROVED and approved.moderated_by == staff
    assert "Boiler - ring" in Client().get(reverse("home")).content.decode()

    web.post(url, {"action": "reject_from_public_listings", "_selected_action": [clean.pk]})
    assert Job.objects.get(pk=clean.pk).moderation_status == Moderation.REJECTED
    assert "Dripping bath tap" not in Client().get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_a_new_title_is_judged_again_and_only_staff_moderate(customer: User) -> None:
    job = post_job(customer, title="Dripping bath tap")
    services.job_update(job=job, actor=customer, title="Bath tap, insta @tapman")
    assert Job.objects.get(pk=job.pk).moderation_status == Moderation.PENDING
    services.job_update(job=job, actor=customer, title="Bath tap")
    assert Job.objects.get(pk=job.pk).moderation_status == Moderation.APPROVED
    with pytest.raises(ServiceError) as refused:
        services.job_moderate(job=job, moderator=customer, approve=False)
    assert refused.value.code == "forbidden"


@pytest.mark.django_db
def test_the_migration_judges_and_masks_rows_written_before(customer: User) -> None:
    migration = importlib.import_module("jobs.migrations.0007_job_moderation_status")
    job = post_job(customer, title="Dripping bath tap")
    Job.objects.filter(pk=job.pk).update(title="Tap - ring 07700 900123", description="or bob at gmail dot com")
    migration.judge_and_mask(apps, None)
    old = Job.objects.get(pk=job.pk)
    assert (old.title, old.description) == (f"Tap - ring {HIDDEN}", f"or {HIDDEN}")
    assert (old.moderation_status, old.moderation_flags) == (Moderation.PENDING, "contact details")
