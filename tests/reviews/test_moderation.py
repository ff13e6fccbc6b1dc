"""Moderation of a tradesperson's public page (reviews.moderation): the rules on reviews, replies and profiles,
reports (threshold, rate limit), the staff queue (decisions recorded, content.* events), and who may act."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from directory.projections import DirectoryLiveHandler
from directory.selectors import candidates
from jobs.models import TradespersonProfile
from jobs.services import pro_profile_save
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.moderation import Moderation
from reviews.models import ModerationDecision, Report, Review
from reviews.moderation import moderation_decide, report_file
from reviews.services import review_reply
from tests.factories import StaffFactory, pro
from tests.helpers import client_for, error_code

from .helpers import completed_job, review

pytestmark = pytest.mark.django_db


def event_types(*types: str) -> list[str]:
    return list(OutboxEvent.objects.filter(event_type__in=types).order_by("id").values_list("event_type", flat=True))


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def public_reviews(pro_id: int, viewer: User) -> list[dict]:
    return client_for(viewer).get(f"/api/pros/{pro_id}/reviews/").json()["reviews"]


def test_a_flagged_review_and_reply_wait_for_staff_and_only_their_authors_see_them(customer: User, other_customer: User) -> None:
    bob = pro("bob")
    flagged = review(completed_job(customer, bob), customer, comment="Cowboy, call me on 07700 900123")
    clean = review(completed_job(customer, bob), customer, comment="Tidy work")
    assert (flagged.moderation_status, flagged.is_hidden, flagged.moderation_flags) == (Moderation.PENDING, True, "contact details")
    assert "07700" not in flagged.comment  # stored masked all the same
    posted = OutboxEvent.objects.get(event_type="review.posted", envelope__data__review_id=flagged.pk)
    assert posted.envelope["data"]["hidden"] is True  # out of the rating summary from the start
    assert [r["id"] for r in public_reviews(bob.pk, other_customer)] == [clean.pk]
    # The author sees it on the job page, waiting for a check.
    page = web(customer).get(reverse("job-detail", args=[flagged.job_id])).content.decode()
    assert 'data-testid="review-waiting"' in page

    # A reply with a link waits too: no review.replied (no push, no notification) until staff approve it.
    review_reply(review=clean, actor=bob, reply="Thanks! See www.bobfixes.com")
    assert Review.objects.get(pk=clean.pk).reply_status == Moderation.PENDING and event_types("review.replied") == []
    [seen] = public_reviews(bob.pk, other_customer)
    assert (seen["reply"], seen["replied_at"]) == ("", None)
    [own] = [r for r in public_reviews(bob.pk, bob) if r["id"] == clean.pk]
    assert own["reply_status"] == "pending" and "Thanks!" in own["reply"]

    staff = StaffFactory.create()
    assert moderation_decide(target="reply", object_id=clean.pk, moderator=staff, action="approve") is True
    assert event_types("review.replied", "content.restored") == ["review.replied", "content.restored"]
    [seen] = public_reviews(bob.pk, other_customer)
    assert "Thanks!" in seen["reply"]


def test_a_flagged_profile_is_off_the_public_page_and_the_directory_until_approved(customer: User) -> None:
    bob = pro("bob")
    profile = TradespersonProfile.objects.get(user=bob)
    pro_profile_save(
        user=bob,
        business_name="Bob's Plumbing",
        bio="Best prices, text 07700 900123",
        trades=list(profile.trades.all()),
        base_latitude=profile.base_latitude,
        base_longitude=profile.base_longitude,
    )
    profile.refresh_from_db()
    assert (profile.moderation_status, profile.moderation_flags) == (Moderation.PENDING, "contact details")
    url = reverse("pro-public", args=[bob.pk])
    assert Client().get(url).status_code == 404 and web(customer).get(url).status_code == 404
    assert client_for(customer).get(f"/api/pros/{bob.pk}/").status_code == 404
    assert bob.pk not in [c.user_id for c in candidates()]
    own = web(bob).get(url)
    assert own.status_code == 200 and b'data-testid="profile-waiting"' in own.content

    moderation_decide(target="profile", object_id=bob.pk, moderator=StaffFactory.create(), action="approve")
    assert Client().get(url).status_code == 200 and bob.pk in [c.user_id for c in candidates()]


def test_reports_past_the_threshold_hide_a_review_until_staff_decide(customer: User, settings) -> None:
    settings.MODERATION = {**settings.MODERATION, "REPORT_THRESHOLD": 2}
    bob = pro("bob")
    posted = review(completed_job(customer, bob), customer, comment="Fine")
    anonymous = Client()
    sent = anonymous.post("/api/reports/", {"target": "review", "object_id": posted.pk, "reason": "fake", "text": "Never happened"})
    assert sent.status_code == 201 and "moderators" in sent.json()["message"]
    assert not Review.objects.get(pk=posted.pk).is_hidden and event_types("content.hidden") == []
    bad = anonymous.post("/api/reports/", {"target": "review", "object_id": posted.pk, "reason": "nonsense"})
    assert bad.status_code == 400

    report_file(target="review", object_id=posted.pk, reason="abusive", reporter=customer)
    hidden = Review.objects.get(pk=posted.pk)
    assert (hidden.is_hidden, hidden.moderation_status) == (True, Moderation.PENDING)
    assert event_types("review.moderated", "content.hidden") == ["review.moderated", "content.hidden"]
    hidden_event = OutboxEvent.objects.get(event_type="content.hidden")
    assert hidden_event.key == str(bob.pk) and hidden_event.envelope["data"]["action"] == "auto_hide"
    assert hidden_event.envelope["data"]["moderator_id"] is None
    # A hidden review cannot be reported again (it is not public).
    with pytest.raises(ServiceError) as info:
        report_file(target="review", object_id=posted.pk, reason="abusive", reporter=None, client_address="10.0.0.9")
    assert info.value.code == "not_found"

    staff = StaffFactory.create()
    assert moderation_decide(target="review", object_id=posted.pk, moderator=staff, action="restore") is True
    assert not Report.objects.filter(resolved_at__isnull=True).exists()
    assert Report.objects.filter(resolved_by=staff).count() == 2
    assert [d.action for d in ModerationDecision.objects.order_by("id")] == ["auto_hide", "restore"]


def test_reports_are_rate_limited_per_address_when_signed_out(customer: User, settings) -> None:
    settings.RATE_LIMIT_NAMESPACE = f"report-test-{uuid.uuid4().hex}"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "report": (2, 3600)}
    posted = review(completed_job(customer, pro("bob")), customer, comment="Fine")
    anonymous = Client(REMOTE_ADDR="10.1.1.1")
    payload = {"target": "review", "object_id": posted.pk, "reason": "other"}
    assert [anonymous.post("/api/reports/", payload).status_code for _ in range(2)] == [201, 201]
    refused = anonymous.post("/api/reports/", payload)
    assert refused.status_code == 429 and error_code(refused) == "rate_limited" and int(refused["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="10.1.1.2").post("/api/reports/", payload).status_code == 201
    assert Report.objects.count() == 3


def test_staff_decide_from_the_queue_and_only_staff_may(customer: User) -> None:
    bob = pro("bob")
    flagged = review(completed_job(customer, bob), customer, comment="What a wanker")
    superuser = User.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    web = Client()
    web.force_login(superuser)
    queue = reverse("admin:reviews_report_changelist")
    page = web.get(queue)
    assert page.status_code == 200 and f'data-key="review:{flagged.pk}"'.encode() in page.content

    done = web.post(queue, {"target": "review", "object_id": flagged.pk, "action": "hide", "reason": "Abuse"}, follow=True)
    assert done.status_code == 200 and b"Hidden" in done.content
    after = Review.objects.get(pk=flagged.pk)
    assert (after.is_hidden, after.moderation_status, after.moderated_by) == (True, Moderation.REJECTED, superuser)
    decision = ModerationDecision.objects.get()
    assert (decision.action, decision.moderator, decision.reason) == ("hide", superuser, "Abuse")
    assert event_types("content.hidden") == ["content.hidden"]
    assert f'data-key="review:{flagged.pk}"'.encode() not in web.get(queue).content
    assert f'data-key="review:{flagged.pk}"'.encode() in web.get(queue, {"show": "hidden"}).content
    # Deciding the same again changes nothing and emits nothing.
    web.post(queue, {"target": "review", "object_id": flagged.pk, "action": "hide"})
    assert event_types("content.hidden") == ["content.hidden"]

    # Not staff: neither the service nor the admin page.
    with pytest.raises(ServiceError) as info:
        moderation_decide(target="review", object_id=flagged.pk, moderator=bob, action="restore")
    assert info.value.code == "forbidden"
    other = Client()
    other.force_login(customer)
    assert other.post(queue, {"target": "review", "object_id": flagged.pk, "action": "restore"}).status_code == 302  # to the login
    assert Review.objects.get(pk=flagged.pk).is_hidden


def test_the_directory_live_consumer_pushes_moderation_to_the_profile_stream(customer: User, monkeypatch) -> None:
    bob = pro("bob")
    posted = review(completed_job(customer, bob), customer, comment="Fine")
    moderation_decide(target="review", object_id=posted.pk, moderator=StaffFactory.create(), action="hide")
    pushed: list[tuple[str, dict, str | None]] = []
    monkeypatch.setattr("directory.projections.send_on_commit", lambda stream, event, data, name=None: pushed.append((stream, data, name)))
    envelope = from_dict(OutboxEvent.objects.get(event_type="content.hidden").envelope)
    DirectoryLiveHandler().handle(envelope)
    assert pushed == [(f"pro.{bob.pk}", {"target": "review", "object_id": posted.pk}, None)]
