"""Websocket fan-out: channel layer group_send -> the last client's receipt, beside a raw Redis round trip.

    python -m bench.fanout [--groups 1,10,100,1000] [--rounds R] [--smoke]

Own database (marketplace_bench_web) and channel-layer prefix.  Daphne runs exactly as ``make run``
starts it; the clients are ``websockets`` connections from this process, each authenticated with a
login session cookie like a browser tab, all joined (by the server, on connect) to one user's
``user.<id>`` stream, so one ``group_send`` reaches all N.  Each round sends one ``live.event`` with
``channels_redis`` (real Redis) and times until the N-th client has the frame.  Rounds are paced
(100 ms apart) so each measures one push, not a queue.

- floor: raw Redis ``PUBLISH`` -> ``SUBSCRIBE`` round trip (redis-py asyncio, same Redis, one subscriber).
- CPU ms per delivered message: Daphne's CPU over the rounds / (rounds x N).
- scaling out: the same with the sockets spread over two Daphne processes (round robin), sizes 100 and 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

from bench.common import percentile, prepare_database, proc_cpu_ms, self_cpu_ms, session_cookie, web_server, web_servers, write_results

BENCH_DB = "marketplace_bench_web"
FULL_GROUPS = [1, 10, 100, 1000]
SMOKE_GROUPS = [1, 10, 100]


async def redis_floor(url: str, rounds: int) -> dict[str, float]:
    import redis.asyncio as redis

    channel = f"bench.fanout.{uuid.uuid4().hex[:8]}"
    client = redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    samples = []
    cpu = 0.0
    for i in range(rounds + 5):
        c0 = self_cpu_ms()
        t0 = time.perf_counter()
        await client.publish(channel, str(i))
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                break
        if i >= 5:
            samples.append((time.perf_counter() - t0) * 1000)
            cpu += self_cpu_ms() - c0
        await asyncio.sleep(0.01)
    await pubsub.aclose()
    await client.aclose()
    return {
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "samples": len(samples),
        # This process's CPU for one PUBLISH and its receipt (redis-py asyncio both ends; Redis's own not counted).
        "cpu_ms_per_op": cpu / max(len(samples), 1),
    }


async def fanout(bases: list[str], pids: list[int], group: str, cookie: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    """Sockets open round robin over ``bases`` (one per web process); CPU is every process's."""
    from channels.layers import get_channel_layer
    from websockets.asyncio.client import connect

    layer = get_channel_layer()
    assert layer is not None
    sockets: list[Any] = []
    results: dict[str, Any] = {}
    opened = [0]

    async def open_one() -> Any:
        base = bases[opened[0] % len(bases)]
        opened[0] += 1
        url = base.replace("http", "ws", 1) + "/ws/live/"
        ws = await connect(url, origin=base, additional_headers={"Cookie": f"sessionid={cookie}"}, open_timeout=60, max_queue=None)  # type: ignore[arg-type]
        first = json.loads(await asyncio.wait_for(ws.recv(), 60))
        assert first == {"type": "subscribed", "stream": group}, first
        return ws

    try:
        for size in sizes:
            while len(sockets) < size:  # connect in batches of 50: a thundering herd of handshakes is not what we measure
                sockets.extend(await asyncio.gather(*(open_one() for _ in range(min(50, size - len(sockets))))))
            active = sockets[:size]
            idle = sockets[size:]
            assert not idle
            samples = []
            cpu = 0.0
            for i in range(rounds + 3):
                marker = f"{size}-{i}"
                message = {
                    "type": "live.event",
                    "stream": group,
                    "event": "bench.ping",
                    "source": "bench",
                    "aggregate": "",
                    "seq": None,
                    "prev_seq": None,
                    "data": {"marker": marker},
                }

                async def receive(ws: Any, marker: str = marker) -> float:
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("data", {}).get("marker") == marker:
                            return time.perf_counter()

                waiters = [asyncio.ensure_future(receive(ws)) for ws in active]
                c0 = sum(proc_cpu_ms(pid) for pid in pids)
                t0 = time.perf_counter()
                await layer.group_send(group, message)
                arrivals = await asyncio.wait_for(asyncio.gather(*waiters), 60)
                if i >= 3:  # the first rounds warm up Daphne's channel readers
                    samples.append((max(arrivals) - t0) * 1000)
                    cpu += sum(proc_cpu_ms(pid) for pid in pids) - c0
                await asyncio.sleep(0.1)
            results[str(size)] = {
                "clients": size,
                "p50_ms": percentile(samples, 50),
                "p99_ms": percentile(samples, 99),
                "cpu_ms_per_message": cpu / (rounds * size),
                "rounds": rounds,
            }
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return results


