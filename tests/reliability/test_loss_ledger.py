"""Fault injection with a loss ledger: jobs posted over HTTP while the relay and a consumer are SIGKILLed.

Real processes against a real broker: Daphne, the outbox relay and the ``jobs-board``
consumer, each a child process (as the Procfile runs them).  Four client threads post
``N`` jobs over HTTP (token auth) and edit every third one right after (so keys carry
two events and order per key is observable).  Meanwhile the relay is SIGKILLed twice and
the consumer three times (once together with the relay; once in the middle of catching up
with a backlog, right after its first batch is stored), each restarted.

Once quiet, the ledger (every job id the API answered 201 for) is compared with the jobs
table, the outbox, the Kafka topic, the consumer's inbox and the read model:

- lost: ledger ids missing from the read model (must be 0), or with a stale title;
- duplicates: messages on the topic more than once (the relay re-sent after a kill) and
  applied once only (inbox; the ``posted_total`` counter would be over N otherwise);
- order: per key, the sequences in the order the topic holds them (first copies) rise.

The figures are printed at the end of the run.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from jobs.models import Job, JobBoardEntry, TradeActivity
from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.events.kafka import make_consumer
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.topics import kafka_topic
from tests.factories import TradeFactory
from tests.support import _answers, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N = 300
THREADS = 4


def read_everything(topic: str, *, at_least: int, timeout: float = 60) -> list[Any]:
    """Every message on ``topic`` (declared name): at least ``at_least``, then until 2 s pass with nothing new (duplicates count)."""
    topic = kafka_topic(topic)
    reader = make_consumer(f"ledger-reader-{time.monotonic_ns()}", "ledger-reader")
    messages: list[Any] = []
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        reader.assign([TopicPartition(topic, p, 0) for p in partitions])
        deadline, idle_since = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            batch = [m for m in reader.consume(500, 0.2) if not m.error()]
            messages.extend(batch)
            if batch:
                idle_since = time.monotonic()
            elif len(messages) >= at_least and time.monotonic() - idle_since > 2:
                break
    finally:
        reader.close()
    assert len(messages) >= at_least, f"only {len(messages)} of {at_least} messages on {topic}"
    return messages


@dataclass
class TopicLedger:
    """What the topic holds compared with the outbox: events missing, extra copies, per-key order of first copies."""

    missing: int
    duplicates: int
    order_violations: int


def topic_ledger(topic: str, kinds: list[str], *, at_least: int) -> TopicLedger:
    """Read every message on ``topic`` (declared name) and compare it with the outbox events of ``kinds``."""
    event_ids = {str(e) for e in OutboxEvent.objects.filter(event_type__in=kinds).values_list("event_id", flat=True)}
    envelopes = [json.loads(m.value()) for m in read_everything(topic, at_least=at_least) if m.value() is not None]
    copies = Counter(e["event_id"] for e in envelopes)
    first_seen: dict[str, list[int]] = {}
    seen: set[str] = set()
    for e in envelopes:
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            first_seen.setdefault(e["aggregate_id"], []).append(e["sequence"])
    return TopicLedger(
        missing=len(event_ids - set(copies)),
        duplicates=sum(n - 1 for n in copies.values()),
        order_violations=sum(1 for seqs in first_seen.values() if seqs != sorted(seqs)),
    )


def absorbed_by(process: Any) -> int:
    """Duplicates the consumer's inbox absorbed, from its 'stopped; processed ..., duplicates N' line (clean exits only)."""
    total = 0
    for line in process.log().splitlines():
        try:
            message = json.loads(line).get("message", "")
        except json.JSONDecodeError:
            continue
        if "stopped; processed" in message:
            total += int(message.split("duplicates ")[1].split(",")[0])
    return total


