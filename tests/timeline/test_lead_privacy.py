"""The customer does not learn whom the job was offered to, or how far away they are, until they bid:
not on the timeline (page, API, live push) and not on the job page, which says only how many were invited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from jobs import services
from marketplace.accounts.models import User
from marketplace.events.context import consuming
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.realtime import push
from tests.factories import offer, post_job, pro
from tests.helpers import client_for
from timeline.entries import Viewer, visible_to
from timeline.models import JobTimelineEntry
from timeline.projections import TimelineProjection
from timeline.selectors import timeline_for

pytestmark = pytest.mark.django_db


def test_the_customer_sees_how_many_were_invited_and_only_bidders_by_name(customer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    x, z = pro("xavier", business_name="Xavier Plumbing"), pro("zed", business_name="Zed Pipes")
    job = post_job(customer, title="Leaky tap")
    offer(job, x, distance="3.40")
    offer(job, z, distance="1.20")
    services.lead_mark_seen(lead=x.leads.get(job=job), actor=x)
    services.bid_place(job=job, tradesperson=z, amount=Decimal("140"))

    pushed: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(push, "send_all_on_commit", lambda items, *, name=None: pushed.extend((s, d) for s, _, d in items))
    handler = TimelineProjection()
    with consuming("timeline"):
        for row in OutboxEvent.objects.filter(key=str(job.pk), topic="marketplace.jobs").order_by("id"):
            if handler.handles(row.event_type):
                handler.handle(from_dict(row.envelope))

    mine = [e["summary"] for e in timeline_for(job=job, user=customer)]
    assert "Zed Pipes bid £140.00." in mine
    assert not any("Xavier" in s or "offered" in s or "km" in s or "looked at" in s for s in mine), mine
    assert [e["summary"] for e in client_for(customer).get(f"/api/jobs/{job.pk}/timeline/").json()["entries"]] == mine
    to_customer = [d["summary"] for stream, d in pushed if stream == f"job.{job.pk}"]
    assert to_customer and not any("Xavier" in s or "km" in s for s in to_customer)
    # Each tradesperson still reads their own lead.
    assert "You were offered this job (3.4 km away)." in [e["summary"] for e in timeline_for(job=job, user=x)]
    assert any(stream == f"user.{x.pk}" and d["summary"] == "You were offered this job (3.4 km away)." for stream, d in pushed)

    # An entry stored before this rule (visible to both) stays hidden from the customer when read.
    old = JobTimelineEntry.objects.filter(job_id=job.pk, event_type="lead.offered").first()
    assert old is not None
    old.visibility = JobTimelineEntry.Visibility.BOTH
    assert not visible_to(old, Viewer(user_id=customer.pk, role="customer"))

    # The job page: a count, no names.
    web = Client()
    web.force_login(customer)
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert "2 tradespeople nearby were invited to quote." in page
    assert "Xavier" not in page and "3.4 km" not in page
