"""Staff moderate reviews in Django admin: hide and restore with a reason (through the service, with an event);
the read models are there to look at, not to edit."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from reviews.models import RatedReview, RatingSummary, Review
from tests.factories import pro

from .helpers import completed_job, review

pytestmark = pytest.mark.django_db


def test_staff_hide_and_restore_reviews_with_a_reason(customer: User) -> None:
    posted = review(completed_job(customer, pro("bob")), customer, rating=1, comment="Rude words")
    staff = User.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    web = Client()
    web.force_login(staff)
    url = reverse("admin:reviews_review_changelist")
    assert web.get(url).status_code == 200 and web.get(url, {"q": "Rude"}).status_code == 200

    # The action first asks for a reason; without one nothing changes.
    asked = web.post(url, {"action": "hide_reviews", "_selected_action": [posted.pk]})
    assert asked.status_code == 200 and b"reason" in asked.content
    web.post(url, {"action": "hide_reviews", "_selected_action": [posted.pk], "apply": "1", "reason": ""})
    assert not Review.objects.get(pk=posted.pk).is_hidden

    done = web.post(url, {"action": "hide_reviews", "_selected_action": [posted.pk], "apply": "1", "reason": "Abuse"}, follow=True)
    assert done.status_code == 200 and b"1 review(s) changed" in done.content
    hidden = Review.objects.get(pk=posted.pk)
    assert hidden.is_hidden and hidden.moderation_reason == "Abuse" and hidden.moderated_by == staff
    web.post(url, {"action": "restore_reviews", "_selected_action": [posted.pk], "apply": "1", "reason": "On appeal"})
    assert not Review.objects.get(pk=posted.pk).is_hidden
    assert OutboxEvent.objects.filter(event_type="review.moderated").count() == 2

    # Reviews change only through actions; summaries are read-only.
    assert web.get(reverse("admin:reviews_review_change", args=[posted.pk])).status_code == 200
    assert web.get(reverse("admin:reviews_review_add")).status_code == 403
    for model in (RatingSummary, RatedReview):
        assert web.get(reverse(f"admin:reviews_{model._meta.model_name}_changelist")).status_code == 200
        assert web.get(reverse(f"admin:reviews_{model._meta.model_name}_add")).status_code == 403
