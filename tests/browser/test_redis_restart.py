"""Fault: Redis (the channel layer) restarted while browsers are connected.

A tradesperson watches /leads/ and a customer watches their job's page. Redis is
SIGKILLed and comes back empty (no persistence: every group membership is gone).
While it is down a job is posted and a bid placed: the consumers commit their read
models and advance the live positions, but the pushes are lost. Once Redis is back,
each page must reconnect, resubscribe and refetch (live.js's resync) so it shows
what happened during the outage, without a reload; and the next push arrives live.

The stack (Daphne, relay, consumers) runs against a private redis-server on its own
port, for its channel layer and cache: the machine's Redis (6379) is never stopped.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jobs import services
from jobs.models import Bid, Lead
from marketplace.events.models import AggregateSequence
from marketplace.realtime.models import LivePosition
from tests.browser.conftest import Stack, log_in
from tests.browser.test_marketplace import LIVE_TIMEOUT, assert_not_reloaded, mark, people, shot, wait_live
from tests.factories import post_job
from tests.support import PrivateRedis, SharedBroker, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN_OUTAGE_S = 3.0
RESYNC_URL = re.compile(r"/(leads|bids)\.json|/unread-count\.json")


@pytest.fixture
def redis_stack(broker: SharedBroker, private_redis: PrivateRedis, transactional_db: None) -> Iterator[Stack]:
    """tests.support.running_stack, but with Redis (channel layer and cache) on the private server."""
    port = free_port()
    env = subprocess_env(broker, REDIS_URL=private_redis.url)
    processes = [
        daphne(port, env).start(),
        manage("redis-fault-relay", "outbox_relay", env=env).start(),
        manage("redis-fault-consumers", "consume", "--all", "--threads", env=env).start(),
    ]
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base_url), timeout=30, message="daphne to listen")
        yield Stack(base_url, processes)
    finally:
        # All at once, as tests.support.running_stack stops its own: the stack stops as fast as its slowest process.
        for process in processes:
            process.ask_to_stop()
        for process in processes:
            process.terminate()


def _answers(url: str) -> bool:
    with contextlib.suppress(OSError):
        urllib.request.urlopen(url + "/", timeout=1)
        return True
    return False


def pushed(stream: str, aggregate: str, at_least: int) -> bool:
    """A consumer has committed a push of ``aggregate``'s event ``at_least`` to ``stream`` (sent or not)."""
    return LivePosition.objects.filter(stream=stream, aggregate=aggregate, last_sequence__gte=at_least).exists()


def latest_sequence(job_id: int) -> int:
    return AggregateSequence.objects.get(aggregate_type="job", aggregate_id=str(job_id)).last_sequence


