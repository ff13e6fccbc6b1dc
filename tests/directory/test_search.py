"""Finding a pro: /api/pros/ and /pros/ by trade and postcode, ranked, paginated, in a fixed number of queries, public;
the public profile shows badges and a quote link, never private details."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.credentials import credential_add, credential_verify
from jobs.models import Credential, ProStats
from marketplace.accounts.models import User
from tests.factories import BRIXTON, make_pro, pro, trade
from tests.helpers import client_for, error_code

pytestmark = pytest.mark.django_db

NEXT_YEAR = date(date.today().year + 1, 3, 31)
CAMDEN = (Decimal("51.53900"), Decimal("-0.14260"))  # NW1, about 3 km from Islington


def verified(user: User, kind: str = Credential.Kind.GAS_SAFE, number: str = "123456") -> Credential:
    staff = User.objects.filter(is_staff=True).first() or User.objects.create_user("checker", password="x", is_staff=True)
    credential = credential_add(user=user, kind=kind, number=number, expires_on=NEXT_YEAR)
    credential_verify(credential=credential, staff=staff)
    return credential


def stats(user: User, *, rating: str | None = None, count: int = 0, bids: int = 0, response_minutes: float = 0) -> None:
    ProStats.objects.update_or_create(
        tradesperson_id=user.pk,
        defaults={
            "rating_average": Decimal(rating) if rating else None,
            "rating_count": count,
            "bids_placed": bids,
            "response_seconds_total": response_minutes * 60 * bids,
        },
    )


def test_search_by_trade_and_postcode_lists_who_covers_it_best_first() -> None:
    plumbing, electrics = trade(), trade("electrical", "Electrical")
    top = pro("top", trades=[plumbing], at=CAMDEN)
    near = pro("near", trades=[plumbing])  # in Islington itself
    slow = pro("slow", trades=[plumbing])
    far = pro("far", trades=[plumbing], at=BRIXTON, radius=5)  # Brixton, 9 km away, travels 5: does not cover N1
    sparky = pro("sparky", trades=[electrics])
    stats(top, rating="4.90", count=30, bids=10, response_minutes=10)
    stats(near, rating="4.20", count=5, bids=4, response_minutes=60)
    stats(slow, rating="4.20", count=5, bids=4, response_minutes=600)
    verified(top)
    verified(top, Credential.Kind.PUBLIC_LIABILITY, "PL-1")

    anonymous = client_for(None)
    body = anonymous.get("/api/pros/", {"trade": "plumbing", "postcode": "N1"}).json()
    assert body["place"] == "Islington N1" and body["count"] == 3 and body["pages"] == 1
    assert [r["user_id"] for r in body["results"]] == [top.pk, near.pk, slow.pk]
    first = body["results"][0]
    assert [b["kind"] for b in first["badges"]] == ["gas_safe", "public_liability_insurance"]
    assert first["badges"][0]["expires"] == NEXT_YEAR.strftime("%B %Y") and first["distance_km"] == pytest.approx(3.0, abs=0.3)
    assert first["rating_average"] == 4.9 and first["response_minutes"] == 10.0
    assert first["request_quote_url"] == f"/jobs/new/?pro={top.pk}" and first["profile_url"] == f"/pros/{top.pk}/"
    assert body["results"][0]["score"] > body["results"][1]["score"] > body["results"][2]["score"]

    # A full postcode, a sector or the area's name read as the same district; another trade, another list.
    for typed in ("n1 9gu", "Islington", "Islington N1"):
        assert anonymous.get("/api/pros/", {"trade": "plumbing", "postcode": typed}).json()["count"] == 3
    assert [r["user_id"] for r in anonymous.get("/api/pros/", {"trade": "electrical", "postcode": "N1"}).json()["results"]] == [sparky.pk]
    # Brixton is covered by the one who is based there.
    assert far.pk in [r["user_id"] for r in anonymous.get("/api/pros/", {"trade": "plumbing", "postcode": "SW2"}).json()["results"]]


def test_unknown_postcodes_and_trades_are_refused_in_words_a_person_understands() -> None:
    anonymous = client_for(None)
    response = anonymous.get("/api/pros/", {"postcode": "ZZ99"})
    assert response.status_code == 400 and error_code(response) == "unknown_postcode"
    assert "district" in response.json()["error"]["message"]
    assert error_code(anonymous.get("/api/pros/", {"trade": "astrology"})) == "unknown_trade"
    page = Client().get("/pros/", {"postcode": "ZZ99"})
    assert page.status_code == 200 and b"We don&#x27;t know that postcode yet" in page.content


def test_pages_are_stable_and_the_query_count_does_not_grow_with_the_page(settings) -> None:
    plumbing = trade()
    pros = [pro(f"p{i:02d}", trades=[plumbing]) for i in range(7)]
    for i, user in enumerate(pros):
        stats(user, rating=f"{3 + i * 0.2:.2f}", count=10, bids=1, response_minutes=30)
        if i % 2:
            verified(user, number=f"GS{i}")
    settings.DIRECTORY = {**settings.DIRECTORY, "PAGE_SIZE": 3}
    api = client_for(None)

    def page(n: int) -> dict:
        return api.get("/api/pros/", {"trade": "plumbing", "postcode": "N1", "page": str(n)}).json()

    seen = [r["user_id"] for n in (1, 2, 3) for r in page(n)["results"]]
    assert sorted(seen) == sorted(u.pk for u in pros) and len(seen) == 7  # every pro once, none twice
    assert page(1)["next"] == 2 and page(3)["next"] is None and page(99)["page"] == 3

    with CaptureQueriesContext(connection) as small:
        page(3)  # one pro
    with CaptureQueriesContext(connection) as full:
        page(1)  # three pros, with trades and badges
    assert len(full) == len(small) <= 5, [q["sql"] for q in full.captured_queries]


def test_the_directory_page_and_the_public_profile_show_nothing_private(customer: User) -> None:
    plumbing = trade()
    bob = make_pro("bob", trades=[plumbing], bio="Boilers and bathrooms since 1999.")  # with an email and an invoice address
    verified(bob, number="GS-555")
    visitor = Client()

    listing = visitor.get("/pros/", {"trade": "plumbing", "postcode": "N1"})
    assert listing.status_code == 200
    assert b"Bob Ltd" in listing.content and b"Gas Safe registered" in listing.content and f"?pro={bob.pk}".encode() in listing.content

    profile = visitor.get(f"/pros/{bob.pk}/")
    html = profile.content.decode()
    assert profile.status_code == 200
    assert "Gas Safe registered" in html and NEXT_YEAR.strftime("%B %Y") in html and "GS-555" in html
    assert f'href="/jobs/new/?pro={bob.pk}"' in html and "Request a quote" in html
    assert 'id="pro-badges-config"' in html and '"stream": null' in html  # a visitor gets no live stream, a signed-in one does
    for private in ("bob@example.com", "1 Upper Street", "N1 0AA", "Bob Trading Ltd", "GB123456789", "credentials/"):
        assert private not in html and private not in listing.content.decode()

    visitor.force_login(customer)
    signed_in = visitor.get(f"/pros/{bob.pk}/").content.decode()
    assert f'"stream": "pro.{bob.pk}"' in signed_in
    assert "Find a pro" in visitor.get("/pros/").content.decode()
    assert client_for(None).get(f"/api/pros/{bob.pk}/badges/").json()["badges"][0]["number"] == "GS-555"
