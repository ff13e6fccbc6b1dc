"""Customers' pages: posting (form errors, idempotent double submit, photos, time zones), editing, cancelling, deciding on bids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import Bid, Job, JobPhoto, Trade
from jobs.services import bid_place
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent

from .conftest import png

pytestmark = pytest.mark.django_db


def job_form(trade: Trade, **overrides: Any) -> dict[str, Any]:
    data = {
        "trade": trade.slug,
        "title": "Boiler not firing",
        "description": "Combi boiler shows F28.",
        "place": "Highbury N5",
        "latitude": "",
        "longitude": "",
        "budget_min": "80",
        "budget_max": "300",
        "window_start": "",
        "window_end": "",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def test_the_form_renders_a_fresh_idempotency_key_and_the_places(client: Client, customer: User, trade: Trade) -> None:
    client.force_login(customer)
    first, second = client.get("/jobs/new/"), client.get("/jobs/new/")
    key1, key2 = first.context["form"]["idempotency_key"].value(), second.context["form"]["idempotency_key"].value()
    assert len(key1) == 32 and key1 != key2
    assert b'<option value="Islington N1">' in first.content
    assert b"Enter coordinates instead" in first.content


def test_posting_a_job_from_a_place_redirects_to_its_page(client: Client, customer: User, trade: Trade) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", job_form(trade, is_emergency="on"))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.place, job.latitude, job.longitude) == ("Highbury N5", Decimal("51.55340"), Decimal("-0.09790"))
    assert job.is_emergency and job.budget_max == Decimal("300")
    page = client.get(response["Location"])
    assert b"Your job is posted" in page.content


def test_a_double_submitted_form_creates_exactly_one_job(client: Client, customer: User, trade: Trade) -> None:
    client.force_login(customer)
    data = job_form(trade)
    first = client.post("/jobs/new/", data)
    second = client.post("/jobs/new/", data)
    assert Job.objects.count() == 1
    assert first["Location"] == second["Location"] == f"/jobs/{Job.objects.get().pk}/"
    assert OutboxEvent.objects.filter(event_type="job.posted").count() == 1
    client.post("/jobs/new/", job_form(trade))  # a new form (new key) is a new job
    assert Job.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"trade": ""}, "trade", "This field is required."),
        ({"place": "Atlantis"}, "place", "We don't know “Atlantis”"),
        ({"place": ""}, "place", "Choose where the job is"),
        ({"place": "", "latitude": "51.5"}, "longitude", "Give both latitude and longitude"),
        ({"latitude": "95", "longitude": "0"}, "latitude", "less than or equal to 90"),
        ({"budget_min": "300", "budget_max": "80"}, "budget_max", "at least the minimum"),
        ({"budget_min": "-5"}, "budget_min", "greater than or equal to 0"),
        ({"window_start": "2031-07-01T10:00"}, "window_end", "Give both the start and the end"),
        ({"window_start": "2031-07-01T10:00", "window_end": "2031-07-01T09:00"}, "window_end", "must end after it starts"),
        ({"window_start": "2001-07-01T10:00", "window_end": "2001-07-01T12:00"}, "window_end", "past"),  # from the service
    ],
)
def test_form_errors_are_shown_next_to_their_field(
    client: Client, customer: User, trade: Trade, overrides: dict[str, str], field: str, message: str
) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", {**job_form(trade), **overrides})
    assert response.status_code == 200
    assert not Job.objects.exists()
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors, response.context["form"].errors
    assert f'id="id_{field}_error"'.encode() in response.content


def test_coordinates_instead_of_a_place(client: Client, customer: User, trade: Trade) -> None:
    client.force_login(customer)
    client.post("/jobs/new/", job_form(trade, place="", latitude="51.500004", longitude="-0.123456"))
    job = Job.objects.get()
    assert (job.latitude, job.longitude, job.place) == (Decimal("51.50000"), Decimal("-0.12346"), "")


def test_the_window_is_read_in_the_users_time_zone_and_stored_in_utc(client: Client, customer: User, trade: Trade) -> None:
    customer.time_zone = "America/New_York"
    customer.save()
    client.force_login(customer)
    client.post("/jobs/new/", job_form(trade, window_start="2031-07-01T10:00", window_end="2031-07-01T12:30"))
    job = Job.objects.get()
    assert job.window_start == datetime(2031, 7, 1, 14, 0, tzinfo=UTC)
    assert job.window_end == datetime(2031, 7, 1, 16, 30, tzinfo=UTC)
    page = client.get(f"/jobs/{job.pk}/")
    assert b"Tue 1 Jul 2031, 10:00" in page.content  # shown back in their zone
    edit = client.get(f"/jobs/{job.pk}/edit/")
    assert b'value="2031-07-01T10:00"' in edit.content


def test_photos_are_uploaded_and_bad_files_refused(client: Client, customer: User, trade: Trade) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", {**job_form(trade), "photos": [png("a.png"), png("b.png")]})
    assert response.status_code == 302
    job = Job.objects.get()
    assert JobPhoto.objects.filter(job=job).count() == 2
    assert b"<img" in client.get(f"/jobs/{job.pk}/").content

    fake = SimpleUploadedFile("evil.png", b"not an image", content_type="image/png")
    response = client.post("/jobs/new/", {**job_form(trade), "photos": [fake]})
    assert response.status_code == 200
    assert response.context["form"].errors["photos"]  # the service's reason, next to the field
    assert Job.objects.count() == 1


def test_editing_an_open_job_sends_only_what_changed(client: Client, job: Job) -> None:
    client.force_login(job.customer)
    form = client.get(f"/jobs/{job.pk}/edit/").context["form"]
    data = {name: ("" if value is None else value) for name, value in ((n, form[n].value()) for n in form.fields)}
    data.update(title="Leaking kitchen mixer tap", is_emergency="")
    data.pop("is_emergency")
    response = client.post(f"/jobs/{job.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    job.refresh_from_db()
    assert job.title == "Leaking kitchen mixer tap"
    updated = OutboxEvent.objects.get(event_type="job.updated")
    assert updated.envelope["data"]["title"] == "Leaking kitchen mixer tap"


def test_changing_the_trade_on_the_edit_page_re_matches_and_drops_the_old_trade_s_answers(client: Client, job: Job) -> None:
    answer = {"key": "tap_kind", "label": "Tap?", "kind": "choice", "value": "mixer", "text": "Mixer"}
    Job.objects.filter(pk=job.pk).update(answers=[answer])
    electrics = Trade.objects.create(slug="electrics-edit", name="Electrics")
    client.force_login(job.customer)
    form = client.get(f"/jobs/{job.pk}/edit/").context["form"]
    data = {name: ("" if value is None else value) for name, value in ((n, form[n].value()) for n in form.fields)}
    assert data["trade"] == job.trade.slug  # the page starts from the job's trade
    data.update(trade=electrics.slug)
    data.pop("is_emergency")
    response = client.post(f"/jobs/{job.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    job.refresh_from_db()
    assert (job.trade, job.answers) == (electrics, [])
    updated = OutboxEvent.objects.get(event_type="job.updated").envelope["data"]
    assert (updated["changed"], updated["trade"]["slug"]) == (["trade"], electrics.slug)


def test_cancelling_and_then_editing_is_refused_with_a_message(client: Client, job: Job) -> None:
    client.force_login(job.customer)
    response = client.post(f"/jobs/{job.pk}/cancel/", {"reason": "Fixed it myself"}, follow=True)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert b"Job cancelled" in response.content
    response = client.get(f"/jobs/{job.pk}/edit/", follow=True)
    assert b"can no longer be edited" in response.content
    response = client.post(f"/jobs/{job.pk}/cancel/", follow=True)  # the service's message, as a flash
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert b'class="flash error"' in response.content


def test_my_jobs_lists_status_and_live_bid_counts(client: Client, job: Job, lead, tradesperson: User) -> None:
    bid_place(job=job, tradesperson=tradesperson, amount=Decimal("90"))
    client.force_login(job.customer)
    response = client.get("/jobs/")
    assert response.status_code == 200
    listed = response.context["jobs"][0]
    assert listed.bid_count == 1
    assert b"s-open" in response.content and b"Leaking kitchen tap" in response.content


def test_the_customer_shortlists_and_cannot_award_without_a_quote_and_deposit(client: Client, job: Job, lead, tradesperson: User) -> None:
    bid = bid_place(job=job, tradesperson=tradesperson, amount=Decimal("90"))
    client.force_login(job.customer)
    page = client.get(f"/jobs/{job.pk}/")
    assert b"Xavier Plumbing" in page.content and b"\xc2\xa390" in page.content  # £90
    client.post(f"/jobs/{job.pk}/bids/{bid.pk}/shortlist/")
    bid.refresh_from_db()
    assert bid.status == Bid.Status.SHORTLISTED
    response = client.post(f"/jobs/{job.pk}/bids/{bid.pk}/shortlist/", follow=True)  # twice: the service says why not, as a flash
    flashes = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert flashes[-1][0] == "error" and "shortlisted" in flashes[-1][1], flashes
    assert b'class="flash error"' in response.content
    # Awarding is accepting a quote with a deposit (tests/web/test_quote_pages.py); the old one-click accept is gone.
    assert client.post(f"/jobs/{job.pk}/bids/{bid.pk}/accept/").status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN
    data = {"job": client.get(f"/api/jobs/{job.pk}/").json(), "bids": client.get(f"/api/jobs/{job.pk}/bids/").json()}
    assert data["job"]["status"] == "open"
    bid_json_keys = {"bid_id", "job_id", "tradesperson_id", "business_name", "amount", "message", "earliest_start"}
    bid_json_keys |= {"earliest_start_display", "status", "status_label", "revision", "previous_amount"}
    card = {key: value for key, value in data["bids"][0].items() if key in bid_json_keys}  # the bid card, in the API's bid
    assert card | {"earliest_start": None} == {
        "bid_id": bid.pk,
        "job_id": job.pk,
        "tradesperson_id": tradesperson.pk,
        "business_name": "Xavier Plumbing",
        "amount": "90.00",
        "message": "",
        "earliest_start": None,
        "earliest_start_display": "",
        "status": "shortlisted",
        "status_label": "Shortlisted",
        "revision": 1,
        "previous_amount": None,
    }


def test_an_unknown_bid_action_is_404(client: Client, job: Job, lead, tradesperson: User) -> None:
    bid = bid_place(job=job, tradesperson=tradesperson, amount=Decimal("90"))
    client.force_login(job.customer)
    assert client.post(f"/jobs/{job.pk}/bids/{bid.pk}/delete/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/bids/999999/decline/").status_code == 404


def test_my_jobs_lists_newest_first_as_it_says(client: Client, customer: User, trade: Trade) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.factories import post_job

    start = timezone.now()
    for days, title in ((0, "Oldest"), (1, "Middle"), (2, "Newest")):
        with time_machine.travel(start + timedelta(days=days), tick=False):
            post_job(customer, trade=trade, title=title)
    client.force_login(customer)
    page = client.get("/jobs/").content.decode()
    assert "newest first" in page
    assert page.index("Newest") < page.index("Middle") < page.index("Oldest")


def test_the_emergency_badge_shows_only_on_emergency_jobs(client: Client, customer: User, trade: Trade, job: Job) -> None:
    """The badge stays in the page hidden (an edit can make the job urgent, live); the stylesheet must let ``hidden`` win."""
    import re
    from pathlib import Path

    from django.conf import settings as django_settings

    client.force_login(customer)
    calm = client.get(f"/jobs/{job.pk}/").content.decode()
    assert re.search(r'<span class="emergency" id="job-emergency" hidden>', calm)
    Job.objects.filter(pk=job.pk).update(is_emergency=True)
    urgent = client.get(f"/jobs/{job.pk}/").content.decode()
    assert re.search(r'<span class="emergency" id="job-emergency">Emergency</span>', urgent)
    css = (Path(django_settings.BASE_DIR) / "static/css/app.css").read_text()
    assert "[hidden] { display:none !important; }" in css  # .emergency sets display:inline-block
    listed = client.get("/jobs/").content.decode()
    assert listed.count('class="emergency"') == 1
