"""Tradespeople's pages: leads, bidding (place, revise, withdraw), the board, the business profile, the public profile."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.postgres.search import SearchVector
from django.test import Client
from django.utils import timezone

from jobs.models import Bid, Job, JobBoardEntry, Trade, TradespersonProfile
from jobs.services import job_cancel
from marketplace.accounts.models import User
from marketplace.realtime.models import LivePosition

pytestmark = pytest.mark.django_db


def test_the_leads_page_lists_leads_with_positions_for_their_jobs_only(client: Client, lead, tradesperson: User) -> None:
    LivePosition.objects.create(stream=f"user.{tradesperson.pk}", source="matching", aggregate=f"job:{lead.job_id}", last_sequence=1)
    LivePosition.objects.create(stream=f"user.{tradesperson.pk}", source="job-live", aggregate="job:999999", last_sequence=4)
    client.force_login(tradesperson)
    response = client.get("/leads/")
    assert response.status_code == 200
    assert b"Leaking kitchen tap" in response.content and b"2.0 km away" in response.content
    assert response.context["live"]["positions"] == {f"matching|job:{lead.job_id}": 1}
    data = client.get("/api/leads/").json()["results"]
    assert [(d["job_id"], d["seen"], d["badge_label"]) for d in data] == [(lead.job_id, False, "Not bid yet")]


def quote_form(price: str = "120", **extra: str) -> dict[str, str]:
    """The builder's fields for a one-option quote: a labour line at ``price``."""
    return {
        "opt-0-line-0-kind": "labour",
        "opt-0-line-0-description": "Replace the cartridge",
        "opt-0-line-0-quantity": "1",
        "opt-0-line-0-unit_price": price,
        "message": "Can do Tuesday",
        **extra,
    }


def test_quoting_revising_and_withdrawing(client: Client, lead, tradesperson: User) -> None:
    client.force_login(tradesperson)
    url = f"/leads/{lead.job_id}/"
    page = client.get(url)
    assert b"Send quote" in page.content and b"Add alternatives" in page.content
    response = client.post(url + "quote/", quote_form(price=""))
    assert response.status_code == 400 and "Enter a price." in response.content.decode()
    assert not Bid.objects.exists()

    assert client.post(url + "quote/", quote_form()).status_code == 302
    bid = Bid.objects.get()
    assert (bid.amount, bid.message) == (Decimal("144.00"), "Can do Tuesday")  # 120 net + 20 % VAT: what the customer pays
    page = client.get(url)
    assert b"Your quote" in page.content and b"Revise your quote" in page.content and b"Send revised quote" in page.content
    assert page.context["draft"].options[0].lines[0].unit_price == "120"  # the builder is prefilled with the latest version

    client.post(url + "quote/", quote_form(price="110"))  # again: a new version
    bid.refresh_from_db()
    assert (bid.amount, bid.revision) == (Decimal("132.00"), 2)
    assert [v.number for v in client.get(url).context["versions"]] == [2, 1]
    state = {"job": client.get(f"/api/jobs/{lead.job_id}/").json(), "bid": client.get(f"/api/jobs/{lead.job_id}/bids/").json()[0]}
    assert state["bid"]["amount"] == "132.00" and state["job"]["status"] == "open"

    client.post(url + "bid/withdraw/")
    bid.refresh_from_db()
    assert bid.status == Bid.Status.WITHDRAWN
    response = client.post(url + "quote/", quote_form(price="90"))
    assert response.status_code == 400 and "withdrawn" in response.context["draft"].errors["form"]


def test_a_closed_job_takes_no_quote_and_says_so(client: Client, lead, tradesperson: User, job: Job) -> None:
    job_cancel(job=job, actor=job.customer)
    client.force_login(tradesperson)
    page = client.get(f"/leads/{job.pk}/")
    assert b"The customer cancelled this job." in page.content
    response = client.post(f"/leads/{job.pk}/quote/", quote_form())
    assert response.status_code == 400 and response.context["draft"].errors["form"]
    assert not Bid.objects.exists()


def board_entry(job_id: int, title: str, lat: float, lon: float, trade: str = "plumbing", **extra: object) -> JobBoardEntry:
    entry = JobBoardEntry.objects.create(
        job_id=job_id,
        customer_id=1,
        trade_slug=trade,
        trade_name=trade.title(),
        title=title,
        description=f"{title} description",
        latitude=lat,
        longitude=lon,
        place="Somewhere",
        budget_min=Decimal(str(extra.pop("budget_min", 50))),
        budget_max=Decimal(str(extra.pop("budget_max", 150))),
        is_emergency=bool(extra.pop("is_emergency", False)),
        status="open",
        posted_at=timezone.now(),
        last_sequence=1,
    )
    JobBoardEntry.objects.filter(pk=job_id).update(search=SearchVector("title", "description", config="english"))
    return entry


