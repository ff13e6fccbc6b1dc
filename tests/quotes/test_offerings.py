"""Fixed-price services: publishing them, and booking one straight into a free slot with the deposit held,
including two customers racing for the same slot."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from jobs.models import Job
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from payments.models import Payment
from quotes import offerings
from quotes.models import QuoteAcceptance, ServiceOffering
from quotes.offerings import Where, offering_net, offering_save, service_book
from quotes.selectors import offering_slots
from scheduling.models import Appointment
from scheduling.services.common import SlotUnavailable
from tests.factories import CustomerFactory, post_job, pro, trade
from tests.helpers import client_for, error_code

D = Decimal
N1 = Where(D("51.53620"), D("-0.10330"), "Islington N1")


def _service(pro_user, **kw: Any) -> ServiceOffering:
    fields: dict[str, Any] = {"title": "Boiler service", "description": "Annual service", "price": D("85.00"), "duration_minutes": 60}
    fields.update(kw)
    return offering_save(pro=pro_user, trade=trade(), **fields)


@pytest.mark.django_db
def test_a_vat_inclusive_price_becomes_a_net_the_engine_prices_back_to_it() -> None:
    assert offering_net(D("85.00"), tax_rate=D("0")) == D("85.00")
    net = offering_net(D("85.00"), tax_rate=D("0.2"))
    assert net + (net * D("0.2")).quantize(D("0.01")) == D("85.00")
    # Some VAT-inclusive prices cannot be reached in whole pence: refused with the nearest that can.
    unreachable = [D(p) / 100 for p in range(100, 200) if not _reachable(D(p) / 100)]
    assert unreachable
    with pytest.raises(ServiceError) as refused:
        offering_net(unreachable[0], tax_rate=D("0.2"))
    assert refused.value.code == "price_not_exact" and "try" in refused.value.message


def _reachable(total: Decimal) -> bool:
    try:
        offering_net(total, tax_rate=D("0.2"))
    except ServiceError:
        return False
    return True


@pytest.mark.django_db
def test_only_a_tradesperson_publishes_services_of_their_own_trades(customer) -> None:
    bob = pro("bob")
    offering = _service(bob)
    assert (offering.price, offering.duration_minutes, offering.active) == (D("85.00"), 60, True)
    electrical = trade("electrical", "Electrical")
    for who, kw, code in (
        (customer, {}, "not_a_tradesperson"),
        (bob, {"trade": electrical}, "not_your_trade"),
        (bob, {"duration_minutes": 5}, "bad_duration"),
    ):
        fields: dict[str, Any] = {"title": "X", "description": "", "price": D("50"), "duration_minutes": 60, "trade": trade(), **kw}
        with pytest.raises(ServiceError) as refused:
            offering_save(pro=who, **fields)
        assert refused.value.code == code
    with pytest.raises(ServiceError) as refused:
        offering_save(pro=pro("eve"), offering=offering, trade=trade(), title="Mine now", description="", price=D("1"), duration_minutes=60)
    assert refused.value.code == "forbidden"


@pytest.mark.django_db
def test_booking_holds_the_deposit_and_books_the_slot_as_a_normal_booking_does(customer) -> None:
    bob = pro("bob")
    offering = _service(bob)
    [first, *_] = offering_slots(offering=offering)
    job = service_book(offering=offering, customer=customer, starts_at=first, card_token="tok_visa", where=N1)

    assert job.status == Job.Status.SCHEDULED and job.tradesperson == bob and job.requested_pro == bob
    acceptance = QuoteAcceptance.objects.get(job=job)
    assert acceptance.total == D("85.00") and acceptance.deposit > 0
    payment = Payment.objects.get(job=job)
    assert (payment.status, payment.held) == (Payment.Status.DEPOSIT_HELD, acceptance.deposit)
    appointment = Appointment.objects.get(job=job)
    assert (appointment.starts_at, appointment.ends_at - appointment.starts_at) == (first, timedelta(minutes=60))
    kinds = [row.event_type for row in OutboxEvent.objects.order_by("id") if row.envelope["data"].get("job_id") == job.pk]
    for expected in ("job.posted", "lead.offered", "quote.published", "quote.accepted", "job.awarded", "appointment.booked"):
        assert expected in kinds
    assert first not in offering_slots(offering=offering)  # the slot is gone for the next customer

    # The slot is taken now: another customer is refused with a sentence and fresh starts, and keeps no job.
    other = CustomerFactory.create(username="dev")
    with pytest.raises(SlotUnavailable) as refused:
        service_book(offering=offering, customer=other, starts_at=first, card_token="tok_visa", where=N1)
    assert refused.value.code == "slot_taken" and refused.value.suggestions and "Next free" in refused.value.message
    assert not Job.objects.filter(customer=other).exists()


@pytest.mark.django_db
def test_a_declined_card_leaves_no_booking_and_no_open_job(customer) -> None:
    offering = _service(pro("bob"))
    [first, *_] = offering_slots(offering=offering)
    with pytest.raises(ServiceError) as refused:
        service_book(offering=offering, customer=customer, starts_at=first, card_token="tok_decline", where=N1)
    assert refused.value.code == "card_declined"
    assert not Appointment.objects.exists()
    assert list(Job.objects.values_list("status", flat=True)) == [Job.Status.CANCELLED]
    assert first in offering_slots(offering=offering)


@pytest.mark.django_db
def test_inactive_services_and_tradespeople_cannot_be_booked(customer) -> None:
    bob = pro("bob")
    offering = _service(bob, active=False)
    [first, *_] = offering_slots(offering=offering)
    with pytest.raises(ServiceError) as refused:
        service_book(offering=offering, customer=customer, starts_at=first, card_token="tok_visa", where=N1)
    assert refused.value.code == "offering_inactive"
    with pytest.raises(ServiceError) as refused:
        service_book(offering=_service(bob), customer=bob, starts_at=first, card_token="tok_visa", where=N1)
    assert refused.value.code == "not_a_customer"
    assert not Job.objects.exists()
    post_job(customer)  # (a plain job is unaffected by any of this)


@pytest.mark.django_db(transaction=True)
def test_two_customers_racing_for_one_slot_one_wins_the_other_gets_fresh_slots(monkeypatch) -> None:
    offering = _service(pro("bob"))
    [slot, *_] = offering_slots(offering=offering)
    customers = [CustomerFactory.create(username=name) for name in ("alice", "carol")]
    # Both pass the first check before either books: the database's constraint has to decide.
    both_checked = threading.Barrier(2, timeout=30)
    free_worker = offerings._free_worker

    def checked_together(offering_: ServiceOffering, starts_at: Any) -> Any:
        worker = free_worker(offering_, starts_at)
        both_checked.wait()
        return worker

    monkeypatch.setattr(offerings, "_free_worker", checked_together)
    outcomes: dict[str, Any] = {}

    def book(customer: Any) -> None:
        try:
            job = service_book(offering=offering, customer=customer, starts_at=slot, card_token="tok_visa", where=N1)
            outcomes[customer.username] = job
        except Exception as exc:  # the loser's refusal is the point of the test
            outcomes[customer.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    won = [o for o in outcomes.values() if isinstance(o, Job)]
    lost = [o for o in outcomes.values() if not isinstance(o, Job)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], SlotUnavailable) and lost[0].code == "slot_taken" and lost[0].suggestions
    assert slot not in lost[0].suggestions
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1
    assert sorted(Job.objects.values_list("status", flat=True)) == [Job.Status.CANCELLED, Job.Status.SCHEDULED]
    # The loser's deposit is not kept: their job has no payment holding money.
    loser_job = Job.objects.get(status=Job.Status.CANCELLED)
    assert not Payment.objects.filter(job=loser_job).exists()


# --- pages --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pro_adds_edits_and_hides_services_on_their_page(client, customer) -> None:
    bob = pro("bob")
    client.force_login(bob)
    plumbing = trade()
    fields = {"trade": plumbing.pk, "title": "Boiler service", "description": "", "price": "85.00", "duration_minutes": 60}
    response = client.post("/services/", {**fields, "active": "on"})
    assert response.status_code == 302
    offering = ServiceOffering.objects.get(pro=bob)
    assert (offering.title, offering.price, offering.active) == ("Boiler service", D("85.00"), True)
    edited = client.post(
        f"/services/{offering.pk}/edit/",
        {"trade": plumbing.pk, "title": "Boiler service", "description": "With certificate", "price": "90.00", "duration_minutes": 90},
    )
    assert edited.status_code == 302
    offering.refresh_from_db()
    assert (offering.price, offering.duration_minutes, offering.active) == (D("90.00"), 90, False)
    client.post(f"/services/{offering.pk}/active/", {"active": "1"})
    offering.refresh_from_db()
    assert offering.active and "1 h 30 min" in client.get("/services/").content.decode()

    # Someone else's service is not there for them; customers have no such page.
    client.force_login(pro("eve"))
    assert client.get(f"/services/{offering.pk}/edit/").status_code == 404
    assert client.post(f"/services/{offering.pk}/active/", {"active": "0"}).status_code == 404
    client.force_login(customer)
    assert client.get("/services/").status_code == 403


@pytest.mark.django_db
def test_a_customer_books_from_the_profile_and_a_taken_slot_gets_a_sentence_and_fresh_times(client, customer) -> None:
    bob = pro("bob", business_name="Bob's Boilers")
    offering = _service(bob)
    client.force_login(customer)
    profile = client.get(f"/pros/{bob.pk}/").content.decode()
    book_url = f"/pros/{bob.pk}/services/{offering.pk}/book/"
    assert "Boiler service" in profile and book_url in profile
    page = client.get(book_url).content.decode()
    [first, *_] = offering_slots(offering=offering)
    assert first.isoformat() in page and "Book and pay" in page

    form = {"starts_at": first.isoformat(), "place": "Islington N1", "card_token": "tok_visa", "idempotency_key": "k1", "notes": ""}
    response = client.post(book_url, form)
    job = Job.objects.get(customer=customer)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == Job.Status.SCHEDULED

    client.force_login(CustomerFactory.create(username="dev"))
    taken = client.post(book_url, {**form, "idempotency_key": "k2"})
    body = taken.content.decode()
    assert taken.status_code == 409 and "Next free" in body
    fresh = offering_slots(offering=offering)
    assert fresh[0].isoformat() in body and f'value="{first.isoformat()}"' not in body
    assert client.get(f"/pros/{bob.pk}/services/{offering.pk + 999}/book/").status_code == 404


# --- API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_a_pro_s_services_and_books_one_with_the_standard_errors(customer) -> None:
    bob = pro("bob")
    offering = _service(bob)
    _service(bob, title="Hidden", active=False)
    listed = client_for(None).get(f"/api/pros/{bob.pk}/services/").json()
    assert [s["title"] for s in listed] == ["Boiler service"]
    assert listed[0]["price"] == "85.00" and D(listed[0]["deposit"]) > 0 and listed[0]["free_starts"]
    start = listed[0]["free_starts"][0]
    url = f"/api/pros/{bob.pk}/services/{offering.pk}/book/"
    body = {"starts_at": start, "place": "Islington N1", "card_token": "tok_visa"}

    assert client_for(bob).post(url, body, format="json").status_code == 403
    declined = client_for(customer).post(url, {**body, "card_token": "tok_decline"}, format="json")
    assert declined.status_code == 402 and error_code(declined) == "card_declined"
    booked = client_for(customer).post(url, body, format="json")
    assert booked.status_code == 201, booked.json()
    assert booked.json()["status"] == "scheduled" and booked.json()["requested_pro"] == bob.pk

    taken = client_for(CustomerFactory.create(username="dev")).post(url, body, format="json")
    assert taken.status_code == 409 and error_code(taken) == "slot_taken"
    assert taken.json()["error"]["suggestions"] and start not in taken.json()["error"]["suggestions"]
    assert client_for(customer).post(f"/api/pros/{bob.pk}/services/{offering.pk + 99}/book/", body, format="json").status_code == 404
    assert client_for(None).get("/api/pros/999999/services/").status_code == 404