def test_pages_resynchronise_after_redis_restarts_and_stay_live(redis_stack: Stack, private_redis: PrivateRedis, new_page) -> None:
    _, customer_user, pro = people()
    base = redis_stack.base_url
    near = {"latitude": Decimal("51.55"), "longitude": Decimal("-0.10"), "place": "Highbury N5"}
    job = post_job(customer_user, title="Replace bathroom radiator", **near)
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=pro).exists(), timeout=30, message="the first lead")

    trader = new_page()
    log_in(trader, base, "pete")
    trader.goto(f"{base}/leads/")
    expect(trader.locator("#leads .lead")).to_have_count(1, timeout=LIVE_TIMEOUT)
    wait_live(trader, f"user.{pro.pk}")
    mark(trader)

    customer = new_page()
    log_in(customer, base, "carol")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)
    expect(customer.locator("#no-bids")).to_be_visible()

    # Redis dies. Nothing it held survives: group memberships, queued messages.
    sockets: dict[str, int] = {"trader": 0, "customer": 0}
    trader.on("websocket", lambda _: sockets.__setitem__("trader", sockets["trader"] + 1))
    customer.on("websocket", lambda _: sockets.__setitem__("customer", sockets["customer"] + 1))
    refetches: list[str] = []  # resync requests (the pages' JSON endpoints) while Redis is down
    outage = {"on": True}
    for page in (trader, customer):
        page.on("request", lambda r: refetches.append(r.url) if outage["on"] and RESYNC_URL.search(r.url) else None)
    started = time.monotonic()
    private_redis.kill()
    expect(trader.locator("#live-status")).to_have_text("reconnecting…", timeout=LIVE_TIMEOUT)
    expect(customer.locator("#live-status")).to_have_text("reconnecting…", timeout=LIVE_TIMEOUT)

    # While it is down, things happen: a new job (a lead for Pete) and Pete's bid on Carol's job.
    missed = post_job(customer_user, title="Boiler pressure keeps dropping", **near)
    bid = services.bid_place(job=job, tradesperson=pro, amount=Decimal("180"), message="Can come on Tuesday.")
    wait_until(lambda: pushed(f"user.{pro.pk}", f"job:{missed.pk}", 1), timeout=30, message="the lead's (lost) push")
    bid_sequence = latest_sequence(job.pk)
    wait_until(lambda: pushed(f"job.{job.pk}", f"job:{job.pk}", bid_sequence), timeout=30, message="the bid's (lost) push")
    # The read models are committed, the pushes had nowhere to go (push.send_now logs and carries on).
    consumers = redis_stack.processes[2]
    wait_until(lambda: "live push of" in consumers.log(), timeout=10, message="a failed push in the consumers' log")

    # Stay down a few seconds, so the pages' reconnect attempts meet no Redis (they back off), then come back empty.
    time.sleep(max(0.0, MIN_OUTAGE_S - (time.monotonic() - started)))
    live_while_down = trader.evaluate("document.body.dataset.live") == "on" or customer.evaluate("document.body.dataset.live") == "on"
    outage["on"] = False
    private_redis.start()
    down_for = time.monotonic() - started

    # Each page reconnects, resubscribes and refetches: what happened in the outage is shown, no reload.
    # (A pooled channel-layer connection used to fail the first handshake after the restart, costing pages
    # one more live.js backoff of up to 10 s, over 30 s under CI load: tests/reliability/test_fault_redis_pool.py.)
    expect(trader.locator("#live-status")).to_have_text("live", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#leads .lead").first).to_contain_text("Boiler pressure keeps dropping", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#leads .lead")).to_have_count(2)
    expect(customer.locator("#live-status")).to_have_text("live", timeout=LIVE_TIMEOUT)
    card = customer.locator("#bids .bid", has_text="Pete's Pipes")
    expect(card.locator(".bid-amount")).to_have_text("£180.00", timeout=LIVE_TIMEOUT)
    expect(customer.locator("#bid-count")).to_have_text("1")
    expect(customer.locator("#notif-count")).to_have_text("1", timeout=LIVE_TIMEOUT)  # the bell too: "new bid on …"
    assert_not_reloaded(trader)
    assert_not_reloaded(customer)
    assert sockets["trader"] >= 1 and sockets["customer"] >= 1, sockets  # each page opened a new socket: it reconnected
    # While Redis was down no socket could subscribe: the pages neither claimed to be live nor refetched
    # (every browser refetching every second of an outage would pile onto the web tier just when it hurts).
    assert not refetches, refetches
    assert not live_while_down

    # And they are live again: the next pushes reach the new Redis's groups.
    wait_live(trader, f"user.{pro.pk}")
    wait_live(customer, f"job.{job.pk}")
    post_job(customer_user, title="Outside tap frozen", **near)
    services.bid_revise(bid=Bid.objects.get(pk=bid.pk), actor=pro, amount=Decimal("165"))
    expect(trader.locator("#leads .lead").first).to_contain_text("Outside tap frozen", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#leads .lead")).to_have_count(3)
    expect(card.locator(".bid-amount")).to_have_text("£165.00", timeout=LIVE_TIMEOUT)
    assert_not_reloaded(trader)
    assert_not_reloaded(customer)
    shot(trader, "redis-restart-leads")
    shot(customer, "redis-restart-job")
    print(f"redis down for {down_for:.1f} s; websockets opened after the kill: {sockets}")
