"""Service plans (recurring work): the business offers one after a completed job, the customer accepts it,
either side cancels, and the clock books each visit LEAD_DAYS before it is due, once, into a free slot."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import Notification
from marketplace.privacy.registry import Erasure
from payments.models import Payment
from quotes import privacy as quotes_privacy
from quotes.agreements import add_months, agreement_accept, agreement_cancel, agreement_offer, agreements_book_due
from quotes.models import AgreementOccurrence, QuoteAcceptance, ServiceAgreement, ServiceOffering
from quotes.offerings import Where, offering_save, service_book
from quotes.selectors import offering_slots, plans_for
from scheduling.models import Appointment, WorkingHours
from tests.factories import CustomerFactory, pro, trade

D = Decimal
N1 = Where(D("51.53620"), D("-0.10330"), "Islington N1")


def completed_job(customer: User, bob: User) -> Job:
    """A boiler service booked, done and completed by ``bob``."""
    offering: ServiceOffering = offering_save(
        pro=bob, trade=trade(), title="Boiler service", description="Annual service", price=D("85.00"), duration_minutes=60
    )
    [first, *_] = offering_slots(offering=offering)
    job = service_book(offering=offering, customer=customer, starts_at=first, card_token="tok_visa", where=N1)
    job_services.job_start_work(job=job, actor=bob)
    return job_services.job_complete(job=job, actor=bob)


def active_plan(customer: User, bob: User, **kw: Any) -> ServiceAgreement:
    plan = agreement_offer(job=completed_job(customer, bob), actor=bob, price=D("90.00"), **kw)
    return agreement_accept(agreement=plan, actor=customer, card_token="tok_visa")


def _events(kind: str) -> list[dict[str, Any]]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(event_type=kind).order_by("id")]


@pytest.mark.django_db
def test_the_business_offers_a_plan_after_a_completed_job_and_only_the_customer_accepts_it(customer) -> None:
    bob = pro("bob")
    job = completed_job(customer, bob)
    with pytest.raises(ServiceError) as refused:
        agreement_offer(job=job, actor=pro("eve"), price=D("90"))
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as refused:
        agreement_offer(job=job, actor=bob, price=D("90"), interval_months=99)
    assert refused.value.code == "bad_interval"

    plan = agreement_offer(job=job, actor=bob, price=D("90.00"))
    assert (plan.status, plan.interval_months, plan.price, plan.customer) == (ServiceAgreement.Status.OFFERED, 12, D("90.00"), customer)
    assert plan.next_due == add_months(timezone.localdate(timezone=ZoneInfo(bob.time_zone)), 12)
    assert _events("agreement.created")[-1]["created_from_job_id"] == job.pk
    assert Notification.objects.filter(recipient=customer, kind="plan_offered").exists()
    with pytest.raises(ServiceError) as refused:
        agreement_offer(job=job, actor=bob, price=D("90.00"))
    assert refused.value.code == "plan_exists"

    for who, code in ((bob, "forbidden"), (CustomerFactory.create(username="mallory"), "forbidden")):
        with pytest.raises(ServiceError) as refused:
            agreement_accept(agreement=plan, actor=who, card_token="tok_visa")
        assert refused.value.code == code
    with pytest.raises(ServiceError) as refused:
        agreement_accept(agreement=plan, actor=customer, card_token="")
    assert refused.value.code == "card_required"
    accepted = agreement_accept(agreement=plan, actor=customer, card_token="tok_visa")
    assert (accepted.status, accepted.card_token) == (ServiceAgreement.Status.ACTIVE, "tok_visa")
    assert agreement_accept(agreement=plan, actor=customer, card_token="tok_visa").status == ServiceAgreement.Status.ACTIVE
    assert len(_events("agreement.accepted")) == 1  # accepting twice changes nothing
    assert list(plans_for(user=customer)) == list(plans_for(user=bob)) == [plan]


@pytest.mark.django_db
def test_a_plan_is_offered_only_for_a_completed_job(customer) -> None:
    bob = pro("bob")
    offering = offering_save(pro=bob, trade=trade(), title="Boiler service", description="", price=D("85.00"), duration_minutes=60)
    [first, *_] = offering_slots(offering=offering)
    job = service_book(offering=offering, customer=customer, starts_at=first, card_token="tok_visa", where=N1)
    with pytest.raises(ServiceError) as refused:
        agreement_offer(job=job, actor=bob, price=D("90"))
    assert refused.value.code == "job_not_completed"


@pytest.mark.django_db
def test_either_side_cancels_and_nothing_more_is_booked(customer) -> None:
    bob = pro("bob")
    plan = active_plan(customer, bob)
    with pytest.raises(ServiceError) as refused:
        agreement_cancel(agreement=plan, actor=pro("eve"))
    assert refused.value.code == "forbidden"
    cancelled = agreement_cancel(agreement=plan, actor=bob)
    assert cancelled.status == ServiceAgreement.Status.CANCELLED and cancelled.cancelled_by == bob
    assert _events("agreement.cancelled") == [
        {"agreement_id": plan.pk, "customer_id": customer.pk, "tradesperson_id": bob.pk, "by": "tradesperson"}
    ]
    assert Notification.objects.filter(recipient=customer, kind="plan_cancelled").exists()
    with time_machine.travel(datetime.combine(plan.next_due, time(9), tzinfo=ZoneInfo("UTC")), tick=False):
        assert agreements_book_due() == 0
    assert not AgreementOccurrence.objects.exists()


def _lead_day(plan: ServiceAgreement) -> datetime:
    """Midday UTC on the first day the clock books the plan's next visit."""
    day = plan.next_due - timedelta(days=settings.SERVICE_PLANS["LEAD_DAYS"])
    return datetime.combine(day, time(12), tzinfo=ZoneInfo("UTC"))


