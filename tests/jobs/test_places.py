"""UK postcode districts (jobs/places.py): normalising, the packaged data, autocomplete, the online
geocoder against a stub server (and its fallback), and posting a job in Edinburgh by API and page.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from jobs import places
from jobs.models import Job, Trade
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from tests.factories import trade
from tests.helpers import client_for

# --- normalising and the offline data -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SW1A 1AA", "SW1A"),
        ("sw1a1aa", "SW1A"),
        (" eh1  1aa ", "EH1"),
        ("EH1", "EH1"),
        ("bt7", "BT7"),
        ("CF10 1AA", "CF10"),
        ("W1A 0AX", "W1A"),
        ("M1", "M1"),
        ("Edinburgh", None),
        ("1AA", None),
        ("SW1A 1A", None),
        ("", None),
    ],
)
def test_a_postcode_or_a_district_is_cut_to_its_district(text: str, code: str | None) -> None:
    assert places.outward_code(text) == code


@pytest.mark.parametrize(
    ("text", "label", "lat_range", "lon_range"),
    [
        ("EH1 1AA", "Edinburgh EH1", (55.9, 56.0), (-3.3, -3.1)),  # Scotland
        ("CF10", "Cardiff CF10", (51.4, 51.5), (-3.3, -3.1)),  # Wales
        ("BT1 1AA", "Belfast BT1", (54.5, 54.7), (-6.0, -5.8)),  # Northern Ireland
        ("M1", "Manchester M1", (53.4, 53.5), (-2.3, -2.2)),  # England
        ("ZE1", "Lerwick ZE1", (60.0, 60.3), (-1.3, -1.0)),  # Shetland
        ("Islington N1", "Islington N1", (51.536, 51.537), (-0.104, -0.103)),  # a named London place keeps its name and point
        ("n1 9gu", "Islington N1", (51.536, 51.537), (-0.104, -0.103)),
        ("London N1", "Islington N1", (51.536, 51.537), (-0.104, -0.103)),
        ("edinburgh eh1", "Edinburgh EH1", (55.9, 56.0), (-3.3, -3.1)),
    ],
)
def test_districts_of_the_four_nations_are_found_offline(text: str, label: str, lat_range: tuple, lon_range: tuple) -> None:
    place = places.by_label(text)
    assert place is not None and place.label == label
    assert lat_range[0] < place.latitude < lat_range[1] and lon_range[0] < place.longitude < lon_range[1]


def test_the_packaged_data_covers_the_whole_uk_once() -> None:
    codes = [p.postcode for p in places.all_places()]
    assert len(codes) == len(set(codes)) > 2900
    areas = {re.match(r"[A-Z]+", code).group() for code in codes}  # type: ignore[union-attr]
    assert len(areas) == 121 and {"AB", "BT", "CF", "EH", "HS", "LL", "SW", "ZE", "E", "W"} <= areas
    assert all(49.8 < p.latitude < 61 and -8.7 < p.longitude < 2 for p in places.all_places())


@pytest.mark.parametrize("text", ["XX1", "XX1 1AA", "Atlantis", "Leeds EH1", ""])
def test_unknown_places_are_none(text: str) -> None:
    assert places.by_label(text) is None


def test_search_suggests_districts_in_natural_order_then_names() -> None:
    assert [p.label for p in places.search("EH1", 3)] == ["Edinburgh EH1", "Edinburgh EH10", "Edinburgh EH11"]
    assert [p.label for p in places.search("edin", 2)] == ["Edinburgh EH1", "Edinburgh EH2"]
    assert [p.label for p in places.search("eh1 1a")] == ["Edinburgh EH1"]  # a postcode being typed: its district only
    assert [p.label for p in places.search("isling")] == ["Islington N1"]
    assert places.search("atlantis") == []


# --- the API ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_places_api_answers_a_full_postcode_with_its_district_only() -> None:
    body = APIClient().get("/api/places/", {"q": "EH1 1AA"}).json()
    assert body == [{"name": "Edinburgh", "postcode": "EH1", "label": "Edinburgh EH1", "latitude": "55.95030", "longitude": "-3.18950"}]
    assert [p["label"] for p in APIClient().get("/api/places/", {"q": "bt", "limit": "2"}).json()] == ["Belfast BT1", "Belfast BT2"]


# --- the online geocoder (a local stub; nothing leaves the machine) -----------------------------


class Stub(BaseHTTPRequestHandler):
    """A postcodes.io look-alike: EH1 is found, ZZ9 is unknown (404), BT1 breaks (500), M1 is slow."""

    hits: list[str] = []

    def do_GET(self) -> None:
        Stub.hits.append(self.path)
        code = self.path.rsplit("/", 1)[-1]
        if code == "M1":
            time.sleep(1)
        status, body = {
            "EH1": (200, {"status": 200, "result": {"outcode": "EH1", "latitude": 55.951234567, "longitude": -3.191234567}}),
            "XX1": (200, {"status": 200, "result": {"outcode": "XX1", "latitude": 51.1, "longitude": -1.1}}),
            "BT1": (500, {"status": 500, "error": "boom"}),
        }.get(code, (404, {"status": 404, "error": "Outcode not found"}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def online(settings) -> Iterator[type[Stub]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.hits = []
    settings.GEOCODER = "jobs.places.PostcodesIoGeocoder"
    settings.GEOCODER_URL = f"http://127.0.0.1:{server.server_address[1]}/"
    settings.GEOCODER_TIMEOUT_S = 0.3
    try:
        yield Stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_online_geocoder_gives_the_services_coordinates_with_the_offline_name(online) -> None:
    place = places.lookup("eh1 1aa")
    assert place == places.Place("Edinburgh", "EH1", Decimal("55.95123"), Decimal("-3.19123"))
    assert online.hits == ["/outcodes/EH1"]
    assert places.lookup("XX1") == places.Place("XX", "XX1", Decimal("51.10000"), Decimal("-1.10000"))  # known only online


@pytest.mark.parametrize(("code", "why"), [("BT1", "a server error"), ("M1", "a timeout"), ("ZZ9", "not found")])
def test_the_online_geocoder_falls_back_to_the_offline_data(online, code: str, why: str) -> None:
    place = places.lookup(code)
    assert place == (places.OfflineGeocoder().lookup(code)), why
    assert online.hits == [f"/outcodes/{code}"]


def test_the_online_geocoder_falls_back_when_the_service_is_down(settings) -> None:
    settings.GEOCODER = "jobs.places.PostcodesIoGeocoder"
    settings.GEOCODER_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens
    assert places.lookup("EH1") == places.OfflineGeocoder().lookup("EH1")


@pytest.mark.django_db(transaction=True)
def test_the_online_geocoder_never_calls_out_inside_a_transaction(online) -> None:
    with transaction.atomic():
        assert places.lookup("EH1") == places.OfflineGeocoder().lookup("EH1")
    assert online.hits == []
    assert places.lookup("EH1") is not None and online.hits == ["/outcodes/EH1"]


def test_autocomplete_stays_offline_with_the_online_geocoder(online) -> None:
    assert [p.label for p in places.search("EH1", 1)] == ["Edinburgh EH1"]
    assert online.hits == []


# --- posting a job in Edinburgh: only the district is kept -----------------------------------------


@pytest.fixture
def plumbing(db) -> Trade:
    return trade()


def _no_full_postcode_anywhere(job: Job) -> None:
    assert job.place == "Edinburgh EH1" and (job.latitude, job.longitude) == (Decimal("55.95030"), Decimal("-3.18950"))
    posted = OutboxEvent.objects.get(event_type="job.posted").envelope
    assert "EH1 1AA" not in json.dumps(posted).upper() and "Edinburgh EH1" in json.dumps(posted)


def test_a_job_posted_by_api_with_a_full_edinburgh_postcode_keeps_only_the_district(customer: User, plumbing: Trade) -> None:
    body = {"trade": "plumbing", "title": "Leaky tap", "description": "Kitchen tap drips", "place": "EH1 1AA"}
    response = client_for(customer).post("/api/jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["place"], response.json()["latitude"]) == ("Edinburgh EH1", "55.95030")
    _no_full_postcode_anywhere(Job.objects.get())


def test_coordinates_with_a_full_postcode_keep_the_district_as_the_label(customer: User, plumbing: Trade) -> None:
    body = {"trade": "plumbing", "title": "Leaky tap", "description": "Drips", "place": "XX1 1AA", "latitude": "51.5", "longitude": "-0.1"}
    response = client_for(customer).post("/api/jobs/", body, format="json")
    assert response.status_code == 201 and response.json()["place"] == "XX1"


def test_an_unknown_district_is_refused_by_the_api_in_words(customer: User, plumbing: Trade) -> None:
    body = {"trade": "plumbing", "title": "Leaky tap", "description": "Kitchen tap drips", "place": "XX1 1AA"}
    response = client_for(customer).post("/api/jobs/", body, format="json")
    assert response.status_code == 400
    assert "give a UK postcode or district" in response.json()["error"]["fields"]["place"][0]


def _form(plumbing: Trade, place: str) -> dict[str, str]:
    return {
        "trade": plumbing.slug,
        "title": "Boiler not firing",
        "description": "Combi boiler shows F28.",
        "place": place,
        "budget_min": "80",
        "budget_max": "300",
        "idempotency_key": uuid.uuid4().hex,
    }


def test_a_job_posted_on_the_page_in_edinburgh_keeps_only_the_district(client: Client, customer: User, plumbing: Trade) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", _form(plumbing, "eh1 1aa"))
    assert response.status_code == 302, response.context["form"].errors
    job = Job.objects.get()
    _no_full_postcode_anywhere(job)
    page = client.get(response["Location"])
    assert b"Edinburgh EH1" in page.content and b"EH1 1AA" not in page.content.upper()


@pytest.mark.parametrize(
    ("place", "message"),
    [
        ("XX1", "We don't know the postcode district XX1."),
        ("XX1 1AA", "We don't know the postcode district XX1."),
        ("EH1 1A1", "“EH1 1A1” isn't a UK postcode."),
    ],
)
def test_the_page_explains_an_unknown_postcode(client: Client, customer: User, plumbing: Trade, place: str, message: str) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", _form(plumbing, place))
    assert response.status_code == 200 and not Job.objects.exists()
    assert message in " ".join(response.context["form"].errors["place"])
