"""Apache Kafka for development, tests and benchmarks: the same broker production runs.

The jars (``org.apache.kafka:kafka_2.13`` at the version pinned in ``broker/pom.xml``,
with their runtime dependencies) come from Maven Central through Maven, once, into
``var/kafka/libs-<hash of the pom>/``; Maven's own cache (``~/.m2``) makes a second
clone fetch nothing.  A broker is one JVM in KRaft mode (broker and controller
combined) started with the machine's Java and a capped heap, logging to a file.

    python -m marketplace.devbroker --port 9092 --data var/kafka/dev   # foreground (make run)
    python -m marketplace.devbroker --fetch                            # only fetch the jars

Its data lives in a directory of its own, so a stopped broker comes back with its
topics, offsets and messages.  :class:`KafkaNode` is also what the tests use: one
broker per test run, and a private one (or three, as a cluster) for the tests that
stop, kill or wipe a broker.  None of this runs when ``KAFKA_BOOTSTRAP_SERVERS``
points at a real cluster.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POM = ROOT / "broker" / "pom.xml"
LOG4J_CONFIG = ROOT / "broker" / "log4j2.properties"
CACHE = Path(os.environ.get("KAFKA_DEV_CACHE", ROOT / "var" / "kafka"))
HEAP_MB = int(os.environ.get("KAFKA_DEV_HEAP_MB", "512"))


class BrokerError(RuntimeError):
    """The development broker could not be fetched or started; the message says what to do."""


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise BrokerError(f"{POM} names no <kafka.version>")
    return match.group(1)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # several test workers may ask at once; one fetches
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars() -> Path:
    """The directory holding the broker's jars, fetched with Maven on first use (idempotent, locked)."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    libs = CACHE / f"libs-{digest}"
    done = libs / ".complete"
    if done.exists():
        return libs
    with _locked(CACHE / ".fetch.lock"):
        if done.exists():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is needed to fetch Apache Kafka's jars: apt-get install maven")
        staging = CACHE / f"libs-{digest}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        command = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]  # fmt: skip
        print(f"fetching Apache Kafka {kafka_version()} from Maven Central (once; cached in {libs})", file=sys.stderr)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"Maven could not fetch Apache Kafka's jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        done.touch()
    return libs


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    path = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not path or not Path(path).exists():
        raise BrokerError("A Java runtime (17 or newer) is needed to run Apache Kafka: apt-get install openjdk-17-jre-headless")
    return path


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


# Broker settings for a development machine.  Production clusters are configured by their operators
# (README: replication 3, min.insync.replicas 2); these only make one laptop-sized broker behave.
DEV_SETTINGS: dict[str, str] = {
    "auto.create.topics.enable": "false",  # topics exist only as declared (manage.py kafka_topics)
    "num.partitions": "1",
    "offsets.topic.num.partitions": "10",  # the default 50 costs seconds at the first group join
    "group.initial.rebalance.delay.ms": "0",  # a first join is immediate in development
    "log.cleaner.backoff.ms": "1000",  # compaction is checked every second, not every 15
    "log.retention.check.interval.ms": "10000",
    "num.network.threads": "2",
    "num.io.threads": "4",
    "background.threads": "4",
    "log.cleaner.threads": "1",
}


