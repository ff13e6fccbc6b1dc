"""Staff resolve a dispute in admin: open ones listed, the evidence (timeline, chat, photos) shown, each outcome applied."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from chat.services import chat_send, chat_threads_open
from marketplace.accounts.models import User
from payments.approval import payment_dispute
from payments.models import Dispute, Payment
from payments.services import payment_collect
from tests.helpers import run_payments_executor
from timeline.models import JobTimelineEntry

from .test_approval import COMPLETED_AT, completed

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def staff(django_user_model) -> User:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x")


@pytest.fixture
def dispute(customer: User) -> Dispute:
    job, bob, _, payment = completed(customer, name="bobadmin")
    [thread] = chat_threads_open(job=job, viewer=customer)
    chat_send(thread=thread, sender=customer, text="The tap is still dripping this morning.")
    chat_send(thread=thread, sender=bob, text="I can come back on Friday.")
    JobTimelineEntry.objects.create(
        job_id=job.pk,
        event_id="00000000-0000-0000-0000-000000000001",
        sequence=1,
        event_type="job.status_changed",
        occurred_at=timezone.now(),
        actor_role="tradesperson",
        visibility="both",
        summary="The tradesperson marked the job completed.",
    )
    with time_machine.travel(COMPLETED_AT + timedelta(hours=1), tick=False):
        return payment_dispute(payment=payment, actor=customer, description="The tap still drips after the repair.")


def test_open_disputes_are_listed_with_their_evidence(client, staff, dispute) -> None:
    client.force_login(staff)
    listing = client.get(reverse("admin:payments_dispute_changelist"))
    assert listing.status_code == 200 and f"/{dispute.pk}/change/" in listing.content.decode()
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "The tap still drips after the repair." in body
    assert "The tap is still dripping this morning." in body and "I can come back on Friday." in body  # chat
    assert "The tradesperson marked the job completed." in body  # timeline
    assert reverse("admin:payments_dispute_resolve", args=[dispute.pk]) in body
    assert body.index('id="dispute-resolve"') > body.index("</form>")  # not nested in the admin's own form
    assert "illegal_transition" not in body and "not_awaiting" not in body


def test_a_partial_refund_from_admin_charges_less(client, staff, dispute) -> None:
    client.force_login(staff)
    url = reverse("admin:payments_dispute_resolve", args=[dispute.pk])
    total = dispute.payment.acceptance.total
    refused = client.post(url, {"outcome": "partial_refund", "amount": str(total), "note": ""})
    assert refused.status_code == 400
    assert "A partial refund must be more than £0.00 and less than the price" in refused.content.decode()
    done = client.post(url, {"outcome": "partial_refund", "amount": "40.00", "note": "One tile was cracked."})
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolution, dispute.amount, dispute.resolved_by) == ("resolved", "partial_refund", D("40.00"), staff)
    assert payment_collect(job_id=dispute.job_id) is not None  # the payments consumer records it...
    run_payments_executor()  # ...and the executor charges the price less the refund
    paid = Payment.objects.get(job_id=dispute.job_id)
    assert paid.status == Payment.Status.PARTIALLY_REFUNDED and paid.captured == total - D("40.00")
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk])).content.decode()
    assert 'id="dispute-resolve"' not in page  # no second resolution


def test_only_staff_reach_the_dispute_admin(client, customer, dispute) -> None:
    client.force_login(customer)
    response = client.post(reverse("admin:payments_dispute_resolve", args=[dispute.pk]), {"outcome": "full_refund"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