def test_the_board_searches_and_filters(client: Client, tradesperson: User, profile) -> None:
    Trade.objects.create(slug="hvac", name="Heating")
    board_entry(900001, "Boiler not firing", 51.55, -0.10, trade="hvac", is_emergency=True)
    board_entry(900002, "Leaking tap", 51.54, -0.11)
    board_entry(900003, "Leaking roof in Brighton", 50.82, -0.14, budget_min=900, budget_max=2000)
    client.force_login(tradesperson)

    def titles(query: str) -> list[str]:
        response = client.get("/board/" + query)
        assert response.status_code == 200
        return [row.title for row in response.context["rows"]]

    assert titles("") == ["Boiler not firing", "Leaking tap", "Leaking roof in Brighton"]  # emergency, then nearest
    assert set(titles("?q=leaking")) == {"Leaking tap", "Leaking roof in Brighton"}
    assert titles("?max_km=10") == ["Boiler not firing", "Leaking tap"]
    assert titles("?trade=hvac") == ["Boiler not firing"]
    assert titles("?budget_min=500") == ["Leaking roof in Brighton"]
    assert titles("?emergency=on") == ["Boiler not firing"]
    assert client.get("/board/?emergency=on").context["live"]["filtered"] is True
    assert client.get("/board/").context["live"]["filtered"] is False
    response = client.get("/board/?budget_min=100&budget_max=50&trade=hvac")
    assert "at least the minimum" in " ".join(response.context["form"].errors["budget_max"])
    assert [r.title for r in response.context["rows"]] == ["Boiler not firing"]  # the valid filters still apply
    data = client.get("/api/board/?max_km=10").json()
    assert [j["title"] for j in data["results"]] == ["Boiler not firing", "Leaking tap"]
    assert client.get("/board/?max_km=10").context["live"]["filtered"] is True


def test_the_board_without_a_profile_cannot_filter_by_distance(client: Client, tradesperson: User) -> None:
    board_entry(900004, "Far away job", 55.0, -3.0)
    client.force_login(tradesperson)
    response = client.get("/board/?max_km=5")
    assert [r.title for r in response.context["rows"]] == ["Far away job"]
    assert b"Set your base on your profile" in response.content


def test_completing_a_profile_from_a_place(client: Client, tradesperson: User, trade: Trade) -> None:
    other = Trade.objects.create(slug="electrical", name="Electrical")
    client.force_login(tradesperson)
    page = client.get("/profile/")
    assert b"Finish your business profile" in page.content
    response = client.post(
        "/profile/",
        {
            "business_name": "Xavier & Sons",
            "trades": [trade.pk, other.pk],
            "place": "Islington N1",
            "service_radius_km": "20",
            "bio": "Since 1999",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/leads/"
    profile = TradespersonProfile.objects.get(user=tradesperson)
    assert (profile.base_place, profile.base_latitude, profile.service_radius_km) == ("Islington N1", Decimal("51.53620"), 20)
    assert set(profile.trades.values_list("slug", flat=True)) == {"plumbing", "electrical"}
    assert profile.is_accepting_leads is False  # unticked box
    response = client.post("/profile/", {"business_name": "Xavier & Sons", "place": "Islington N1", "service_radius_km": "500"})
    errors = response.context["form"].errors
    assert "trades" in errors and "service_radius_km" in errors


def test_the_public_profile_shows_the_area_not_the_coordinates(client: Client, profile) -> None:
    response = client.get(f"/pros/{profile.user_id}/")
    assert response.status_code == 200
    assert b"Xavier Plumbing" in response.content and b"Islington N1" in response.content
    assert b"51.536" not in response.content
    assert b"No reviews yet" in response.content
    assert client.get("/pros/999999/").status_code == 404


def test_a_withdrawn_lead_says_why_and_takes_no_quote(client: Client, lead, tradesperson: User, job: Job) -> None:
    lead.withdrawn_at, lead.withdrawn_reason = timezone.now(), lead.WithdrawnReason.JOB_CHANGED
    lead.save()
    client.force_login(tradesperson)
    page = client.get(f"/leads/{job.pk}/").content.decode()
    assert 'data-lead-withdrawn="1"' in page and "This job changed and no longer matches you." in page
    listed = client.get("/leads/").content.decode()
    assert "No longer matches you" in listed and 'class="item lead closed"' in listed
    response = client.post(f"/leads/{job.pk}/quote/", quote_form())
    assert response.status_code == 400 and not Bid.objects.exists()
