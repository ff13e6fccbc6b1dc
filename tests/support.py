"""Test helpers that start real components: Apache Kafka brokers, Django processes, a web server.

Nothing here is a fake: each helper runs the same binary or management command
that production runs, pointed at the test database and the test run's broker (or
a broker of the test's own, for the tests that stop, kill or wipe one).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection

from marketplace.devbroker import KafkaNode

ROOT = Path(__file__).resolve().parent.parent
# One directory per xdist worker: two workers must not truncate each other's process logs.
ARTIFACTS = ROOT / "test-artifacts" / os.environ.get("PYTEST_XDIST_WORKER", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message or predicate}")
        time.sleep(interval)


@dataclass
class Broker:
    """An Apache Kafka broker of one test's own (or one benchmark's): stop() and kill() keep its data, wipe() loses it."""

    node: KafkaNode = field(default_factory=lambda: KafkaNode(ARTIFACTS / f"kafka-{uuid.uuid4().hex[:8]}"))

    @property
    def bootstrap(self) -> str:
        return self.node.bootstrap

    def start(self) -> None:
        """Start (or restart on the same ports and data) and wait until it answers."""
        if not self.node.running:
            self.node.start()

    def stop(self) -> None:
        """A clean shutdown; a later start() comes back with every topic, message and offset."""
        self.node.stop()

    def kill(self) -> None:
        """SIGKILL, like a machine that died."""
        self.node.kill()

    def wipe(self) -> None:
        """Lose every topic, message and offset, as a lost volume would (stop it first)."""
        self.node.wipe()

    def remove(self) -> None:
        self.node.stop()
        shutil.rmtree(self.node.data_dir, ignore_errors=True)


@dataclass
class SharedBroker:
    """The test run's broker, shared by every test: a test gets topics and groups of its own, never stop()."""

    bootstrap: str
    topic_prefix: str


def channel_prefix() -> str:
    config: dict[str, Any] = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    return str(config["prefix"])


def database_url(name: str) -> str:
    """The URL of database ``name`` on the server and with the credentials the tests use."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def subprocess_env(broker: Broker | SharedBroker | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process: this test's database, channel prefix, broker, topics and groups."""
    db = connection.settings_dict
    kafka = settings.KAFKA
    env = {
        **os.environ,
        "DATABASE_URL": database_url(db["NAME"]),
        "CHANNELS_PREFIX": channel_prefix(),
        "KAFKA_BOOTSTRAP_SERVERS": str(kafka["BOOTSTRAP_SERVERS"]),
        "KAFKA_TOPIC_PREFIX": str(kafka["TOPIC_PREFIX"]),
        "KAFKA_GROUP_PREFIX": str(kafka["GROUP_PREFIX"]),
        "KAFKA_SESSION_TIMEOUT_MS": str(kafka["SESSION_TIMEOUT_MS"]),
        "OUTBOX_POLL_INTERVAL_S": "0.2",
        "DATABASE_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
        # Stacks under test post dozens of jobs per customer in seconds (latency tests); limits have their own tests.
        "RATE_LIMIT_NAMESPACE": uuid.uuid4().hex,
        "RATE_JOB_POSTS_PER_HOUR": "100000",
        "RATE_BIDS_PER_HOUR": "100000",
    }
    if broker is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
    env.update(extra)
    return env


@dataclass
class Process:
    """A management command or server running as a real child process."""

    args: list[str]
    env: dict[str, str]
    name: str
    proc: subprocess.Popen[bytes] | None = None
    stop_asked: bool = False

    def start(self) -> Process:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = open(ARTIFACTS / f"{self.name}.log", "wb")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up, no commit, like a crashed pod."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def ask_to_stop(self) -> None:
        """SIGTERM without waiting: stopping several processes, signal them all first, then wait for each."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.stop_asked = True

    def terminate(self, timeout: float = 20) -> int | None:
        if self.proc and self.proc.poll() is None:
            if not self.stop_asked:
                self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None

    def log(self, since: int = 0) -> str:
        """What the process wrote, from byte ``since`` on (see :meth:`log_size`)."""
        path = ARTIFACTS / f"{self.name}.log"
        if not path.exists():
            return ""
        with path.open("rb") as handle:
            handle.seek(since)
            return handle.read().decode(errors="replace")

    def log_size(self) -> int:
        path = ARTIFACTS / f"{self.name}.log"
        return path.stat().st_size if path.exists() else 0


def manage(name: str, *args: str, env: dict[str, str]) -> Process:
    return Process([sys.executable, "manage.py", *args], env, name)


def _answers(url: str) -> bool:
    try:
        # Not 1 s: a cold Daphne on a loaded machine takes seconds over its first page, and a probe given up on
        # early only queues another request behind it.
        urllib.request.urlopen(url + "/", timeout=10)
        return True
    except OSError:
        return False


@contextlib.contextmanager
def running_stack(broker: Broker | SharedBroker, name: str, **extra_env: str) -> Iterator[tuple[str, list[Process]]]:
    """Daphne, the outbox relay, every consumer and the payments executor as child processes, as ``make run`` starts them.

    Yields (base URL, processes) once Daphne answers; stops them all afterwards. ``extra_env`` goes to every process.
    """
    port = free_port()
    env = subprocess_env(broker, **extra_env)
    processes = [
        daphne(port, env).start(),
        manage(f"{name}-relay", "outbox_relay", env=env).start(),
        # Threads: a dozen consumer processes per stack made each browser test start in a minute on 2 cores.
        manage(f"{name}-consumers", "consume", "--all", "--threads", env=env).start(),
        manage(f"{name}-payments-executor", "payments_executor", env=env).start(),
        manage(f"{name}-deliveries", "deliver", env=env).start(),
    ]
    base_url = f"http://127.0.0.1:{port}"
    try:
        # 60 s: four Django processes start at once, beside whatever else the machine runs; it is paid once per
        # shared browser stack, not per test.
        wait_until(lambda: _answers(base_url), timeout=60, message="daphne to listen")
        yield base_url, processes
    finally:
        # All at once: each finishes its work in its own time, so the stack stops as fast as its slowest process.
        for process in processes:
            process.ask_to_stop()
        for process in processes:
            process.terminate()


def daphne(port: int, env: dict[str, str]) -> Process:
    return Process(
        # Daphne's own access log is plain text; marketplace.logging.AccessLogMiddleware logs each request as JSON.
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--access-log", "/dev/null", "marketplace.asgi:application"],
        env,
        f"daphne-{port}",
    )


REDIS_SERVER = "/usr/bin/redis-server"


@dataclass
class PrivateRedis:
    """A redis-server of this test's own, without persistence: a restart comes back empty."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(ARTIFACTS)]
        with open(ARTIFACTS / f"redis-{self.port}.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.answers, timeout=10, message=f"redis-server on {self.port}")

    def answers(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL, like a crashed Redis pod: no clean shutdown, every socket reset."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
