"""Jobs API beyond the basics in test_api.py: places, photos, windows, editing, cancelling, awarding."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from jobs.models import Bid, Job, JobPhoto
from marketplace.events.models import OutboxEvent
from quotes.services import quote_submit, single_line_quote
from tests.factories import make_pro, make_profile, offer, place_bid, post_job, trade
from tests.helpers import JOB, client_for, error_code, png_bytes, state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    trade()
    return tmp_path


@pytest.fixture
def api(customer):
    return client_for(customer)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def events(event_type: str) -> list[dict]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(event_type=event_type).order_by("id")]


# --- listing ---------------------------------------------------------------------------------


def test_a_customer_lists_their_jobs_newest_first_with_bid_counts(customer, tradesperson) -> None:
    make_profile(tradesperson)
    older = post_job(customer, title="Older")
    newer = post_job(customer, title="Newer")
    offer(older, tradesperson)
    place_bid(older, tradesperson)
    body = client_for(customer).get("/api/jobs/").json()
    assert body["count"] == 2 and body["next"] is None
    assert [(j["id"], j["bid_count"]) for j in body["results"]] == [(newer.pk, 0), (older.pk, 1)]
    assert client_for(customer).get("/api/jobs/", {"limit": 1}).json()["results"][0]["id"] == newer.pk


def test_tradespeople_are_pointed_to_their_leads_and_the_board(tradesperson) -> None:
    response = client_for(tradesperson).get("/api/jobs/")
    assert response.status_code == 403 and error_code(response) == "not_a_customer"
    assert "/api/leads/" in response.json()["error"]["message"] and "/api/board/" in response.json()["error"]["message"]


# --- posting: places, coordinates, text ------------------------------------------------------


def test_a_known_place_fills_in_the_coordinates(api) -> None:
    body = {k: v for k, v in JOB.items() if k not in ("latitude", "longitude")}
    response = api.post("/api/jobs/", {**body, "place": "n1"}, format="json")
    assert response.status_code == 201
    job = response.json()
    assert (job["place"], job["latitude"], job["longitude"]) == ("Islington N1", "51.53620", "-0.10330")


def test_coordinates_win_over_the_place_label(api) -> None:
    response = api.post("/api/jobs/", {**JOB, "place": "Islington N1"}, format="json")
    assert (response.json()["latitude"], response.json()["place"]) == ("51.50000", "Islington N1")


def test_precise_coordinates_are_rounded_to_a_metre(api) -> None:
    response = api.post("/api/jobs/", {**JOB, "latitude": 51.501234567, "longitude": "-0.1234567"}, format="json")
    assert response.status_code == 201
    assert (response.json()["latitude"], response.json()["longitude"]) == ("51.50123", "-0.12346")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"latitude": "-90.00001"}, ["latitude"]),
        ({"longitude": "180.5"}, ["longitude"]),
        ({"latitude": "1e6"}, ["latitude"]),
        ({"latitude": "NaN"}, ["latitude"]),
        ({"latitude": None, "longitude": None}, ["latitude", "longitude"]),
        ({"longitude": None}, ["longitude"]),
        ({"latitude": None, "longitude": None, "place": "Atlantis"}, ["place"]),
        ({"description": ""}, ["description"]),
        ({"description": "   "}, ["description"]),
        ({"description": "x" * 5001}, ["description"]),
        ({"description": "x" * 100_000}, ["description"]),
        ({"title": "t" * 121}, ["title"]),
        ({"budget_max": "1000000.01"}, ["budget_max"]),
        ({"budget_max": "10.001"}, ["budget_max"]),
        ({"window_start": "next tuesday", "window_end": "2030-01-01T10:00:00Z"}, ["window_start"]),
        ({"photos": ["not a file"]}, ["photos"]),
        ({"trade": "plumb\x00ing"}, ["trade"]),  # Postgres refuses NUL in text: a 500 before (schemathesis found it)
    ],
)
def test_bad_jobs_are_refused_field_by_field_and_write_nothing(api, media, change, fields) -> None:
    before = state()
    body = {k: v for k, v in {**JOB, **change}.items() if v is not None}
    response = api.post("/api/jobs/", body, format="json")
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert set(fields) <= set(response.json()["error"]["fields"])
    assert state() == before and files_under(media) == []


def test_markup_is_kept_as_text(api) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = api.post("/api/jobs/", {**JOB, "description": payload}, format="json")
    assert response.status_code == 201
    assert response.json()["description"] == payload
    assert Job.objects.get().description == payload
    assert response["Content-Type"] == "application/json"


def test_a_5000_character_description_is_fine(api) -> None:
    assert api.post("/api/jobs/", {**JOB, "description": "x" * 5000}, format="json").status_code == 201


def test_mass_assignment_is_ignored(api, customer, other_customer) -> None:
    response = api.post(
        "/api/jobs/",
        {**JOB, "status": "completed", "customer": other_customer.pk, "awarded_bid": 1, "expires_at": "2000-01-01T00:00:00Z", "id": 999},
        format="json",
    )
    assert response.status_code == 201
    job = Job.objects.get()
    assert (job.status, job.customer, job.awarded_bid_id) == ("open", customer, None)
    assert job.expires_at > timezone.now() and job.pk != 999


# --- preferred window ------------------------------------------------------------------------


def test_a_preferred_window_is_stored_from_iso_datetimes(api) -> None:
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = api.post(
        "/api/jobs/", {**JOB, "window_start": start.isoformat(), "window_end": (start + timedelta(hours=3)).isoformat()}, format="json"
    )
    assert response.status_code == 201
    job = Job.objects.get()
    assert job.window_start == start and job.window_end == start + timedelta(hours=3)


@pytest.mark.parametrize(
    "window",
    [
        {"window_start": "2031-01-01T12:00:00Z", "window_end": "2031-01-01T09:00:00Z"},
        {"window_start": "2031-01-01T12:00:00Z"},
        {"window_start": "2001-01-01T09:00:00Z", "window_end": "2001-01-01T12:00:00Z"},
    ],
)
def test_a_bad_window_is_refused(api, window) -> None:
    before = state()
    response = api.post("/api/jobs/", {**JOB, **window}, format="json")
    assert response.status_code == 400 and error_code(response) == "bad_window"
    assert state() == before


# --- photos ----------------------------------------------------------------------------------


def test_a_job_with_a_real_photo_is_posted_multipart(api, media) -> None:
    photo = SimpleUploadedFile("tap.png", png_bytes(), content_type="image/png")
    response = api.post("/api/jobs/", {**JOB, "photos": [photo]}, format="multipart")
    assert response.status_code == 201
    [url] = [p["url"] for p in response.json()["photos"]]
    saved = JobPhoto.objects.get()
    assert url == f"http://testserver/photos/{saved.pk}/" and saved.image.name.endswith(".png")
    assert len(files_under(media)) == 2  # the photo and its thumbnail
    assert events("job.posted")[0]["photo_urls"] == [f"/photos/{saved.pk}/"]


def test_several_photos_in_one_request(api) -> None:
    photos = [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(5)]
    response = api.post("/api/jobs/", {**JOB, "photos": photos}, format="multipart")
    assert response.status_code == 201 and len(response.json()["photos"]) == 5


@pytest.mark.parametrize(
    ("photos", "code"),
    [
        (lambda: [SimpleUploadedFile("notes.png", b"just some text, not a picture\n" * 10, content_type="image/png")], "bad_photo"),
        (lambda: [SimpleUploadedFile("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_type="image/gif")], "bad_photo"),
        (lambda: [SimpleUploadedFile("big.png", png_bytes() + b"\0" * (5 * 1024 * 1024), content_type="image/png")], "photo_too_large"),
        (lambda: [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(6)], "too_many_photos"),
    ],
    ids=["text-renamed-png", "gif", "over-5-MB", "six-photos"],
)
def test_bad_photos_are_refused_and_nothing_is_stored(api, media, photos, code) -> None:
    before = state()
    response = api.post("/api/jobs/", {**JOB, "photos": photos()}, format="multipart")
    assert response.status_code == 400 and error_code(response) == code
    assert state() == before and files_under(media) == []


def test_a_decompression_bomb_is_refused_as_a_bad_photo(api, media) -> None:
    buffer = io.BytesIO()
    Image.new("1", (20000, 10000)).save(buffer, format="PNG")  # 200 megapixels in about 24 kB
    api.raise_request_exception = False
    response = api.post("/api/jobs/", {**JOB, "photos": [SimpleUploadedFile("bomb.png", buffer.getvalue())]}, format="multipart")
    assert response.status_code == 400 and error_code(response) == "bad_photo"
    assert not Job.objects.exists() and files_under(media) == []


def test_an_empty_file_is_refused(api, media) -> None:
    response = api.post("/api/jobs/", {**JOB, "photos": [SimpleUploadedFile("e.png", b"", content_type="image/png")]}, format="multipart")
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert not Job.objects.exists()


# --- idempotency -----------------------------------------------------------------------------


def test_a_double_submitted_multipart_form_creates_one_job(api, media) -> None:
    def submit():
        photo = SimpleUploadedFile("tap.png", png_bytes(), content_type="image/png")
        return api.post("/api/jobs/", {**JOB, "photos": [photo]}, format="multipart", HTTP_IDEMPOTENCY_KEY="form-42")

    first, second = submit(), submit()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Job.objects.count() == JobPhoto.objects.count() == OutboxEvent.objects.count() == 1
    assert len(files_under(media)) == 2  # one photo and its thumbnail


def test_keys_are_per_customer_and_different_keys_make_different_jobs(api, other_customer) -> None:
    assert api.post("/api/jobs/", JOB, format="json", HTTP_IDEMPOTENCY_KEY="a").status_code == 201
    assert api.post("/api/jobs/", JOB, format="json", HTTP_IDEMPOTENCY_KEY="b").status_code == 201
    assert client_for(other_customer).post("/api/jobs/", JOB, format="json", HTTP_IDEMPOTENCY_KEY="a").status_code == 201
    assert Job.objects.count() == 3


def test_an_overlong_idempotency_key_is_refused_not_truncated(api) -> None:
    response = api.post("/api/jobs/", JOB, format="json", HTTP_IDEMPOTENCY_KEY="k" * 65)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Job.objects.exists()


# --- detail ----------------------------------------------------------------------------------


def test_a_tradesperson_with_a_lead_sees_the_job_but_not_its_bid_count(customer, tradesperson) -> None:
    make_profile(tradesperson)
    job = post_job(customer)
    assert client_for(tradesperson).get(f"/api/jobs/{job.pk}/").status_code == 404
    offer(job, tradesperson)
    body = client_for(tradesperson).get(f"/api/jobs/{job.pk}/").json()
    assert body["id"] == job.pk and body["bid_count"] is None and body["trade_name"] == "Plumbing"


def test_an_unknown_job_is_404(api) -> None:
    response = api.get("/api/jobs/424242/")
    assert response.status_code == 404 and error_code(response) == "not_found"


# --- editing ---------------------------------------------------------------------------------


def test_the_customer_edits_an_open_job(api, customer) -> None:
    job = post_job(customer)
    response = api.patch(f"/api/jobs/{job.pk}/", {"title": "Dripping tap", "budget_max": "200"}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["budget_max"], response.json()["description"]) == (
        "Dripping tap",
        "200.00",
        "Kitchen tap drips",
    )
    assert events("job.updated")[0]["title"] == "Dripping tap"


def test_the_trade_is_edited_by_its_slug_and_an_unknown_one_is_refused(api, customer) -> None:
    job = post_job(customer)
    other = trade("edit-electrics", "Electrics")
    response = api.patch(f"/api/jobs/{job.pk}/", {"trade": "no-such-trade"}, format="json")
    assert response.status_code == 400 and "trade" in response.json()["error"]["fields"]
    response = api.patch(f"/api/jobs/{job.pk}/", {"trade": other.slug}, format="json")
    assert response.status_code == 200
    assert events("job.updated")[-1]["changed"] == ["trade"]


def test_editing_the_place_to_a_known_one_moves_the_job(api, customer) -> None:
    job = post_job(customer)
    response = api.patch(f"/api/jobs/{job.pk}/", {"place": "Brixton SW2"}, format="json")
    assert (response.json()["latitude"], response.json()["longitude"]) == ("51.45230", "-0.11840")
    response = api.patch(f"/api/jobs/{job.pk}/", {"place": "Round the back"}, format="json")
    assert (response.json()["place"], response.json()["latitude"]) == ("Round the back", "51.45230")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "validation_error"),
        ({"status": "completed", "customer": 1}, "validation_error"),  # nothing editable left
        ({"title": ""}, "validation_error"),
        ({"latitude": "51.6"}, "validation_error"),
        ({"description": "y" * 5001}, "validation_error"),
        ({"budget_min": "500"}, "bad_budget"),  # above the stored maximum of 150
        ({"window_start": "2031-01-01T12:00:00Z"}, "bad_window"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(api, customer, body, code) -> None:
    job = post_job(customer)
    before = state()
    response = api.patch(f"/api/jobs/{job.pk}/", body, format="json")
    assert response.status_code == 400 and error_code(response) == code
    assert state() == before


def test_a_status_sent_with_an_edit_is_ignored(api, customer) -> None:
    job = post_job(customer)
    response = api.patch(f"/api/jobs/{job.pk}/", {"title": "New", "status": "completed", "awarded_bid": 3}, format="json")
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.title, job.status, job.awarded_bid_id) == ("New", "open", None)


def test_a_closed_job_cannot_be_edited(api, customer) -> None:
    job = post_job(customer)
    api.post(f"/api/jobs/{job.pk}/cancel/")
    before = state()
    response = api.patch(f"/api/jobs/{job.pk}/", {"title": "Too late"}, format="json")
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert state() == before


def test_a_tradesperson_who_can_see_a_job_cannot_edit_it(customer, tradesperson) -> None:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    before = state()
    response = client_for(tradesperson).patch(f"/api/jobs/{job.pk}/", {"title": "Mine now"}, format="json")
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert state() == before


# --- cancelling ------------------------------------------------------------------------------


def test_cancelling_records_the_reason(api, customer) -> None:
    job = post_job(customer)
    response = api.post(f"/api/jobs/{job.pk}/cancel/", {"reason": "Fixed it myself"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert events("job.cancelled")[0]["reason"] == "Fixed it myself"


def test_an_overlong_reason_is_refused(api, customer) -> None:
    job = post_job(customer)
    response = api.post(f"/api/jobs/{job.pk}/cancel/", {"reason": "r" * 501}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    assert Job.objects.get().status == "open"


# --- awarding --------------------------------------------------------------------------------


def submit_quote(job, pro, amount):
    return quote_submit(job=job, tradesperson=pro, quote=single_line_quote(amount))


@pytest.fixture
def bidding(customer, tradesperson):
    """A's job with quoted bids from X and Z (version 1 each)."""
    make_profile(tradesperson)
    other = make_pro("trade_z")
    job = post_job(customer)
    offer(job, tradesperson)
    offer(job, other)
    bids = [submit_quote(job, pro, Decimal(amount)).bid for pro, amount in ((tradesperson, "120.00"), (other, "150.00"))]
    return job, bids[0], bids[1]


