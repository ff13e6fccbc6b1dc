"""Fault injection with a loss ledger: Postgres connections killed under load (``pg_terminate_backend``).

Real processes against a real broker and the real Postgres: Daphne, the outbox relay and
the ``jobs-board`` consumer, each a child process.  Client threads post jobs over HTTP
(token auth, an ``Idempotency-Key`` per job, so a client may retry a 503 safely) and edit
every third accepted job, while a killer thread terminates every client backend of the
test database (except the test's own) every few hundred milliseconds: request
connections in Daphne, the relay's connections (its leader lock and its queries) and the
consumer's.  Once quiet, one more round kills the consumer's idle connection before one more
job, so the fault reaches the consumer even in a run whose random rounds all missed its batches.

What must hold:

- HTTP: every answer is 201/200, or a clean 503 with the JSON error shape
  (``DatabaseUnavailableMiddleware``), never a 500 or a dropped connection;
- no partial writes: every job has exactly one ``job.posted`` outbox row and vice versa;
  an edited title has its ``job.updated`` row and vice versa; every 201/200 id exists;
- the relay and the consumer survive (the consumer is also SIGKILLed and restarted half way,
  so an offset committed for work not stored would show as a loss): once
  quiet, every outbox event is in the consumer's inbox exactly once, the read model has
  every job with its latest title, nothing is dead-lettered, and per key the consumer
  applied events in sequence order.

The ledger figures are printed (``-s`` shows them; they are printed either way).
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from django.db import connection

from jobs.models import Job, JobBoardEntry, TradeActivity
from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.events.models import DeadLetter, OutboxEvent, ProcessedEvent
from tests.factories import TradeFactory
from tests.reliability.test_loss_ledger import absorbed_by, read_everything
from tests.support import Process, _answers, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N = 150
THREADS = 4
KINDS = ["job.posted", "job.updated"]
CONSUMER = "jobs-board"
UNAVAILABLE = {"code": "service_unavailable", "message": "The database is unavailable; please retry shortly."}


class Workload:
    """Posts N jobs (retrying a 503 with the same Idempotency-Key) and edits every third; the ledger is what was accepted."""

    def __init__(self, base: str, token: str, n: int, *, retries: int = 6) -> None:
        self.base, self.token, self.n, self.retries = base, token, n, retries
        self.accepted: list[int] = []  # job ids answered 201 (or 200 to a retry: the first attempt had committed)
        self.replayed = 0  # 200s to a retried POST: a 503 whose transaction had committed after all
        self.edited: set[int] = set()
        self.statuses = Counter[int]()
        self.bad: list[str] = []  # anything but 201/200 or a clean 503
        self.lock = threading.Lock()
        self.next = 0

    def _send(self, method: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw[:200]
        except OSError as exc:  # reset, refused, timeout: never acceptable
            return 0, repr(exc)

    def _call(self, method: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, int]:
        """Send, retrying clean 503s; returns (status, body, attempts)."""
        for attempt in range(1, self.retries + 1):
            status, answer = self._send(method, path, body, headers)
            with self.lock:
                self.statuses[status] += 1
                if status not in (200, 201, 503) or (status == 503 and answer != {"error": UNAVAILABLE}):
                    self.bad.append(f"{method} {path}: {status} {answer!r}"[:300])
            if status != 503:
                return status, answer, attempt
            time.sleep(0.05 * attempt)
        return 503, None, self.retries

    def worker(self) -> None:
        while True:
            with self.lock:
                if self.next >= self.n:
                    return
                self.next += 1
                number = self.next
            body = {"trade": "plumbing", "title": f"Fault {number}", "description": "fault run", "latitude": "51.5", "longitude": "-0.1"}
            status, job, attempts = self._call("POST", "/api/jobs/", body, {"Idempotency-Key": f"fault-{number}-{uuid.uuid4().hex[:8]}"})
            if status not in (200, 201):
                continue
            with self.lock:
                self.accepted.append(job["id"])
                self.replayed += status == 200 and attempts > 1
            if number % 3 == 0:
                status, _, _ = self._call("PATCH", f"/api/jobs/{job['id']}/", {"title": f"Fault {number} (edited)"}, {})
                if status == 200:
                    with self.lock:
                        self.edited.add(job["id"])

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


@dataclass
class Ledger:
    """Every stage compared with what the API accepted."""

    accepted: int
    jobs: int
    events: int
    lost: dict[str, int]
    partial_writes: dict[str, int]
    inbox_max: int
    posted_total: int
    dead_letters: int
    order_violations: int
    sequences: dict[str, list[int]] = field(default_factory=dict)


def check_ledger(customer: User, accepted: set[int], edited: set[int]) -> Ledger:
    jobs = dict(Job.objects.filter(customer=customer).values_list("pk", "title"))
    keys = [str(pk) for pk in jobs]
    outbox = list(OutboxEvent.objects.filter(event_type__in=KINDS).values_list("event_id", "key", "event_type", "sequence"))
    posted = Counter(int(key) for _, key, kind, _ in outbox if kind == "job.posted")
    updated = {int(key) for _, key, kind, _ in outbox if kind == "job.updated"}
    where = {str(event_id): (key, sequence) for event_id, key, _, sequence in outbox}
    last_sequence = {key: max(s for _, k, _, s in outbox if k == key) for key in keys}
    applied = list(ProcessedEvent.objects.filter(consumer=CONSUMER, event_type__in=KINDS).order_by("id").values_list("event_id", flat=True))
    inbox = Counter(str(event_id) for event_id in applied)
    per_key: dict[str, list[int]] = defaultdict(list)
    for event_id in applied:
        if str(event_id) in where:
            key, sequence = where[str(event_id)]
            per_key[key].append(sequence)
    board = {str(job_id): (title, seq) for job_id, title, seq in JobBoardEntry.objects.values_list("job_id", "title", "last_sequence")}
    activity = TradeActivity.objects.filter(trade_slug="plumbing").first()
    return Ledger(
        accepted=len(accepted),
        jobs=len(jobs),
        events=len(outbox),
        lost={
            "jobs table": len(accepted - set(jobs)),
            "inbox": len(set(where) - set(inbox)),
            "read model": len(set(keys) - set(board)),
            "stale read model": sum(1 for key in keys if key in board and board[key] != (jobs[int(key)], last_sequence[key])),
            "edits": len({pk for pk in edited if not jobs.get(pk, "").endswith("(edited)")}),
        },
        partial_writes={
            "job without job.posted": sum(1 for pk in jobs if posted[pk] != 1),
            "job.posted without job": len(set(posted) - set(jobs)),
            "edited title without job.updated": sum(1 for pk, title in jobs.items() if title.endswith("(edited)") and pk not in updated),
            "job.updated without edited title": sum(1 for pk in updated if not jobs.get(pk, "").endswith("(edited)")),
        },
        inbox_max=max(inbox.values(), default=0),
        posted_total=activity.posted_total if activity else 0,
        dead_letters=DeadLetter.objects.filter(consumer=CONSUMER).count(),
        order_violations=sum(1 for seqs in per_key.values() if seqs != sorted(seqs)),
        sequences=dict(per_key),
    )


def log_count(process: Process, needle: str) -> int:
    return sum(1 for line in process.log().splitlines() if needle in line)


class Killer:
    """Terminates every client backend of the test database but ours, every 0.15-0.5 s, until stopped."""

    def __init__(self, spare_pid: int) -> None:
        db = connection.settings_dict
        self.conninfo = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": db["NAME"]}
        if db.get("PASSWORD"):
            self.conninfo["password"] = db["PASSWORD"]
        self.spare_pid = spare_pid
        self.killed = 0
        self.rounds = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        rng = random.Random(8)
        with psycopg.connect(**self.conninfo, autocommit=True) as conn:
            while not self.stop.wait(rng.uniform(0.15, 0.5)):
                self.round(conn)

    def round(self, conn: psycopg.Connection[Any]) -> int:
        """Terminate them once; returns how many."""
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s AND backend_type = 'client backend'""",
            [self.conninfo["dbname"], self.spare_pid],
        ).fetchone()
        killed = row[0] if row else 0
        self.killed += killed
        self.rounds += 1
        return killed

    def __enter__(self) -> Killer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def test_postgres_connections_killed_under_load_answer_503_and_lose_nothing(broker) -> None:
    TradeFactory(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user("fault_pg_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]
    env = subprocess_env(
        broker, CONSUMER_BATCH_SIZE="20", OUTBOX_BATCH_SIZE="50", LOG_EVENTS="WARNING", CONSUMER_BACKOFF_MAX_S="1", STARTUP_WAIT_S="30"
    )
    port = free_port()
    web = daphne(port, env).start()
    base = f"http://127.0.0.1:{port}"
    relay = manage("fault-pg-relay", "outbox_relay", env=env).start()
    consumer = manage("fault-pg-consumer-1", "consume", CONSUMER, env=env).start()
    try:
        wait_until(lambda: _answers(base), timeout=90, message="daphne to listen")
        # Both workers connected (the relay has published, the consumer applied) before the first kill.
        warm = Workload(base, token, 1)
        warm.worker()
        wait_until(lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).exists(), timeout=30, message="the consumer to apply")
        workload = Workload(base, token, N)
        threads = [threading.Thread(target=workload.worker, daemon=True) for _ in range(THREADS)]
        started = time.monotonic()
        with Killer(own_pid) as killer:
            for thread in threads:
                thread.start()
            # Half way, the consumer is SIGKILLed too: had it committed an offset for a batch whose transaction a
            # killed backend rolled back, its successor would start past that batch and the ledger would show it lost.
            wait_until(lambda: workload.count() >= N // 2, timeout=90, message="half the workload")
            consumer.kill()
            first_hits = log_count(consumer, "transient error")
            consumer = manage("fault-pg-consumer-2", "consume", CONSUMER, env=env).start()
            for thread in threads:
                thread.join(timeout=120)
        posting_s = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads)

        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60, message="an empty outbox")
        wait_until(
            lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).count() >= OutboxEvent.objects.filter(event_type__in=KINDS).count(),
            timeout=60,
            message="the consumer to apply every event",
        )
        quiet_s = time.monotonic() - started
        # The random rounds can all miss the consumer's batches (a fast run: the second consumer joins the
        # group as the posting ends). So, once more: kill its idle connection and post one more job; its
        # next batch meets the dead connection for certain, and must retry and apply it.
        retries_before = log_count(consumer, "transient error")
        with psycopg.connect(**killer.conninfo, autocommit=True) as conn:
            assert killer.round(conn) > 0
        last = Workload(base, token, 1)
        last.worker()
        wait_until(lambda: log_count(consumer, "transient error") > retries_before, timeout=30, message="the consumer to meet it")
        wait_until(
            lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).count() >= OutboxEvent.objects.filter(event_type__in=KINDS).count(),
            timeout=60,
            message="the consumer to apply the last job",
        )
        accepted = set(warm.accepted) | set(workload.accepted) | set(last.accepted)
        edited = warm.edited | workload.edited | last.edited
        alive = {
            "relay": relay.proc is not None and relay.proc.poll() is None,
            "consumer": consumer.proc is not None and consumer.proc.poll() is None,
        }
    finally:
        for process in (relay, consumer, web):
            process.terminate()
    ledger = check_ledger(customer, accepted, edited)
    messages = read_everything("marketplace.jobs", at_least=ledger.events)
    copies = Counter(json.loads(m.value())["event_id"] for m in messages if m.value() is not None)
    duplicates_on_topic = sum(count - 1 for count in copies.values())
    absorbed = absorbed_by(consumer)
    relay_hits = log_count(relay, "publishing failed") + log_count(relay, "database connection lost")
    consumer_hits = first_hits + log_count(consumer, "transient error")
    statuses = workload.statuses + warm.statuses + last.statuses

    print(
        f"\nfault ledger (postgres killed): accepted {ledger.accepted} of {N + 2} posts (+{len(edited)} edits) in {posting_s:.1f} s, "
        f"quiet after {quiet_s:.1f} s; HTTP {dict(sorted(statuses.items()))}, 503s {statuses[503]}, "
        f"503-then-committed (200 on retry) {workload.replayed}; backends killed {killer.killed} in {killer.rounds} rounds "
        f"(relay errors {relay_hits}, consumer batch retries {consumer_hits}; consumer SIGKILLed once); "
        f"jobs {ledger.jobs}, events {ledger.events}; lost {ledger.lost}; partial writes {ledger.partial_writes}; "
        f"duplicates on the topic {duplicates_on_topic}, absorbed by the last consumer's inbox {absorbed}; "
        f"inbox rows per event max {ledger.inbox_max}; dead letters {ledger.dead_letters}; "
        f"order violations per key {ledger.order_violations}",
        flush=True,
    )
    assert workload.bad == [] and warm.bad == [] and last.bad == []
    assert statuses[500] == 0 and statuses[0] == 0
    assert alive == {"relay": True, "consumer": True}
    assert killer.killed > 0 and relay_hits > 0 and consumer_hits > 0  # the fault reached every process
    assert ledger.lost == dict.fromkeys(ledger.lost, 0)
    assert ledger.partial_writes == dict.fromkeys(ledger.partial_writes, 0)
    assert ledger.inbox_max == 1 and ledger.posted_total == ledger.jobs  # applied exactly once
    assert ledger.dead_letters == 0
    assert ledger.order_violations == 0
    summary = (ledger.accepted, statuses[503], killer.killed, sum(ledger.lost.values()), absorbed, ledger.order_violations)
    assert summary == (ledger.accepted, statuses[503], killer.killed, 0, absorbed, 0)
