"""A rolling restart of one member of a consumer group, under load, on Apache Kafka.

Two ``manage.py consume jobs-board`` processes share a group (six partitions) while jobs are
posted and the relay publishes them.  Member A is restarted (SIGTERM, then started again with the
same ``KAFKA_GROUP_INSTANCE_ID``).  With the production settings, cooperative-sticky assignment
and static membership, the group does not rebalance at all: member B keeps its partitions and
keeps applying events; A's partitions wait for A (well within the session timeout) and A
takes them back.  The same restart with an eager assignor and dynamic membership makes B give
up every partition twice (A leaving, A joining), which is what the settings avoid.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection

from marketplace.events.models import OutboxEvent, ProcessedEvent
from tests.factories import TradeFactory, post_job
from tests.support import Process, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CONSUMER = "jobs-board"


@dataclass
class MemberLog:
    """What one member's log says: when it applied events, and its assignment changes."""

    applied: list[float] = field(default_factory=list)
    assigned: list[tuple[float, str]] = field(default_factory=list)
    revoked: list[tuple[float, str]] = field(default_factory=list)

    @classmethod
    def read(cls, process: Process) -> MemberLog:
        result = cls()
        for line in process.log().splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            message, at = record.get("message", ""), datetime.fromisoformat(record["timestamp"]).timestamp()
            if message.startswith(f"consumer {CONSUMER}: applied"):
                result.applied.append(at)
            elif message.startswith(f"consumer {CONSUMER}: assigned"):
                result.assigned.append((at, message))
            elif message.startswith(f"consumer {CONSUMER}: revoked"):
                result.revoked.append((at, message))
        return result

    def changes_between(self, start: float, end: float) -> list[str]:
        """Assignment changes in [start, end] (a member's own shutdown revokes its partitions too: after ``end``)."""
        return [message for at, message in self.assigned + self.revoked if start <= at <= end]

    def longest_gap(self, start: float, end: float) -> float:
        """The longest stretch in [start, end] without an applied event."""
        times = [start, *(t for t in self.applied if start <= t <= end), end]
        return max(b - a for a, b in itertools.pairwise(times))


class Load:
    """Posts a job every ``interval`` seconds until stopped (the relay publishes each job.posted)."""

    def __init__(self, customer, interval: float = 0.05) -> None:
        self.customer, self.interval = customer, interval
        self.posted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                post_job(self.customer, title=f"Rolling restart job {self.posted}")
                self.posted += 1
                time.sleep(self.interval)
        finally:
            connection.close()


def restart_one_member(customer, *, tag: str, static: bool, strategy: str) -> tuple[MemberLog, MemberLog, float, float]:
    """Run the scenario; returns (A's log, B's log, restart start, end of load) as epoch seconds."""
    group_prefix = f"{settings.KAFKA['GROUP_PREFIX']}-{tag}"
    base = subprocess_env(KAFKA_GROUP_PREFIX=group_prefix, KAFKA_ASSIGNMENT_STRATEGY=strategy)

    def member(name: str, generation: int) -> Process:
        env = {**base, "KAFKA_GROUP_INSTANCE_ID": f"{tag}-{name}" if static else ""}
        return manage(f"rolling-{tag}-{name}{generation}", "consume", CONSUMER, env=env).start()

    relay = manage(f"rolling-{tag}-relay", "outbox_relay", env=base).start()
    a, b = member("a", 1), member("b", 1)
    a2: Process | None = None
    load = Load(customer)
    try:
        wait_until(lambda: MemberLog.read(a).assigned and MemberLog.read(b).assigned, timeout=60, message="both members assigned")
        load.thread.start()
        wait_until(lambda: len(MemberLog.read(b).applied) >= 10 and len(MemberLog.read(a).applied) >= 10, timeout=60, message="load")
        restart_at = time.time()
        a.terminate()
        a2 = member("a", 2)
        wait_until(lambda: MemberLog.read(a2).applied, timeout=60, message="the restarted member to apply events")
        time.sleep(2)
        load.stop.set()
        load.thread.join(30)
        end = time.time()
        total = OutboxEvent.objects.filter(event_type="job.posted").count()
        wait_until(
            lambda: ProcessedEvent.objects.filter(consumer=CONSUMER, event_type="job.posted").count() >= total,
            timeout=60,
            message="every job.posted applied",
        )
    finally:
        load.stop.set()
        for process in (relay, a, b, *([a2] if a2 else [])):
            process.terminate()
    return MemberLog.read(a), MemberLog.read(b), restart_at, end


def test_restarting_one_member_does_not_stop_the_other_and_static_membership_avoids_the_rebalance(broker, customer) -> None:
    TradeFactory(slug="plumbing", name="Plumbing")
    session_s = int(settings.KAFKA["SESSION_TIMEOUT_MS"]) / 1000

    _, b, restart_at, end = restart_one_member(customer, tag="static", static=True, strategy="cooperative-sticky")
    static_gap = b.longest_gap(restart_at, end)
    static_changes = len(b.changes_between(restart_at, end))

    _, b_eager, restart_at_eager, end_eager = restart_one_member(customer, tag="eager", static=False, strategy="range")
    eager_gap = b_eager.longest_gap(restart_at_eager, end_eager)
    eager_revocations = len([message for at, message in b_eager.revoked if restart_at_eager <= at <= end_eager])

    print(
        f"\nrolling restart of one of two members: cooperative-sticky + static membership: the other member's longest pause "
        f"{static_gap:.2f} s, assignment changes {static_changes}; eager (range) + dynamic membership: longest pause "
        f"{eager_gap:.2f} s, the other member revoked {eager_revocations} time(s); session timeout {session_s:.0f} s",
        flush=True,
    )
    # Production settings: B was never touched, and never paused as long as a session timeout.
    assert static_changes == 0, b.changes_between(restart_at, end)
    assert static_gap < session_s
    # The old settings: B gave up all its partitions while A left and again when A came back.
    assert eager_revocations >= 1
