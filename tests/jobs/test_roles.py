"""``jobs.roles.job_role``: who a user is on a job, and the stored awarded tradesperson it reads."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from jobs import services
from jobs.models import Job
from jobs.roles import JobRole, job_role
from tests.factories import StaffFactory, make_user, offer, place_bid, post_job, pro

pytestmark = pytest.mark.django_db


@pytest.fixture
def contest(customer):
    """A job offered to three tradespeople: ``winner`` and ``loser`` bid, ``lead_only`` did not; ``winner`` is awarded."""
    job = post_job(customer)
    winner, loser, lead_only = pro("winner"), pro("loser"), pro("lead_only")
    for user in (winner, loser, lead_only):
        offer(job, user)
    bid = place_bid(job, winner)
    place_bid(job, loser)
    job = services.job_award(job=job, bid=bid, actor=customer)
    return job, winner, loser, lead_only


def test_the_award_stores_the_tradesperson_with_the_bid(contest) -> None:
    job, winner, _, _ = contest
    stored = Job.objects.get(pk=job.pk)
    assert stored.tradesperson_id == winner.pk
    assert stored.awarded_bid is not None and stored.awarded_bid.tradesperson_id == winner.pk


def test_each_person_on_an_awarded_job_has_their_role(contest, customer) -> None:
    job, winner, loser, lead_only = contest
    job = Job.objects.get(pk=job.pk)
    assert job_role(customer, job) is JobRole.CUSTOMER
    assert job_role(winner, job) is JobRole.TRADESPERSON
    assert job_role(loser, job) is JobRole.BIDDER  # lost: still a bidder, never the tradesperson
    assert job_role(lead_only, job) is JobRole.BIDDER  # offered it, never bid
    assert job_role(pro("stranger"), job) is JobRole.NONE
    assert job_role(make_user("someone_else"), job) is JobRole.NONE


def test_before_the_award_there_is_no_tradesperson_only_bidders(customer) -> None:
    job = post_job(customer)
    bob = pro("bob")
    offer(job, bob)
    place_bid(job, bob)
    assert job.tradesperson_id is None
    assert job_role(bob, job) is JobRole.BIDDER
    assert job_role(customer, job) is JobRole.CUSTOMER


def test_staff_are_staff_unless_they_are_a_party(contest, customer) -> None:
    job, winner, _, _ = contest
    assert job_role(StaffFactory.create(), job) is JobRole.STAFF
    winner.is_staff = True
    customer.is_staff = True
    assert job_role(winner, job) is JobRole.TRADESPERSON
    assert job_role(customer, job) is JobRole.CUSTOMER


def test_nobody_signed_in_has_no_role(contest) -> None:
    job = contest[0]
    assert job_role(AnonymousUser(), job) is JobRole.NONE
    assert job_role(None, job) is JobRole.NONE


def test_a_lead_makes_a_bidder_only_of_a_tradesperson(contest) -> None:
    job, _, loser, _ = contest
    loser.role = loser.Role.CUSTOMER  # the job was offered to them while they traded
    assert job_role(loser, job) is JobRole.NONE


def test_roles_compare_equal_to_the_words_apps_already_use() -> None:
    assert JobRole.CUSTOMER == "customer" and JobRole.TRADESPERSON == "tradesperson" and JobRole.WORKER == "worker"


def test_the_migration_backfills_the_tradesperson_from_the_awarded_bid(contest, customer) -> None:
    job, winner, _, _ = contest
    open_job = post_job(customer)
    # Rows as they were before the column existed: awarded, tradesperson unknown.
    Job.objects.filter(pk=job.pk).update(tradesperson=None)
    migration = importlib.import_module("jobs.migrations.0002_job_tradesperson")
    with connection.schema_editor(atomic=False) as editor:
        migration.backfill_tradesperson(apps, editor)
    assert Job.objects.get(pk=job.pk).tradesperson_id == winner.pk
    assert Job.objects.get(pk=open_job.pk).tradesperson_id is None