def award(api, job, bid, **extra):
    """The old award endpoint: it now accepts the bid's quote and holds the deposit, like /api/bids/{id}/accept/."""
    body = {"bid_id": bid.pk, "version": 1, "tier": "standard", "card_token": "tok_visa", **extra}
    return api.post(f"/api/jobs/{job.pk}/award/", body, format="json")


def test_awarding_accepts_the_quote_holds_the_deposit_and_declines_the_others(api, bidding) -> None:
    job, winner, loser = bidding
    response = award(api, job, winner)
    assert response.status_code == 201, response.content
    body = response.json()
    # 120 net + 20 % VAT = 144; 20 % deposit 28.80 held on the card.
    assert (body["acceptance"]["bid"], body["acceptance"]["total"], body["acceptance"]["deposit"]) == (winner.pk, "144.00", "28.80")
    assert (body["payment"]["status"], body["payment"]["held"]) == ("deposit_held", "28.80")
    assert Job.objects.get().status == "awarded"
    assert Bid.objects.get(pk=winner.pk).status == "accepted" and Bid.objects.get(pk=loser.pk).status == "declined"
    assert events("job.awarded")[0]["bid_id"] == winner.pk and events("bid.declined")[0]["bid_id"] == loser.pk


def test_awarding_without_a_card_is_refused_and_awards_nothing(api, bidding) -> None:
    job, winner, _ = bidding
    before = state()
    response = api.post(f"/api/jobs/{job.pk}/award/", {"bid_id": winner.pk}, format="json")
    assert response.status_code == 400 and {"version", "card_token"} <= set(response.json()["error"]["fields"])
    assert state() == before


