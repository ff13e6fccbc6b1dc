"""A gateway that hangs for 30 s while a job's payment is taken delays nobody else.

The whole stack as ``make run`` starts it (Daphne, relay, consumers, payments executor) as real
processes; every capture hangs ``GATEWAY_HANG_S`` (30) seconds (``tests.payments.gateways.HangingGateway``).
While the completed job's deposit capture hangs in the executor, another customer's job reaches a
tradesperson's websocket as a lead, and the tradesperson's bid reaches the customer's job page,
each within a second; a third job's cancellation goes through the payments consumer and the
executor (its hold released); the payment is taken once the gateway answers. One real 30 s hang: slow.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from gateway_simulator.models import Charge
from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from payments.approval import payment_approve
from payments.models import Payment, PaymentOperation
from tests.factories import pro
from tests.quotes.helpers import submit
from tests.quotes.test_payments import booked
from tests.support import running_stack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
HANG_S = 30


def post_job(base: str, token: str, title: str) -> int:
    body = json.dumps({"trade": "plumbing", "title": title, "description": "Drips", "latitude": "51.5", "longitude": "-0.1"}).encode()
    request = urllib.request.Request(
        f"{base}/api/jobs/", data=body, method="POST", headers={"Authorization": f"Token {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return int(json.loads(response.read())["id"])


@contextlib.contextmanager
def socket_for(base: str, user: User) -> Iterator[ClientConnection]:
    browser = Client()
    browser.force_login(user)
    with connect(
        f"{base.replace('http', 'ws', 1)}/ws/live/",
        origin=Origin(base),
        additional_headers={"Cookie": f"sessionid={browser.cookies['sessionid'].value}"},
    ) as ws:
        assert json.loads(ws.recv(10))["stream"] == f"user.{user.pk}"
        yield ws


def receive(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], timeout: float) -> float:
    """Receive until a message matches; returns when it arrived (perf_counter). Raises TimeoutError past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(max(0.05, deadline - time.monotonic())))
        if wanted(message):
            return time.perf_counter()


def test_a_hanging_gateway_delays_no_other_jobs_leads_or_bids(broker, customer, capsys) -> None:
    job, bob, acceptance = booked(customer, name="bobhang")
    job_services.job_start_work(job=job, actor=bob)
    other = User.objects.create_user("hang_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=other)[1]
    trader = pro("hang_trader", at=(Decimal("51.5"), Decimal("-0.1")))
    cancelled_job, cancelled_pro, _ = booked(other, name="bobhangcancel")  # cancelled during the hang: free, the hold released

    env = {"PAYMENTS_GATEWAY": "tests.payments.gateways.HangingGateway", "GATEWAY_HANG_S": str(HANG_S)}
    with (
        running_stack(broker, "hang", **env) as (base, _processes),
        socket_for(base, trader) as leads,
        socket_for(base, other) as customer_ws,
    ):
        warmup = post_job(base, token, "warm-up")  # the consumer groups are still joining
        receive(leads, lambda m: m.get("event") == "lead.offered" and m["data"].get("job_id") == warmup, 60)

        job_services.job_complete(job=Job.objects.get(pk=job.pk), actor=bob)
        wait_until(
            lambda: Payment.objects.get(job=job).status == Payment.Status.AWAITING_APPROVAL, timeout=20, message="the sign-off request"
        )
        payment_approve(payment=Payment.objects.get(job=job), actor=customer)  # the balance is charged on approval
        capture = wait_until(
            lambda: PaymentOperation.objects.filter(job=job, kind="capture_deposit", leased_until__isnull=False).first(),
            timeout=20,
            message="the executor to start the capture",
        )
        hang_started = time.monotonic()

        started = time.perf_counter()
        new_job = post_job(base, token, "Tap drips while a capture hangs")
        lead_s = receive(leads, lambda m: m.get("event") == "lead.offered" and m["data"].get("job_id") == new_job, 5) - started
        customer_ws.send(json.dumps({"action": "subscribe", "stream": f"job.{new_job}"}))
        receive(customer_ws, lambda m: m == {"type": "subscribed", "stream": f"job.{new_job}"}, 5)

        started = time.perf_counter()
        submit(Job.objects.get(pk=new_job), trader)
        bid_s = receive(customer_ws, lambda m: m.get("event") == "bid.placed" and m["stream"] == f"job.{new_job}", 5) - started

        # The payments consumer and the executor go on too: a cancellation during the hang releases its hold.
        job_services.job_cancel(job=Job.objects.get(pk=cancelled_job.pk), actor=cancelled_pro)
        wait_until(lambda: Payment.objects.get(job=cancelled_job).status == Payment.Status.CANCELLED, timeout=10, message="cancelled")

        assert time.monotonic() - hang_started < HANG_S, "the hang must still be going on"
        assert Payment.objects.get(job=job).status == Payment.Status.COMPLETING
        assert lead_s < 1.0 and bid_s < 1.0, (lead_s, bid_s)

        # Once the gateway answers, the payment is taken: once.
        wait_until(lambda: Payment.objects.get(job=job).status == Payment.Status.PAID, timeout=HANG_S * 3, message="the payment")
    paid = Payment.objects.get(job=job)
    assert paid.captured == acceptance.total
    assert Charge.objects.filter(authorization_id=paid.deposit_authorization_id).count() == 1
    capture.refresh_from_db()
    assert (capture.status, capture.attempts) == ("succeeded", 1)
    with capsys.disabled():
        print(f"\nwhile a capture hung {HANG_S} s: lead {lead_s * 1000:.0f} ms, bid {bid_s * 1000:.0f} ms; paid after the hang")