@pytest.mark.django_db
def test_the_clock_books_the_next_visit_once_into_a_free_slot_near_the_due_date(customer) -> None:
    bob = pro("bob")
    plan = active_plan(customer, bob)
    due = plan.next_due
    with time_machine.travel(_lead_day(plan) - timedelta(days=1), tick=False):
        assert agreements_book_due() == 0  # not yet: a day before the lead time
    with time_machine.travel(_lead_day(plan), tick=False):
        assert agreements_book_due() == 1
        assert agreements_book_due() == 0  # twice: still one visit

    [visit] = AgreementOccurrence.objects.all()
    assert (visit.due_date, visit.status) == (due, AgreementOccurrence.Status.BOOKED)
    job = visit.job
    assert job is not None and job.status == Job.Status.SCHEDULED and job.customer == customer and job.tradesperson == bob
    assert QuoteAcceptance.objects.get(job=job).total == D("90.00")  # the agreed price, priced by the engine
    assert Payment.objects.get(job=job).card_token == "tok_visa"
    appointment = Appointment.objects.get(job=job)
    assert appointment.starts_at.date() >= due and appointment.starts_at.date() <= due + timedelta(days=7)
    plan.refresh_from_db()
    assert plan.next_due == add_months(due, 12)  # the visit after this one
    assert [e["job_id"] for e in _events("agreement.occurrence_created")] == [job.pk]
    booked = Notification.objects.get(recipient=customer, kind="plan_visit_booked")
    assert booked.title.startswith("Your boiler service is booked for") and booked.url == f"/jobs/{job.pk}/"
    assert Notification.objects.filter(recipient=bob, kind="plan_visit_booked").exists()


@pytest.mark.django_db
def test_with_no_free_slot_the_visit_is_awarded_and_the_business_asked_to_schedule_it(customer) -> None:
    bob = pro("bob")
    plan = active_plan(customer, bob)
    WorkingHours.objects.filter(worker__owner=bob).delete()  # the calendar has no working time at all
    with time_machine.travel(_lead_day(plan), tick=False):
        assert agreements_book_due() == 1
    [visit] = AgreementOccurrence.objects.all()
    assert visit.status == AgreementOccurrence.Status.AWARDED
    assert visit.job is not None and visit.job.status == Job.Status.AWARDED
    assert not Appointment.objects.filter(job=visit.job).exists()
    assert Notification.objects.filter(recipient=bob, kind="plan_visit_unscheduled", url=f"/leads/{visit.job.pk}/").exists()


@pytest.mark.django_db
def test_a_refused_card_leaves_the_quote_for_the_customer_to_accept(customer) -> None:
    bob = pro("bob")
    plan = active_plan(customer, bob)
    ServiceAgreement.objects.filter(pk=plan.pk).update(card_token="tok_decline")
    with time_machine.travel(_lead_day(plan), tick=False):
        assert agreements_book_due() == 1
    [visit] = AgreementOccurrence.objects.all()
    assert visit.status == AgreementOccurrence.Status.NEEDS_PAYMENT
    assert visit.job is not None and visit.job.status == Job.Status.OPEN
    assert Notification.objects.filter(recipient=customer, kind="plan_visit_payment").exists()


@pytest.mark.django_db
def test_erasing_a_side_cancels_the_plan_and_drops_the_place_and_card(customer) -> None:
    bob = pro("bob")
    plan = active_plan(customer, bob)
    erasure = Erasure(user_id=customer.pk, pseudonym=f"erased-{customer.pk}")
    quotes_privacy._erase(customer, erasure)
    plan.refresh_from_db()
    assert (plan.status, plan.card_token, plan.place, plan.latitude) == (ServiceAgreement.Status.CANCELLED, "", "", D("51.54"))
    assert "Islington N1" in erasure.texts
    with time_machine.travel(_lead_day(plan), tick=False):
        assert agreements_book_due() == 0
