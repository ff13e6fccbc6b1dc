"""No card data anywhere: after a full payment flow, a scan of the database, the logs and every topic finds no card-like number.

The flow runs through the real services, the outbox relay and the real ``payments`` and
``finance`` consumers against a real broker: accept with ``tok_visa``, complete, collect, refund,
a late cancellation with a fee, a webhook. Along the way it sends card numbers everywhere a
client could: as the card token (refused), in every free-text field that reaches our database
or topics (each probe uses its own Luhn-valid number, so a hit names the field it came from), and
inside a webhook body (stored redacted). Then it scans:

- every text, varchar, char, json and jsonb column of every table (``information_schema.columns``, cast to text);
- every log record captured at DEBUG for the whole flow, and the broker's own log;
- every message (key, value, headers) of every topic, read from the beginning;

with ``marketplace.cards.luhn_like_numbers``, and prints how much it scanned.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from django.conf import settings
from django.db import connection
from django.utils import timezone

from finance.models import FinanceLedgerEntry
from jobs import services as job_services
from jobs.models import TradespersonProfile
from marketplace.accounts.models import User
from marketplace.cards import luhn_like_numbers, redact_card_numbers
from marketplace.errors import ServiceError
from marketplace.events.kafka import make_consumer
from marketplace.events.models import OutboxEvent
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from payments.approval import dispute_resolve, payment_approve, payment_dispute, payment_request_approval
from payments.models import GatewayWebhook, Payment
from payments.services import payment_pay_balance, payment_refund, webhook_receive
from payments.simulator import simulated_webhook
from quotes.models import PromoCode
from quotes.pricing import LineItem
from quotes.services import OptionInput, QuoteInput, quote_accept, quote_revise, quote_submit
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import offer, post_job, pro
from tests.helpers import after_payments_executor
from tests.support import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal

CARD = "4242 4242 4242 4242"  # what a customer would type as their card number
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")

# Free text that reaches our database or topics and could carry a card number. The product must
# refuse or redact card-like numbers in all of them (jobs.services.scrub uses
# marketplace.cards.redact_card_numbers); the test checks what each field kept.
FREE_TEXT_FIELDS = (
    "job.title",
    "job.description",
    "job_update.description",
    "profile.business_name",
    "profile.bio",
    "bid.message",
    "quote.notes",
    "quote.option_title",
    "quote.line_description",
    "quote_revise.message",
    "job_cancel.reason",
    "refund.reason",
    "dispute.description",
    "dispute.staff_note",
)


def _luhn_number(seed: int) -> str:
    """A distinct 16-digit Luhn-valid number per probe (grouped in fours), so a hit says which field leaked it."""
    body = f"400000{seed:09d}"
    digits = [int(c) for c in body]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    number = body + str((10 - total % 10) % 10)
    assert luhn_like_numbers(number) == [number]
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


# FOUND when this test was written: these fields still store (and emit) a card number as typed.
#   profile.business_name, profile.bio -> jobs.services.pro_profile_save (TradespersonProfile; business_name also in events)
#   job_cancel.reason                  -> jobs.services.job_cancel (the job.cancelled event's "reason", outbox + topic)
#   refund.reason                      -> payments.services.payment_refund (PaymentOperation.reason, payment.refunded event)
# They are allowed below ONLY for their own probe numbers; the customer's card number is allowed nowhere.
# Remove a field from this set once its service redacts it (the test then holds it to that).
KNOWN_GAPS: frozenset[str] = frozenset()  # every free-text field is redacted by its service

PROBES = {field: _luhn_number(index + 1) for index, field in enumerate(FREE_TEXT_FIELDS)}


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _which(found: str) -> str:
    """The probe (free-text field) a found number belongs to, or "card" for the customer's card, or "unknown"."""
    digits = _digits(found)
    if digits == _digits(CARD):
        return "card token / webhook card"
    return next((field for field, number in PROBES.items() if _digits(number) == digits), "unknown")


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, including loggers that do not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    detached = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate and caplog.handler not in logger.handlers
    ]
    for logger in detached:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger in detached:
            logger.removeHandler(caplog.handler)