def test_accepting_a_quote_twice_returns_it_and_another_bid_is_a_conflict(api, bidding) -> None:
    job, winner, loser = bidding
    first = award(api, job, winner)
    assert first.status_code == 201
    before = state()
    again = award(api, job, winner)
    assert again.status_code == 200 and again.json() == first.json()
    response = award(api, job, loser)
    assert response.status_code == 409 and error_code(response) == "already_accepted"
    assert state() == before


def test_awarding_a_withdrawn_bid_is_a_conflict(api, bidding, tradesperson) -> None:
    job, winner, _ = bidding
    client_for(tradesperson).post(f"/api/bids/{winner.pk}/withdraw/")
    before = state()
    response = award(api, job, winner)
    assert response.status_code == 409 and error_code(response) == "bid_not_open"
    assert state() == before


@pytest.mark.parametrize("bid_id", [424242, "abc", None])
def test_awarding_an_unknown_bid_is_refused(api, bidding, bid_id) -> None:
    job = bidding[0]
    before = state()
    body = {"version": 1, "card_token": "tok_visa"} | ({} if bid_id is None else {"bid_id": bid_id})
    response = api.post(f"/api/jobs/{job.pk}/award/", body, format="json")
    assert response.status_code == 400 and "bid_id" in response.json()["error"]["fields"]
    assert state() == before


