"""One request's correlation id, followed through real processes by their JSON logs.

Daphne, the outbox relay and ``consume --all`` run as child processes against a real
broker.  A job posted over HTTP with ``X-Request-ID`` must show that id in the web's
access log line, in the event envelope in the outbox, in the relay's publication line
and in each consumer's line for that event; and every line those processes write is JSON.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from decimal import Decimal
from typing import Any

import pytest

from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.events.models import OutboxEvent
from tests.factories import TradeFactory, pro
from tests.support import Process, running_stack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def json_lines(process: Process) -> list[dict[str, Any]]:
    """Every line the process wrote, parsed; fails on any line that is not a JSON object."""
    lines = []
    for line in process.log().splitlines():
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"{process.name} wrote a line that is not JSON: {line!r}") from None
        assert isinstance(parsed, dict), line
        lines.append(parsed)
    return lines


def test_one_request_correlation_id_reaches_envelope_relay_and_every_consumer_log(broker) -> None:
    TradeFactory()
    pro("corr_trader", at=(Decimal("51.5"), Decimal("-0.1")))
    customer = User.objects.create_user("corr_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    request_id = f"req-{uuid.uuid4()}"

    with running_stack(broker, "corr") as (base, processes):
        web, relay, consumers, *_others = processes
        body = json.dumps({"trade": "plumbing", "title": "Traced", "description": "Corr", "latitude": "51.5", "longitude": "-0.1"})
        request = urllib.request.Request(
            f"{base}/api/jobs/",
            data=body.encode(),
            method="POST",
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "X-Request-ID": request_id},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            assert response.headers["X-Request-ID"] == request_id  # echoed to the caller
            job_id = json.loads(response.read())["id"]

        outbox = OutboxEvent.objects.get(event_type="job.posted", key=str(job_id))
        envelope = outbox.envelope if isinstance(outbox.envelope, dict) else json.loads(outbox.envelope)
        assert envelope["correlation_id"] == request_id
        event_id = envelope["event_id"]

        def consumer_lines() -> list[dict[str, Any]]:
            return [
                line
                for line in json_lines(consumers)
                if line.get("correlation_id") == request_id and line.get("event_id") == event_id and line.get("consumer")
            ]

        # matching and jobs-board (at least) handle job.posted; matching's lead.offered events carry the id on.
        wait_until(lambda: {"matching", "jobs-board"} <= {line["consumer"] for line in consumer_lines()}, timeout=60, message="consumers")
        wait_until(
            lambda: any(
                line.get("event_type") == "lead.offered" and line.get("correlation_id") == request_id for line in json_lines(consumers)
            ),
            timeout=30,
            message="a caused event handled with the same correlation id",
        )

    access = [line for line in json_lines(web) if line.get("logger") == "marketplace.access" and line.get("path") == "/api/jobs/"]
    assert len(access) == 1
    assert access[0]["correlation_id"] == request_id
    assert access[0]["status"] == 201 and access[0]["user_id"] == customer.pk and access[0]["service"] == "web"

    published = [line for line in json_lines(relay) if line.get("event_id") == event_id]
    assert len(published) == 1 and published[0]["correlation_id"] == request_id
    assert published[0]["service"] == "outbox_relay"

    handled = consumer_lines()
    assert all(line["causation_id"] == event_id for line in handled)  # the event being handled
    assert all(line["service"] == "consume" and line["level"] == "INFO" for line in handled)
    caused = [
        line for line in json_lines(consumers) if line.get("event_type") == "lead.offered" and line.get("correlation_id") == request_id
    ]
    assert caused and all(line["causation_id"] != event_id for line in caused)