def _refused(call: Callable[[], Any], code: str) -> None:
    with pytest.raises(ServiceError) as refused:
        call()
    assert refused.value.code == code
    assert not luhn_like_numbers(str(refused.value.message)), "an error never repeats the card number"


# --- the scans --------------------------------------------------------------------------------


def scan_database() -> tuple[int, int, list[str]]:
    """(tables, rows, hits as "table.column: field") over every text-like column of every table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s) ORDER BY table_name, ordinal_position",
            [list(TEXT_TYPES)],
        )
        columns: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            columns.setdefault(table, []).append(column)
        rows, hits = 0, []
        for table, names in columns.items():
            quoted = ", ".join(f"{connection.ops.quote_name(name)}::text" for name in names)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                rows += 1
                for name, value in zip(names, row, strict=True):
                    hits += [f"{table}.{name}: {_which(n)}" for n in luhn_like_numbers(value or "")]
    return len(columns), rows, hits


def scan_logs(records: list[logging.LogRecord], formatter: logging.Formatter) -> tuple[int, list[str]]:
    hits = []
    lines = 0
    for record in records:
        text = formatter.format(record)
        lines += 1
        hits += [f"log {record.name}: {_which(n)}" for n in luhn_like_numbers(text)]
    broker_log = ARTIFACTS / "broker.log"
    if broker_log.exists():
        for line in broker_log.read_text(errors="replace").splitlines():
            lines += 1
            hits += [f"broker.log: {_which(n)}" for n in luhn_like_numbers(line)]
    return lines, hits


def _bytes(value: str | bytes | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


def scan_topics() -> tuple[int, int, list[str]]:
    """(topics, messages, hits) over every message of every topic, from the beginning."""
    consumer: Consumer = make_consumer(f"card-scan-{uuid.uuid4()}", "card-scan")
    hits: list[str] = []
    messages = 0
    try:
        # This test's own topics only: the broker is shared by the whole run (tests/conftest.py).
        prefix = str(settings.KAFKA["TOPIC_PREFIX"])
        topics = sorted(name for name in consumer.list_topics(timeout=10).topics if name.startswith(prefix) and not name.startswith("__"))
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            ends: dict[int, int] = {}
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high > low:
                    ends[partition] = high
            if not ends:
                continue
            consumer.assign([TopicPartition(topic, p, 0) for p in ends])
            positions = dict.fromkeys(ends, -1)
            deadline = time.monotonic() + 30
            while any(positions[p] < ends[p] - 1 for p in ends):
                assert time.monotonic() < deadline, f"timed out reading {topic}"
                for message in consumer.consume(500, 0.5):
                    if message.error():
                        continue
                    messages += 1
                    positions[message.partition() or 0] = message.offset() or 0
                    parts: list[bytes] = [_bytes(message.key()), _bytes(message.value())]
                    for header in message.headers() or []:  # (name, value) pairs
                        parts += [_bytes(item) for item in tuple(header)]
                    for part in parts:
                        hits += [f"topic {topic}: {_which(n)}" for n in luhn_like_numbers(part.decode("utf-8", "replace"))]
            consumer.unassign()
    finally:
        consumer.close()
    return len(topics), messages, hits


# --- the flow ---------------------------------------------------------------------------------


def test_no_card_like_number_in_the_database_logs_or_topics(broker, all_logs, capsys, settings, customer) -> None:
    # No free minutes, so the customer's cancellation just after accepting (2 h before the visit) keeps a fee.
    settings.PAYMENTS = {**settings.PAYMENTS, "WEBHOOK_SECRET": "whsec_card_scan", "FREE_CANCELLATION_MINUTES": 0}
    staff = User.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    PromoCode.objects.create(code="SCAN10", kind="percent", value=D("10"))
    stored: dict[str, str] = {}  # field -> what the database kept

    # Free text: a card number in each field a client can fill.
    bob = pro("bobscan", business_name=f"Bob Plumbing {PROBES['profile.business_name']}", bio=f"Pay me direct: {PROBES['profile.bio']}")
    profile = TradespersonProfile.objects.get(user=bob)
    stored["profile.business_name"], stored["profile.bio"] = profile.business_name, profile.bio
    job = post_job(
        customer,
        title=f"Tap {PROBES['job.title']}",
        description=f"Please charge {PROBES['job.description']} for the parts.",
        window_start=timezone.now() + timedelta(days=3),
        window_end=timezone.now() + timedelta(days=3, hours=2),
    )
    job_services.job_update(job=job, actor=customer, description=f"My card is {PROBES['job_update.description']}, exp 12/29.")
    job.refresh_from_db()
    stored["job.title"], stored["job.description"], stored["job_update.description"] = job.title, job.description, job.description
    offer(job, bob)
    probe_quote = QuoteInput(
        options=[
            OptionInput(
                lines=[
                    LineItem("labour", f"Labour, card {PROBES['quote.line_description']}", D("2"), D("45.00")),
                    LineItem("materials", "Cartridge", D("1"), D("30.00")),
                ],
                title=f"Repair {PROBES['quote.option_title']}",
            )
        ],
        notes=f"Or pay by card {PROBES['quote.notes']}",
        message=f"Can start Monday {PROBES['bid.message']}",
    )
    v1 = quote_submit(job=job, tradesperson=bob, quote=probe_quote)
    revised = QuoteInput(options=probe_quote.options, notes=probe_quote.notes, message=f"Revised {PROBES['quote_revise.message']}")
    version = quote_revise(bid=v1.bid, actor=bob, quote=revised)
    option = version.options.get()
    stored["quote.notes"], stored["quote.option_title"] = version.notes, option.title
    stored["quote.line_description"] = option.lines.order_by("position").first().description  # type: ignore[union-attr]
    version.bid.refresh_from_db()
    stored["quote_revise.message"] = version.bid.message
    stored["bid.message"] = v1.bid.message  # read before the revision replaced it (what v1's bid.placed event carried)

    # The card number as the card token: refused before anything is held, in every spelling.
    def accept_with(token: str) -> Callable[[], Any]:
        return lambda: quote_accept(job=job, bid=version.bid, actor=customer, version_number=2, card_token=token)

    for typed in (CARD, _digits(CARD), "4242-4242-4242-4242"):
        _refused(accept_with(typed), "card_number_sent")
    assert not Payment.objects.exists()

    # Accept with the gateway's token, do the work, let the `payments` consumer collect, refund part.
    quote_accept(job=job, bid=version.bid, actor=customer, version_number=2, card_token="tok_visa", promo_code="SCAN10")
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    relay_all()
    payments = ConsumerRunner(get_consumer("payments"))
    run_consumer_until(lambda: Payment.objects.get(job=job).status == Payment.Status.AWAITING_APPROVAL, runner=payments)
    payment_approve(payment=Payment.objects.get(job=job), actor=customer, tip=D("5.00"))
    relay_all()
    run_consumer_until(
        after_payments_executor(lambda: Payment.objects.get(job=job).status == Payment.Status.PAID),
        runner=ConsumerRunner(get_consumer("payments")),
    )
    payment = Payment.objects.get(job=job)
    payment_refund(payment=payment, actor=staff, amount=D("10.00"), reason=f"Goodwill {PROBES['refund.reason']}", idempotency_key="scan-1")
    stored["refund.reason"] = payment.operations.get(kind="refund").reason
    _refused(lambda: payment_pay_balance(payment=payment, actor=customer, card_token=CARD), "card_number_sent")

    # A third job whose customer reports a problem (free text) that staff resolve with a note (free text).
    disputed = post_job(customer)
    offer(disputed, bob)
    disputed_version = quote_submit(
        job=disputed, tradesperson=bob, quote=QuoteInput(options=[OptionInput(lines=[LineItem("other", "Visit", D(1), D("60.00"))])])
    )
    quote_accept(job=disputed, bid=disputed_version.bid, actor=customer, version_number=1, card_token="tok_visa")
    job_services.job_start_work(job=disputed, actor=bob)
    job_services.job_complete(job=disputed, actor=bob)
    asked = payment_request_approval(job_id=disputed.pk, completed_at=timezone.now())  # as the payments consumer does
    assert asked is not None
    dispute = payment_dispute(payment=asked, actor=customer, description=f"Still leaking {PROBES['dispute.description']}")
    dispute = dispute_resolve(dispute=dispute, actor=staff, outcome="release", note=f"Checked {PROBES['dispute.staff_note']}")
    stored["dispute.description"], stored["dispute.staff_note"] = dispute.description, dispute.staff_note

    # A second job, accepted then cancelled late by the customer (a fee is kept).
    late = post_job(customer, window_start=timezone.now() + timedelta(hours=2), window_end=timezone.now() + timedelta(hours=4))
    offer(late, bob)
    late_version = quote_submit(
        job=late, tradesperson=bob, quote=QuoteInput(options=[OptionInput(lines=[LineItem("other", "Visit", D(1), D("80.00"))])])
    )
    quote_accept(job=late, bid=late_version.bid, actor=customer, version_number=1, card_token="tok_visa")
    job_services.job_cancel(job=late, actor=customer, reason=f"Found someone else {PROBES['job_cancel.reason']}")
    cancelled = OutboxEvent.objects.get(event_type="job.cancelled", key=str(late.pk))
    stored["job_cancel.reason"] = str(cancelled.envelope["data"]["reason"])
    relay_all()
    run_consumer_until(
        after_payments_executor(lambda: Payment.objects.get(job=late).status == Payment.Status.CANCELLED),
        runner=ConsumerRunner(get_consumer("payments")),
    )
    assert Payment.objects.get(job=late).cancellation_fee > 0

    # A webhook whose body carries a card number: recorded, with the number removed.
    body, signature = simulated_webhook(
        "evt_card_scan", "customer.updated", {"note": f"card {CARD}", "last4": "4242"}, created=int(time.time()), secret="whsec_card_scan"
    )
    assert webhook_receive(body=body, signature=signature) == "ignored: customer.updated"
    webhook = GatewayWebhook.objects.get(event_id="evt_card_scan")
    assert webhook.payload["data"]["note"] == redact_card_numbers(f"card {CARD}") and webhook.payload["data"]["last4"] == "4242"

    # Everything onto the topics, and the finance read model built from the compacted topic.
    relay_all()
    run_consumer_until(lambda: FinanceLedgerEntry.objects.count() == 3, runner=ConsumerRunner(get_consumer("finance")))
    relay_all()

    # What each free-text field kept: redacted, except the known gaps (see KNOWN_GAPS).
    leaked = {field for field, value in stored.items() if luhn_like_numbers(value)}
    assert leaked <= KNOWN_GAPS, f"free text stored with a card number in it: {sorted(leaked - KNOWN_GAPS)}"
    assert all("[card number removed]" in stored[field] for field in FREE_TEXT_FIELDS if field not in leaked), stored

    tables, rows, db_hits = scan_database()
    log_lines, log_hits = scan_logs(all_logs.records, logging.Formatter("%(name)s %(levelname)s %(message)s"))
    topics, messages, topic_hits = scan_topics()
    hits = db_hits + log_hits + topic_hits
    allowed = {hit for hit in hits if hit.rsplit(": ", 1)[1] in leaked}  # only a known gap's own probe number
    unexpected = [hit for hit in hits if hit not in allowed]
    with capsys.disabled():
        print(
            f"\nno-card-data scan: {rows} rows in {tables} tables, {log_lines} log lines, {messages} messages on {topics} topics; "
            f"card-like numbers: {len(unexpected)} unexpected, {len(hits) - len(unexpected)} from free-text fields not redacted yet "
            f"({', '.join(sorted(leaked)) or 'none'}): {sorted(set(allowed))}"
        )
    assert rows > 50 and messages > 20 and log_lines > 0
    assert unexpected == []
    assert not any("card token" in hit or "unknown" in hit for hit in hits)
