"""The outbox relay: publishes committed outbox rows to Kafka, in order per key.

One relay publishes at a time: replicas wait on a Postgres advisory lock (held on
a dedicated connection, so a crashed leader's lock is released by the server).
The leader LISTENs on the ``outbox`` channel, which a trigger notifies on every
insert, and polls as a fallback.  Each batch is produced with the acknowledged
producer (``producer.py``: idempotent, acks=all); the relay waits for every
delivery report, then marks the acknowledged rows published.  A crash between the broker's ack and the mark
re-sends those rows next time: consumers absorb the duplicates (inbox).
A broker outage leaves rows unpublished; they go out, in order, when it returns.

Liveness (``marketplace/ops/heartbeat.py``): every pass of the loop beats the ``relay`` heartbeat,
``ok`` (leading or standing by) or ``degraded`` (the broker does not acknowledge, or the database is
away: backing off).  A broker outage is not a reason to restart the relay (a new one would wait for
the same broker), so ``degraded`` is alive; only a loop that stops going round fails the probe.

Every message carries ``event_type`` and ``event_id`` headers.  A tombstone row
(``emit_tombstone``) is produced with a null value, its usual key, and the envelope
JSON in an ``envelope`` header, so consumers still know what the message is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from confluent_kafka import Producer
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from marketplace.ops.heartbeat import Heartbeat

from .context import correlation
from .envelope import ENVELOPE_HEADER
from .models import OutboxEvent
from .producer import AcknowledgedProducer, OutgoingMessage
from .topics import kafka_topic

log = logging.getLogger(__name__)
# One line per published event, logged with the event's correlation id (LOG_EVENTS=WARNING silences it).
trace = logging.getLogger("marketplace.events.trace")

NOTIFY_CHANNEL = "outbox"
LEADER_LOCK_KEY = 0x6F7574626F78  # "outbox"
PURGE_EVERY_S = 600


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str
    key: str
    event_id: str
    event_type: str
    value: bytes  # the envelope JSON
    tombstone: bool = False
    correlation_id: str = ""

    def message_value(self) -> bytes | None:
        return None if self.tombstone else self.value

    def headers(self) -> list[tuple[str, str | bytes | None]]:
        headers: list[tuple[str, str | bytes | None]] = [
            ("event_type", self.event_type.encode()),
            ("event_id", self.event_id.encode()),
        ]
        if self.tombstone:
            headers.append((ENVELOPE_HEADER, self.value))
        return headers


def _libpq_dsn() -> str:
    db = settings.DATABASES["default"]
    parts = {
        "dbname": db["NAME"],
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
        "connect_timeout": str(db.get("OPTIONS", {}).get("connect_timeout", 5)),
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


class OutboxRelay:
    def __init__(self, producer: Producer | None = None, *, batch_size: int | None = None, heartbeat: Heartbeat | None = None) -> None:
        self.producer = AcknowledgedProducer("relay", producer)
        self.heartbeat = heartbeat or Heartbeat("relay")
        self.batch_size = batch_size or settings.OUTBOX["BATCH_SIZE"]
        self.poll_interval = settings.OUTBOX["POLL_INTERVAL_S"]
        self.stop_event = threading.Event()
        self.published_total = 0
        self.failed_total = 0
        self._last_purge = 0.0

    # --- one step at a time (used by run() and directly by tests) ---------------------

    def fetch_pending(self) -> list[OutboxRow]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT id, topic, key, event_id::text, event_type, envelope::text, tombstone,
                           COALESCE(envelope->>'correlation_id', '')
                    FROM {OutboxEvent._meta.db_table}
                    WHERE published_at IS NULL ORDER BY id LIMIT %s""",
                [self.batch_size],
            )
            return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5].encode(), r[6], r[7]) for r in cursor.fetchall()]

    def publish(self, rows: list[OutboxRow]) -> tuple[list[int], dict[int, str]]:
        """Produce rows and wait for every delivery report (marketplace.events.producer).

        Returns (acknowledged ids, {id: error} for the failed ones).
        """
        acks = self.producer.send(
            [OutgoingMessage(kafka_topic(row.topic), row.key.encode(), row.message_value(), row.headers()) for row in rows],
            while_waiting=self.heartbeat.touch,
        )
        acked = [rows[index].id for index in acks.delivered]
        failed = {rows[index].id: error for index, error in acks.failed.items()}
        if trace.isEnabledFor(logging.INFO):
            for index, msg in acks.delivered.items():
                row = rows[index]
                # The ids go in as extras (the log filter keeps them) rather than through
                # the correlation() context: cheaper, and this runs for every event.
                trace.info(
                    "relay: published %s %s to %s[%s]@%s",
                    row.event_type,
                    row.event_id,
                    row.topic,
                    msg.partition(),
                    msg.offset(),
                    extra={
                        "event_id": row.event_id,
                        "event_type": row.event_type,
                        "correlation_id": row.correlation_id or None,
                        "causation_id": row.event_id,
                    },
                )
        if trace.isEnabledFor(logging.DEBUG):
            for index, error in acks.failed.items():
                row = rows[index]
                with correlation(row.correlation_id or None, row.event_id):
                    trace.debug("relay: %s %s not acknowledged: %s", row.event_type, row.event_id, error)
        return acked, failed

    def mark_published(self, ids: list[int]) -> None:
        if not ids:
            return
        with connection.cursor() as cursor:  # one statement, one array parameter (autocommit)
            cursor.execute(
                f"UPDATE {OutboxEvent._meta.db_table} SET published_at = %s WHERE id = ANY(%s) AND published_at IS NULL",
                [timezone.now(), ids],
            )

    def record_failures(self, failed: dict[int, str]) -> None:
        if not failed:
            return
        error = next(iter(failed.values()))
        OutboxEvent.objects.filter(id__in=list(failed)).update(publish_attempts=F("publish_attempts") + 1, last_error=error[:2000])

    def publish_pending(self) -> tuple[int, int]:
        """Publish one batch; return (published, failed)."""
        rows = self.fetch_pending()
        if not rows:
            return 0, 0
        acked, failed = self.publish(rows)
        self.mark_published(acked)
        self.record_failures(failed)
        self.published_total += len(acked)
        self.failed_total += len(failed)
        if failed:
            log.warning("relay: %d of %d events not acknowledged (%s); will retry", len(failed), len(rows), next(iter(failed.values())))
        if failed and not acked:
            # Nothing got through: perhaps the cluster no longer knows our producer id, which never recovers.
            # publish() waited for every report, so nothing is in flight: a fresh producer (a new id) loses
            # nothing, and the rows go again in id order.  (A producer handed in by a test is kept.)
            self.producer.replace()
        return len(acked), len(failed)

    def purge_published(self) -> int:
        cutoff = timezone.now() - timedelta(hours=settings.OUTBOX["RETENTION_HOURS"])
        deleted, _ = OutboxEvent.objects.filter(published_at__lt=cutoff).delete()
        return deleted

    def drain(self, timeout: float = 30.0) -> int:
        """Publish until the outbox is empty (or timeout); returns events published."""
        deadline = time.monotonic() + timeout
        total = 0
        while time.monotonic() < deadline:
            published, failed = self.publish_pending()
            total += published
            if published == 0 and failed == 0:
                break
            if failed:
                time.sleep(0.5)
        return total

    # --- the long-running loop ----------------------------------------------------------

    def run(self) -> None:
        """Run until stop_event is set: take leadership, then publish on every notification."""
        self.heartbeat.beat("starting")
        try:
            self._run()
        finally:
            self.heartbeat.remove()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(_libpq_dsn(), autocommit=True) as lock_conn:
                    if not self._acquire_leadership(lock_conn):
                        continue
                    log.info("relay: leader; publishing outbox to %s", settings.KAFKA["BOOTSTRAP_SERVERS"])
                    lock_conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._lead(lock_conn)
            except psycopg.OperationalError as exc:
                log.error("relay: database connection lost (%s); reconnecting in 2 s", exc)
                self.heartbeat.beat("degraded", reason="database unreachable; reconnecting")
                self.stop_event.wait(2)
        self.producer.flush(10)

    def _acquire_leadership(self, lock_conn: psycopg.Connection) -> bool:
        while not self.stop_event.is_set():
            row = lock_conn.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK_KEY]).fetchone()
            if row and row[0]:
                return True
            log.info("relay: another relay is leader; standing by")
            self.heartbeat.beat("ok", role="standby")
            self.stop_event.wait(self.poll_interval * 5)
        return False

    def _lead(self, lock_conn: psycopg.Connection) -> None:
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                published, failed = self.publish_pending()
            except Exception:
                log.exception("relay: publishing failed; retrying")
                self.heartbeat.beat("degraded", role="leader", reason="publishing failed; retrying")
                connection.close()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10)
                continue
            if failed:
                self.heartbeat.beat("degraded", role="leader", reason="broker not acknowledging; backing off", backoff_s=backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10)
                continue
            backoff = 0.5
            self.heartbeat.beat("ok", role="leader", published_total=self.published_total)
            if time.monotonic() - self._last_purge > PURGE_EVERY_S:
                self._last_purge = time.monotonic()
                purged = self.purge_published()
                if purged:
                    log.info("relay: purged %d published rows past retention", purged)
            if published >= self.batch_size:
                continue  # more waiting; don't sleep
            # Wait for a notification or the poll interval; drain the queued ones.
            for _ in lock_conn.notifies(timeout=self.poll_interval, stop_after=1):
                pass
