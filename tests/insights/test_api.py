"""The insights API and pages: who sees what, filters, CSV export with the same filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from insights.projections import add
from marketplace.accounts.models import User
from marketplace.realtime.streams import can_subscribe
from tests.factories import make_pro, make_user, trade
from tests.helpers import client_for, error_code

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


@pytest.fixture(autouse=True)
def _today() -> None:
    # The date when each test runs, not when the module was imported: a run may cross midnight (or run under TEST_CLOCK).
    global TODAY
    TODAY = timezone.now().date()


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def people() -> dict[str, User]:
    trade("electrical", "Electrical")
    x = make_pro("xpro")
    y = make_pro("ypro")
    # X: two completed plumbing jobs today, one electrical award 3 days ago; Y: one completed plumbing job today.
    add(noon(TODAY), "plumbing", [x.pk], jobs_completed=2, revenue=Decimal("300.00"), platform_fees=Decimal("30.00"))
    add(noon(TODAY - timedelta(days=3)), "electrical", [x.pk], jobs_awarded=1, jobs_bid=2, first_bid_seconds=1200.0)
    add(noon(TODAY), "plumbing", [y.pk], jobs_completed=1, revenue=Decimal("50.00"))
    add(noon(TODAY - timedelta(days=40)), "plumbing", [], jobs_posted=5)
    return {"X": x, "Y": y, "A": make_user("acust"), "staff": make_user("boss", is_staff=True)}


def test_a_tradesperson_sees_only_their_own_numbers(people) -> None:
    x, y = people["X"], people["Y"]
    body = client_for(x).get("/api/insights/").json()
    assert body["scope"] == "tradesperson" and body["tradesperson_id"] == x.pk and body["days_are"] == "UTC"
    assert body["totals"]["jobs_completed"] == 2 and body["totals"]["revenue"] == "300.00"
    assert body["totals"]["win_rate"] == 0.5 and body["totals"]["avg_minutes_to_first_bid"] == 10.0
    assert len(body["series"]) == 30 and body["series"][-1]["day"] == TODAY.isoformat()
    assert client_for(y).get("/api/insights/").json()["totals"]["jobs_completed"] == 1
    # Asking for someone else's numbers is refused, not quietly answered.
    response = client_for(y).get(f"/api/insights/?tradesperson={x.pk}")
    assert response.status_code == 403 and error_code(response) == "forbidden"
    response = client_for(y).get(f"/api/insights/csv/?tradesperson={x.pk}")
    assert response.status_code == 403
    # Streams: their own only.
    assert can_subscribe(x, f"insights.{x.pk}") and not can_subscribe(y, f"insights.{x.pk}")
    assert not can_subscribe(x, "insights.platform") and can_subscribe(people["staff"], "insights.platform")


def test_customers_are_refused_and_staff_pick_a_tradesperson_or_the_platform(people) -> None:
    assert error_code(client_for(people["A"]).get("/api/insights/")) == "forbidden"
    assert client_for(people["A"]).get("/api/insights/platform/").status_code == 403
    assert client_for(people["X"]).get("/api/insights/platform/").status_code == 403
    assert client_for(None).get("/api/insights/").status_code == 403
    staff = client_for(people["staff"])
    assert error_code(staff.get("/api/insights/")) == "tradesperson_required"
    assert staff.get(f"/api/insights/?tradesperson={people['X'].pk}").json()["totals"]["jobs_completed"] == 2
    platform = staff.get("/api/insights/platform/").json()
    assert platform["scope"] == "platform" and platform["totals"]["jobs_completed"] == 3
    assert platform["totals"]["revenue"] == "350.00" and platform["totals"]["jobs_posted"] == 0  # 40 days ago: outside the default range


def test_filters_by_date_range_and_trade(people) -> None:
    staff = client_for(people["staff"])
    old = staff.get(f"/api/insights/platform/?date_from={TODAY - timedelta(days=60)}&date_to={TODAY - timedelta(days=10)}").json()
    assert old["totals"]["jobs_posted"] == 5 and old["totals"]["jobs_completed"] == 0 and len(old["series"]) == 51
    electrical = client_for(people["X"]).get("/api/insights/?trade=electrical").json()
    assert electrical["totals"]["jobs_awarded"] == 1 and electrical["totals"]["jobs_completed"] == 0
    assert [t["trade"] for t in electrical["by_trade"]] == ["electrical"]
    both = client_for(people["X"]).get("/api/insights/").json()
    assert [(t["trade"], t["name"]) for t in both["by_trade"]] == [("electrical", "Electrical"), ("plumbing", "Plumbing")]
    bad = staff.get(f"/api/insights/platform/?date_from={TODAY}&date_to={TODAY - timedelta(days=1)}")
    assert bad.status_code == 400 and "date_from" in bad.json()["error"]["fields"]
    assert staff.get("/api/insights/platform/?date_from=2020-01-01&date_to=2026-01-01").status_code == 400  # too long


def test_csv_export_has_the_same_filters_and_numbers(people) -> None:
    response = client_for(people["X"]).get(f"/api/insights/csv/?trade=plumbing&date_from={TODAY - timedelta(days=7)}&date_to={TODAY}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and "plumbing" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["day"], r["trade"], r["jobs_completed"], r["revenue"]) for r in rows] == [(TODAY.isoformat(), "plumbing", "2", "300.00")]
    platform = client_for(people["staff"]).get(f"/api/insights/platform/csv/?date_from={TODAY - timedelta(days=60)}&date_to={TODAY}")
    days = [(r["day"], r["trade"]) for r in csv.DictReader(io.StringIO(platform.content.decode()))]
    assert days == [
        ((TODAY - timedelta(days=40)).isoformat(), "plumbing"),
        ((TODAY - timedelta(days=3)).isoformat(), "electrical"),
        (TODAY.isoformat(), "plumbing"),
    ]
    assert client_for(people["X"]).get("/api/insights/platform/csv/").status_code == 403


def test_the_pages(people) -> None:
    web = Client()
    web.force_login(people["X"])
    page = web.get("/insights/")
    assert page.status_code == 200 and b"Days are UTC days" in page.content and b"vendor/chartjs/chart.umd.min.js" in page.content
    assert f'"insights.{people["X"].pk}"'.encode() in page.content
    assert web.get("/insights/platform/").status_code == 302  # staff only: to the admin login
    web.force_login(people["staff"])
    assert web.get("/insights/").status_code == 302
    page = web.get("/insights/platform/")
    assert page.status_code == 200 and b'"insights.platform"' in page.content
    web.force_login(people["A"])
    assert web.get("/insights/").status_code == 404