class Workload:
    """Posts N jobs from several threads; the ledger is what the API accepted."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.ledger: list[int] = []
        self.edited: set[int] = set()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.next = 0

    def _send(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}

    def worker(self) -> None:
        while True:
            with self.lock:
                if self.next >= N:
                    return
                self.next += 1
                number = self.next
            body = {"trade": "plumbing", "title": f"Ledger {number}", "description": "fault run", "latitude": "51.5", "longitude": "-0.1"}
            status, job = self._send("POST", "/api/jobs/", body)
            if status != 201:
                with self.lock:
                    self.errors.append(f"POST {number}: {status}")
                continue
            with self.lock:
                self.ledger.append(job["id"])
            if number % 3 == 0:
                status, _ = self._send("PATCH", f"/api/jobs/{job['id']}/", {"title": f"Ledger {number} (edited)"})
                with self.lock:
                    if status == 200:
                        self.edited.add(job["id"])
                    else:
                        self.errors.append(f"PATCH {number}: {status}")

    def accepted(self) -> int:
        with self.lock:
            return len(self.ledger)


def test_jobs_posted_while_relay_and_consumer_are_killed_are_neither_lost_nor_doubled(broker, capsys) -> None:
    TradeFactory(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user("ledger_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    env = subprocess_env(broker, CONSUMER_BATCH_SIZE="10", OUTBOX_BATCH_SIZE="50", LOG_EVENTS="WARNING")
    port = free_port()
    web = daphne(port, env).start()
    base = f"http://127.0.0.1:{port}"
    generation = {"relay": 0, "consumer": 0}

    def start(kind: str) -> Any:
        generation[kind] += 1
        if kind == "relay":
            return manage(f"ledger-relay-{generation[kind]}", "outbox_relay", env=env).start()
        return manage(f"ledger-consumer-{generation[kind]}", "consume", "jobs-board", env=env).start()

    relay, consumer = start("relay"), start("consumer")
    kills = Counter[str]()
    try:
        wait_until(lambda: _answers(base), timeout=30, message="daphne to listen")
        workload = Workload(base, token)
        threads = [threading.Thread(target=workload.worker, daemon=True) for _ in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()

        def at(fraction: float) -> None:
            wait_until(lambda: workload.accepted() >= N * fraction, timeout=120, message=f"{fraction:.0%} of the workload")

        at(0.2)
        relay.kill()  # mid-publish: rows may be acked by the broker but not marked published
        kills["relay"] += 1
        time.sleep(1.0)
        relay = start("relay")
        at(0.4)
        relay.kill()
        consumer.kill()
        kills["relay"] += 1
        kills["consumer"] += 1
        time.sleep(1.5)  # posts keep arriving: the outbox grows while nothing publishes
        relay, consumer = start("relay"), start("consumer")
        at(0.6)
        consumer.kill()  # let a backlog build up for the consumer ...
        kills["consumer"] += 1
        at(0.8)
        applied_before = ProcessedEvent.objects.count()
        consumer = start("consumer")
        # ... and kill its successor as soon as its first batch is in Postgres: likely before Kafka has the offsets.
        wait_until(lambda: ProcessedEvent.objects.count() > applied_before, timeout=60, interval=0.01, message="the catch-up to start")
        consumer.kill()
        kills["consumer"] += 1
        consumer = start("consumer")  # the last generation: it gets the uncommitted batch again and says so when it stops
        for thread in threads:
            thread.join(timeout=180)
        posting_s = time.monotonic() - started

        ledger = set(workload.ledger)
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=120, message="an empty outbox")
        wait_until(
            lambda: (
                JobBoardEntry.objects.filter(job_id__in=ledger).count() == len(ledger)
                and JobBoardEntry.objects.filter(job_id__in=workload.edited, last_sequence__gte=2).count() == len(workload.edited)
            ),
            timeout=180,
            message="the read model to hold every accepted job and edit",
        )
        quiet_s = time.monotonic() - started
    finally:
        for process in (relay, consumer, web):
            process.terminate()
    absorbed_last = absorbed_by(consumer)  # the SIGKILLed generations never got to say

    # --- the ledger against every stage -----------------------------------------------------
    assert workload.errors == []
    assert len(workload.ledger) == len(ledger) == N
    jobs = set(Job.objects.filter(customer=customer).values_list("pk", flat=True))
    outbox = list(OutboxEvent.objects.filter(event_type__in=["job.posted", "job.updated"]).values_list("event_id", "key", "event_type"))
    posted_keys = {int(key) for _, key, kind in outbox if kind == "job.posted"}
    event_ids = {str(event_id) for event_id, _, _ in outbox}
    kinds = ["job.posted", "job.updated"]
    applied = ProcessedEvent.objects.filter(consumer="jobs-board", event_type__in=kinds).values_list("event_id", flat=True)
    inbox = Counter(str(event_id) for event_id in applied)
    board = dict(JobBoardEntry.objects.filter(job_id__in=ledger).values_list("job_id", "title"))
    expected_events = N + len(workload.edited)
    on_topic = topic_ledger("marketplace.jobs", kinds, at_least=expected_events)
    order_violations = on_topic.order_violations
    stale = [job_id for job_id in workload.edited if not board.get(job_id, "").endswith("(edited)")]

    lost = {
        "jobs table": len(ledger - jobs),
        "outbox": len(ledger - posted_keys),
        "kafka": on_topic.missing,
        "inbox": len(event_ids - set(inbox)),
        "read model": len(ledger - set(board)),
        "stale edits": len(stale),
    }
    duplicates_on_topic = on_topic.duplicates
    with capsys.disabled():
        print(
            f"\nloss ledger: N={N} posts (+{len(workload.edited)} edits) over HTTP in {posting_s:.1f} s, quiet after {quiet_s:.1f} s; "
            f"kills: relay {kills['relay']}, consumer {kills['consumer']}; events {expected_events}; "
            f"lost {lost}; duplicate messages on the topic {duplicates_on_topic}; redeliveries absorbed by the last consumer "
            f"{absorbed_last}; inbox rows per event max {max(inbox.values())}; order violations per key {order_violations}"
        )
    assert lost == dict.fromkeys(lost, 0)
    assert max(inbox.values()) == 1  # every event applied once, however often it was delivered
    assert TradeActivity.objects.get(trade_slug="plumbing").posted_total == N  # a double application would count twice
    assert order_violations == 0