@dataclass
class KafkaNode:
    """One Apache Kafka process in KRaft combined mode (broker + controller).

    ``voters`` is the controller quorum (``id@host:port,...``); a lone node votes for itself.
    The data directory survives :meth:`stop` and :meth:`kill`; :meth:`wipe` loses it, as a lost volume would.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    node_id: int = 1
    voters: str = ""
    replication: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    heap_mb: int = HEAP_MB
    cluster_id: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def properties(self) -> dict[str, str]:
        isr = str(min(2, self.replication))
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "log"),
            "default.replication.factor": str(self.replication),
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": str(self.replication),
            "transaction.state.log.replication.factor": str(self.replication),
            "transaction.state.log.min.isr": isr,
            "share.coordinator.state.topic.replication.factor": str(self.replication),
            "share.coordinator.state.topic.min.isr": isr,
            **DEV_SETTINGS,
            **self.settings,
        }

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in self.properties().items()))
        return path

    def _java(self, main: str, *args: str, heap_mb: int) -> list[str]:
        return [
            java(),
            f"-Xms{min(heap_mb, 128)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.log.file={self.log_file}",
            "-cp",
            str(ensure_jars() / "*"),
            main,
            *args,
        ]

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "log" / "meta.properties").exists()

    def format(self) -> None:
        """Format the log directory once (KRaft needs it); a formatted directory is left as it is."""
        config = self._write_config()
        if self.formatted:
            return
        cluster_id = self.cluster_id or new_cluster_id()
        # --cluster-id=ID, one argument: a base64 id may start with "-", which the tool would read as an option.
        command = self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", f"--config={config}", heap_mb=256)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"could not format {self.data_dir}: {result.stdout}{result.stderr}")

    def start(self, *, wait: bool = True, timeout: float = 60) -> KafkaNode:
        for port in (self.port, self.controller_port):
            if port_open(port):
                raise BrokerError(f"port {port} is already in use: stop whatever listens there, or choose another port")
        self.format()
        config = self._write_config()
        with open(self.data_dir / "stdout.log", "ab") as out:  # the child keeps its own descriptor
            # Own session: a Ctrl-C in the terminal reaches the broker only through whoever started it.
            self.proc = subprocess.Popen(
                self._java("kafka.Kafka", str(config), heap_mb=self.heap_mb), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the broker answers a metadata request (an open port is not enough)."""
        # On use: the rest of this module is standard library only (the set-up and test scripts run it as a script).
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise BrokerError(
                    f"Apache Kafka exited with {self.proc.returncode}; see {self.log_file} and {self.data_dir / 'stdout.log'}"
                )
            if port_open(self.port):
                admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000})
                with contextlib.suppress(Exception):
                    metadata = admin.list_topics(timeout=2)
                    if metadata.brokers:
                        return
            if time.monotonic() > deadline:
                raise BrokerError(f"Apache Kafka did not answer on {self.bootstrap} within {timeout:.0f} s; see {self.log_file}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """A clean shutdown (SIGTERM): the log is flushed and the data directory kept."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, like a machine that died; the data directory is kept."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def wipe(self) -> None:
        """Lose every topic, message and offset, as a lost volume would (the broker must be stopped).

        The node stays in its cluster: the next start formats a new log directory with the same cluster id.
        """
        if self.proc is not None:
            raise BrokerError("stop the broker before wiping its data")
        meta = self.data_dir / "log" / "meta.properties"
        if meta.exists():
            found = re.search(r"^cluster\.id=(.+)$", meta.read_text(), re.MULTILINE)
            if found:
                self.cluster_id = found.group(1).strip()
        shutil.rmtree(self.data_dir / "log", ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def cluster(root: Path, size: int = 3, **settings: str) -> list[KafkaNode]:
    """``size`` brokers that are also the controller quorum, replication ``size`` (not started)."""
    ports = [(free_port(), free_port()) for _ in range(size)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{controller}" for i, (_, controller) in enumerate(ports))
    cluster_id = new_cluster_id()
    return [
        KafkaNode(
            root / f"node-{i + 1}",
            port=port,
            controller_port=controller,
            node_id=i + 1,
            voters=voters,
            replication=size,
            settings=dict(settings),
            cluster_id=cluster_id,
        )
        for i, (port, controller) in enumerate(ports)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    parser.add_argument("--data", type=Path, default=CACHE / "dev", help="data directory (kept between runs)")
    parser.add_argument("--fetch", action="store_true", help="only fetch the jars, then exit")
    args = parser.parse_args()
    try:
        if args.fetch:
            print(ensure_jars())
            return
        node = KafkaNode(args.data, port=args.port, controller_port=args.controller_port)
        node.start(wait=False)
    except BrokerError as exc:
        sys.exit(str(exc))
    assert node.proc is not None
    stop = lambda *_: node.stop()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        node.wait_ready()
        print(f"Apache Kafka {kafka_version()} is ready on {node.bootstrap} (data in {args.data}, log {node.log_file})", flush=True)
    except BrokerError as exc:
        node.kill()
        sys.exit(str(exc))
    while node.proc is not None and node.proc.poll() is None:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