def test_a_bid_on_another_job_cannot_be_accepted(api, customer, bidding) -> None:
    _, winner, _ = bidding
    second = post_job(customer, title="Second job")
    before = state()
    response = award(api, second, winner)
    assert response.status_code == 400 and "bid_id" in response.json()["error"]["fields"]
    assert state() == before


def test_an_edit_sent_as_a_form_leaves_unsent_fields_alone(api, customer) -> None:
    job = post_job(customer, is_emergency=True)
    response = api.patch(f"/api/jobs/{job.pk}/", {"title": "From a form"}, format="multipart")
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.title, job.is_emergency) == ("From a form", True)


def test_a_body_over_the_upload_limit_is_refused(api) -> None:
    response = api.post("/api/jobs/", {**JOB, "description": "x" * 3_000_000}, format="json")
    assert response.status_code == 413
    assert not Job.objects.exists()


def test_a_body_over_the_upload_limit_gets_our_json_error(api) -> None:
    response = api.post("/api/jobs/", {**JOB, "description": "x" * 3_000_000}, format="json")
    assert response["Content-Type"] == "application/json"
    assert error_code(response) in ("request_too_large", "parse_error")


def test_listing_jobs_costs_the_same_queries_for_one_job_or_many(customer, tradesperson, django_assert_max_num_queries) -> None:
    make_profile(tradesperson)
    for n in range(8):
        job = post_job(customer, title=f"Job {n}")
        offer(job, tradesperson)
        place_bid(job, tradesperson)
    api = client_for(customer)
    with django_assert_max_num_queries(6):  # count, page, photos, bid counts (+ savepoints)
        assert len(api.get("/api/jobs/").json()["results"]) == 8
