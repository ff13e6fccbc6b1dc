"""Read-model consumers give way to the live ones on a busy machine (ConsumerSpec.niceness, CONSUMER_PRIORITIES):
real ``manage.py consume`` child processes, their nice value read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from marketplace.events.registry import BACKGROUND, CONSUMERS
from tests.support import SharedBroker, manage, subprocess_env, wait_until

# What a person waits for with a page open: a lead, a job's or an appointment's change, a position, a chat
# message, a badge, and money moving.
LIVE = {"matching", "job-live", "schedule-live", "tracking", "chat-live", "directory-live", "payments", "jobs-board"}


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_live_consumers_keep_the_default_priority_and_the_read_models_give_way() -> None:
    assert {name for name, spec in CONSUMERS.items() if spec.niceness == 0} == LIVE
    assert all(spec.niceness == BACKGROUND for name, spec in CONSUMERS.items() if name not in LIVE)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "priorities", "expected"), [("timeline", "1", BACKGROUND), ("timeline", "0", 0), ("matching", "1", 0)])
def test_a_consumer_process_runs_at_its_priority(broker: SharedBroker, name: str, priorities: str, expected: int) -> None:
    process = manage(f"consume-{name}-{priorities}", "consume", name, env=subprocess_env(broker, CONSUMER_PRIORITIES=priorities)).start()
    try:
        wait_until(lambda: "subscribed to" in process.log(), timeout=60, message=f"consume {name} to subscribe")
        assert process.proc is not None
        assert nice_of(process.proc.pid) == nice_of(os.getpid()) + expected
    finally:
        process.terminate()