def run(sizes: list[int], rounds: int, pubsub_sizes: list[int], two_process_sizes: list[int]) -> dict[str, Any]:
    prepare_database(BENCH_DB)
    os.environ["CHANNELS_PREFIX"] = f"benchfan{os.getpid()}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from marketplace.accounts.models import User
    from tests.support import subprocess_env

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(f"bench_fan_{uuid.uuid4().hex[:8]}", password="x", role=User.Role.CUSTOMER)
    cookie = session_cookie(user)
    group = f"user.{user.pk}"
    env = subprocess_env(None)
    with web_server("fanout", env) as (base, server):
        assert server.proc is not None
        results = asyncio.run(fanout([base], [server.proc.pid], group, cookie, sizes, rounds))
    two: dict[str, Any] = {}
    if two_process_sizes:
        # Scaling out: the same pushes with the sockets spread over two web processes.
        with web_servers("fanout-2", env, 2) as (bases, servers):
            two = asyncio.run(fanout(bases, [s.proc.pid for s in servers], group, cookie, two_process_sizes, rounds))
    floor = asyncio.run(redis_floor(settings.REDIS_URL, max(rounds, 20)))
    for row in [*results.values(), *two.values()]:
        row["ratio_to_floor"] = row["p50_ms"] / floor["p50_ms"]
    data: dict[str, Any] = {"groups": sizes, "rounds": rounds, "results": {"redis_floor": floor, "groups": results}}
    if two:
        data["results"]["two_process_groups"] = two
    if pubsub_sizes:
        # The comparison: Daphne and this sender both on channels-redis' pub/sub layer (bench.settings).
        from channels.layers import channel_layers

        config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
        settings.CHANNEL_LAYERS["default"] = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": config["hosts"], "prefix": config["prefix"]},
        }
        channel_layers.backends.clear()
        with web_server("fanout-pubsub", {**env, "BENCH_CHANNEL_LAYER": "pubsub"}) as (base, server):
            assert server.proc is not None
            pubsub = asyncio.run(fanout([base], [server.proc.pid], group, cookie, pubsub_sizes, rounds))
        for row in pubsub.values():
            row["ratio_to_floor"] = row["p50_ms"] / floor["p50_ms"]
        data["results"]["pubsub_groups"] = pubsub
    return data


def table(data: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    floor = data["results"]["redis_floor"]
    rows = [("WS floor: Redis PUBLISH->SUBSCRIBE", f"p50 {floor['p50_ms']:.2f} ms", f"p99 {floor['p99_ms']:.2f} ms", "floor", "")]
    for layer, label in (("groups", ""), ("two_process_groups", " [2 web processes]"), ("pubsub_groups", " [pubsub layer]")):
        rows.extend(_rows(data["results"].get(layer, {}), label))
    return rows


def _rows(groups: dict[str, Any], label: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for size, row in groups.items():
        rows.append(
            (
                f"WS group_send -> last of {int(size):,} clients{label}",
                f"p50 {row['p50_ms']:.1f} ms",
                f"p99 {row['p99_ms']:.1f} ms",
                f"{row['ratio_to_floor']:.0f}x floor p50",
                f"{row['cpu_ms_per_message']:.3f}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", default=",".join(map(str, FULL_GROUPS)), help="Comma-separated group sizes.")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pubsub-groups", default="", help="Group sizes to repeat on channels-redis' pub/sub layer ('' for none).")
    parser.add_argument("--two-process-groups", default="100,1000", help="Group sizes to repeat over two web processes ('' for none).")
    parser.add_argument("--smoke", action="store_true", help="A small run for CI (groups 1, 10, 100; 5 rounds).")
    args = parser.parse_args()
    sizes = SMOKE_GROUPS if args.smoke else [int(s) for s in args.groups.split(",")]
    pubsub_sizes = [] if args.smoke else [int(s) for s in args.pubsub_groups.split(",") if s]
    two_process_sizes = [10] if args.smoke else [int(s) for s in args.two_process_groups.split(",") if s]
    data = run(sizes, 5 if args.smoke else args.rounds, pubsub_sizes, two_process_sizes)
    write_results("fanout", data)
    print(f"\nwebsocket fan-out benchmark ({data['rounds']} rounds per group size, Daphne + channels-redis)")
    for row in table(data):
        print(f"  {row[0]:<40}{row[1]:>16}{row[2]:>16}  {row[3]:<20}{row[4]:>8} CPU ms/msg")


if __name__ == "__main__":
    main()
