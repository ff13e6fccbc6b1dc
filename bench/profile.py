"""CPU profiles behind BENCHMARKS.md: one consumer's real runner, or the job POST, in this process.

    python -m bench.profile consumer NAME [--events N] [--batch B] [--cprofile]
    python -m bench.profile post [--posts N] [--cprofile]
    python -m bench.profile push [--sends N] [--cprofile]

Runs in production mode on the end-to-end benchmark's database (``marketplace_bench_web``): ``consumer``
replays the events that benchmark made (run ``python -m bench.e2e`` first); ``post`` needs nothing earlier.

- ``consumer``: the last N events of the consumer's topics from the outbox, fed to the consumer's own
  :class:`~marketplace.events.runner.ConsumerRunner` ``process_batch`` (decode, validation, inbox,
  handler, live pushes through the real Redis), B messages a batch, as Kafka would deliver them at
  low load; prints CPU ms per event.  The consumer's inbox rows for those events (and, for the
  timeline, their entries) are deleted first so that they are applied again.  Only the Kafka client
  is replaced (offsets go nowhere).
- ``post``: N ``POST /api/jobs/`` (bench/http.py's job) through Django's test client with a customer's token (every
  middleware, DRF, the service, the outbox row, the commit); prints CPU ms per POST (no HTTP server).

- ``push``: N ``push.send_now`` calls from sync code, one message each to a group with one subscribed
  channel on the real Redis (what every consumer does after each batch); prints CPU ms per call and
  checks every message arrived.

``--cprofile`` adds a cProfile table (CPU time; profiled runs are several times slower, the shares
are what matter).  For a live process, ``py-spy record -p PID`` (requirements-dev.txt) samples it
without stopping it.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
from typing import Any

from bench.common import prepare_database

BENCH_DB = "marketplace_bench_web"


class _Message:
    """What ``process_batch`` reads of a confluent-kafka message, made from an outbox row."""

    def __init__(self, row: Any, offset: int) -> None:
        self._value = json.dumps(row.envelope).encode()
        self._headers = [("event_type", row.event_type.encode()), ("event_id", str(row.event_id).encode())]
        self._topic, self._key, self._offset = row.topic, row.key.encode(), offset

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes:
        return self._key

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None


class _NoBroker:
    def store_offsets(self, **_: Any) -> None:
        pass

    def commit(self, **_: Any) -> None:
        pass


def measure(work: Any, n: int, profile: bool) -> float:
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    if profile:
        profiler.enable()
    work()
    profiler.disable()
    cpu = (time.process_time() - start) * 1000 / max(n, 1)
    if profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        if path := os.environ.get("BENCH_PROFILE_OUT"):  # for pstats/snakeviz: every caller and callee
            stats.dump_stats(path)
    return cpu


def consumer(name: str, events: int, batch: int, profile: bool) -> None:
    from marketplace.events.models import OutboxEvent, ProcessedEvent
    from marketplace.events.registry import get_consumer
    from marketplace.events.runner import ConsumerRunner
    from timeline.models import JobTimelineEntry

    spec = get_consumer(name)
    rows = list(OutboxEvent.objects.filter(topic__in=spec.topic_names, tombstone=False).order_by("-id")[:events])[::-1]
    ids = [row.event_id for row in rows]
    ProcessedEvent.objects.filter(consumer=name, event_id__in=ids).delete()
    if name == "timeline":
        JobTimelineEntry.objects.filter(event_id__in=ids).delete()
    runner = ConsumerRunner(spec, consumer=_NoBroker(), group="bench-profile")  # type: ignore[arg-type]
    messages = [_Message(row, offset) for offset, row in enumerate(rows)]

    def work() -> None:
        for first in range(0, len(messages), batch):
            runner.process_batch(messages[first : first + batch])  # type: ignore[arg-type]

    cpu = measure(work, len(messages), profile)
    print(f"{name}: {len(messages)} events, {batch} a batch: {cpu:.3f} CPU ms per event; {runner.stats}")


def post(posts: int, profile: bool) -> None:
    from django.core.management import call_command
    from django.test import Client

    from bench.http import JOB
    from marketplace.accounts.models import User
    from marketplace.accounts.services import api_token_create
    from tests.factories import sample_answers, trade

    # The job the HTTP benchmark posts, by a customer of this run's own (the database is migrated and the
    # trade created when missing, so this needs no earlier benchmark run).
    call_command("migrate", verbosity=0)
    answers = sample_answers(trade())  # the trade's questions, if staff gave it any
    customer = User.objects.create_user(f"bench_profile_{os.getpid()}_{time.time_ns()}", password="x", role=User.Role.CUSTOMER)
    _, token = api_token_create(user=customer)
    body = {**JOB, "answers": answers}
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for _ in range(20):  # warm-up: connections, URL resolver, serializer caches
        assert client.post("/api/jobs/", body, content_type="application/json").status_code == 201

    def work() -> None:
        for _ in range(posts):
            client.post("/api/jobs/", body, content_type="application/json")

    print(f"job POST: {measure(work, posts, profile):.2f} CPU ms per POST over {posts}")


def push(sends: int, profile: bool) -> None:
    import asyncio

    from channels.layers import get_channel_layer

    from marketplace.realtime import push as live

    layer = get_channel_layer()
    assert layer is not None
    group = f"bench-push-{os.getpid()}"
    channel = asyncio.run(_subscribe(layer, group))

    def work() -> None:
        for i in range(sends):
            live.send_now([(group, {"type": "live.event", "n": i})])

    cpu = measure(work, sends, profile)
    received = asyncio.run(_drain(layer, channel, sends))
    assert received == sends, f"{received} of {sends} pushes arrived"
    print(f"push: {cpu:.3f} CPU ms per send_now (one message, one socket) over {sends}; all {received} arrived")


async def _subscribe(layer: Any, group: str) -> str:
    channel: str = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def _drain(layer: Any, channel: str, expected: int) -> int:
    import asyncio

    received = 0
    while received < expected:
        try:
            await asyncio.wait_for(layer.receive(channel), 5)
        except TimeoutError:
            break
        received += 1
    return received


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("consumer")
    one.add_argument("name")
    one.add_argument("--events", type=int, default=600)
    one.add_argument("--batch", type=int, default=1)
    one.add_argument("--cprofile", action="store_true")
    web = sub.add_parser("post")
    web.add_argument("--posts", type=int, default=300)
    web.add_argument("--cprofile", action="store_true")
    pushes = sub.add_parser("push")
    pushes.add_argument("--sends", type=int, default=500)
    pushes.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()

    prepare_database(BENCH_DB)
    os.environ.update({"LOG_EVENTS": "WARNING", "RATE_JOB_POSTS_PER_HOUR": "1000000", "DJANGO_SETTINGS_MODULE": "bench.settings"})
    import django

    django.setup()
    if args.what == "consumer":
        consumer(args.name, args.events, args.batch, args.cprofile)
    elif args.what == "push":
        push(args.sends, args.cprofile)
    else:
        post(args.posts, args.cprofile)


if __name__ == "__main__":
    main()
