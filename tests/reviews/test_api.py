"""Reviews API: the one error shape with clear codes (400/403/404/409), the summary with the list, replies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from marketplace.accounts.models import User
from reviews.models import RatingSummary, Review
from reviews.projections import recompute_summary
from reviews.services import review_moderate
from tests.factories import pro
from tests.helpers import client_for, error_code
from tests.scheduling.helpers import awarded_job

from .helpers import ASPECTS_4, completed_job, review

pytestmark = pytest.mark.django_db

BODY = {"rating": 5, "aspects": ASPECTS_4, "comment": "Tidy and quick"}


def post(user: User | None, job_id: int, body: dict[str, Any] | None = None) -> Any:
    return client_for(user).post(f"/api/jobs/{job_id}/review/", body or BODY, format="json")


def test_posting_a_review_and_every_refusal(customer: User, other_customer: User) -> None:
    bob = pro("bob")
    open_job = awarded_job(customer, bob, title="Not done yet")
    job = completed_job(customer, bob)

    assert post(None, job.pk).status_code == 403
    assert (r := post(other_customer, job.pk)).status_code == 404 and error_code(r) == "not_found"
    assert (r := post(bob, job.pk)).status_code == 403 and error_code(r) == "not_your_job"
    assert (r := post(customer, open_job.pk)).status_code == 409 and error_code(r) == "job_not_completed"
    r = post(customer, job.pk, {**BODY, "rating": 9})
    assert r.status_code == 400 and error_code(r) == "rating_out_of_range" and "1 to 5" in r.json()["error"]["message"]
    r = post(customer, job.pk, {"rating": "x", "aspects": {"quality": 3}})
    assert r.status_code == 400 and error_code(r) == "validation_error"
    assert set(r.json()["error"]["fields"]) == {"rating", "aspects"} and "punctuality" in r.json()["error"]["fields"]["aspects"]
    assert not Review.objects.exists()

    r = post(customer, job.pk)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["rating"] == 5 and body["aspects"] == ASPECTS_4 and body["comment"] == "Tidy and quick" and body["reply"] == ""
    assert body["tradesperson_id"] == bob.pk and body["job_id"] == job.pk and body["hidden"] is False
    r = post(customer, job.pk)
    assert r.status_code == 409 and error_code(r) == "already_reviewed"


def test_the_profile_list_with_its_summary_and_replies(customer: User, other_customer: User) -> None:
    bob, zed = pro("bob"), pro("zed")
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    kept = review(completed_job(customer, bob, title="One"), customer, rating=4)
    hidden = review(completed_job(customer, bob, title="Two"), customer, rating=1)
    review_moderate(review=hidden, moderator=staff, hide=True, reason="Off topic")
    recompute_summary_from_rows(bob)

    r = client_for(other_customer).get(f"/api/pros/{bob.pk}/reviews/")
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["reviews"]] == [kept.pk]  # hidden: not public
    assert body["summary"]["count"] == 1 and body["summary"]["average"] == "4.00" and body["summary"]["distribution"]["4"] == 1
    assert body["summary"]["aspects"]["quality"] == "4.00" and body["summary"]["trend"]["days"] == 30
    mine = client_for(bob).get(f"/api/pros/{bob.pk}/reviews/").json()
    assert sorted(x["id"] for x in mine["reviews"]) == sorted([kept.pk, hidden.pk])  # the tradesperson sees it, marked hidden
    assert client_for(None).get(f"/api/pros/{bob.pk}/reviews/").status_code == 403
    assert client_for(customer).get(f"/api/pros/{customer.pk}/reviews/").status_code == 404  # not a tradesperson

    # Replies: only bob, once; a hidden review is not there for other people to find.
    url = f"/api/reviews/{kept.pk}/reply/"
    for who, text, status, code in [
        (zed, "Hi", 403, "not_your_review"),
        (bob, "", 400, "reply_required"),
        (bob, "Thank you!", 201, None),
        (bob, "Again", 409, "already_replied"),
    ]:
        r = client_for(who).post(url, {"reply": text}, format="json")
        assert r.status_code == status and (code is None or error_code(r) == code), r.content
        if status == 201:
            assert r.json()["reply"] == "Thank you!" and r.json()["replied_at"]
    assert client_for(zed).post(f"/api/reviews/{hidden.pk}/reply/", {"reply": "x"}, format="json").status_code == 404
    listed = {x["id"]: x for x in client_for(other_customer).get(f"/api/pros/{bob.pk}/reviews/").json()["reviews"]}
    assert listed[kept.pk]["reply"] == "Thank you!"


def recompute_summary_from_rows(user: User) -> None:
    """Stand in for the consumer (its own tests run it for real): fill the read model from the review rows."""
    from reviews.models import RatedReview

    for r in Review.objects.filter(tradesperson=user):
        RatedReview.objects.update_or_create(
            review_id=r.pk,
            defaults={"job_id": r.job_id, "tradesperson_id": r.tradesperson_id, "rating": r.rating, **r.aspects(),
                      "hidden": r.is_hidden, "posted_at": r.created_at, "last_sequence": 1},
        )  # fmt: skip
    recompute_summary(user.pk)
    assert RatingSummary.objects.get(tradesperson_id=user.pk).average == Decimal("4.00")


def test_pages_show_the_form_the_summary_and_reply_forms(customer: User) -> None:
    from django.test import Client

    bob = pro("bob")
    job = completed_job(customer, bob)
    web = Client()
    web.force_login(customer)
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert 'data-testid="review-form"' in page and "How did it go?" in page and "js/reviews.js" in page
    review(job, customer, rating=5, comment="Lovely work")
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert "Your review" in page and "Lovely work" in page and 'data-testid="review-form"' not in page
    profile = web.get(f"/pros/{bob.pk}/").content.decode()
    assert "Lovely work" in profile and 'data-testid="rating-average"' in profile and f'"stream": "pro.{bob.pk}"' in profile
    web.force_login(bob)
    assert "data-reply-for" in web.get(f"/pros/{bob.pk}/").content.decode()
    assert "No reviews yet" in Client().get(f"/pros/{pro('zed').pk}/").content.decode()  # anonymous: no stream, no socket
