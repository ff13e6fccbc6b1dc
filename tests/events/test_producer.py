"""The acknowledged producer's own logic, without a broker: a full queue, a refusal, a deadline, a fatal error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from marketplace.events.producer import AcknowledgedProducer, OutgoingMessage, send_and_wait


class FakeMessage:
    def __init__(self, topic: str, key: bytes | None) -> None:
        self._topic, self._key = topic, key

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key


class FakeProducer:
    """Queues reports and serves them on poll/flush; ``full`` BufferErrors first, ``refuse`` keys raise."""

    def __init__(self, *, full: int = 0, refuse: bytes | None = None, fail: bytes | None = None, silent: bool = False) -> None:
        self.full, self.refuse, self.fail, self.silent = full, refuse, fail, silent
        self.queue: list[tuple[Callable[..., None], KafkaError | None, FakeMessage]] = []
        self.produced: list[bytes | None] = []
        self.polls = 0
        self.flushes = 0

    def produce(self, topic: str, *, key: bytes | None, value: bytes | None, headers: Any, on_delivery: Callable[..., None]) -> None:
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        if key == self.refuse:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "too large"))
        self.produced.append(key)
        err = KafkaError(KafkaError._MSG_TIMED_OUT, "timed out") if key == self.fail else None
        if not self.silent:
            self.queue.append((on_delivery, err, FakeMessage(topic, key)))

    def _serve(self) -> int:
        served, self.queue = self.queue, []
        for callback, err, msg in served:
            callback(err, msg)
        return len(served)

    def poll(self, _timeout: float) -> int:
        self.polls += 1
        return self._serve()

    def flush(self, _timeout: float) -> int:
        self.flushes += 1
        self._serve()
        return 0


def batch(*keys: bytes) -> list[OutgoingMessage]:
    return [OutgoingMessage("t", key, b"v", [("event_type", b"x")]) for key in keys]


def test_a_full_queue_is_drained_by_polling_and_nothing_is_dropped() -> None:
    producer = FakeProducer(full=3)
    acks = send_and_wait(producer, batch(b"a", b"b"))  # type: ignore[arg-type]
    assert acks.complete and sorted(acks.delivered) == [0, 1]
    assert producer.produced == [b"a", b"b"] and producer.polls == 3


def test_a_failed_report_is_returned_by_index() -> None:
    acks = send_and_wait(FakeProducer(fail=b"b"), batch(b"a", b"b", b"c"))  # type: ignore[arg-type]
    assert not acks.complete
    assert sorted(acks.delivered) == [0, 2] and list(acks.failed) == [1]
    assert "timed out" in acks.first_error()


def test_after_a_refused_message_the_rest_is_not_produced_but_what_is_in_flight_is_waited_for() -> None:
    producer = FakeProducer(refuse=b"b")
    acks = send_and_wait(producer, batch(b"a", b"b", b"c"))  # type: ignore[arg-type]
    assert producer.produced == [b"a"]
    assert list(acks.delivered) == [0] and sorted(acks.failed) == [1, 2] and acks.raised is not None


def test_a_deadline_ends_the_wait_with_the_silent_ones_unreported() -> None:
    acks = send_and_wait(FakeProducer(silent=True), batch(b"a"), timeout=0.05, shared=True)  # type: ignore[arg-type]
    assert not acks.complete and acks.unreported == 1 and acks.first_error() == "no delivery report in time"


def test_a_shared_producer_is_polled_and_an_owned_one_flushed() -> None:
    shared, owned = FakeProducer(), FakeProducer()
    send_and_wait(shared, batch(b"a"), shared=True)  # type: ignore[arg-type]
    send_and_wait(owned, batch(b"a"))  # type: ignore[arg-type]
    assert (shared.polls, shared.flushes) == (1, 0) and (owned.polls, owned.flushes) == (0, 1)


def test_a_producer_handed_in_is_never_replaced(settings) -> None:
    given = FakeProducer()
    mine = AcknowledgedProducer("test", given)  # type: ignore[arg-type]
    mine.replace()
    assert mine.producer is given
    settings.KAFKA = {**settings.KAFKA, "BOOTSTRAP_SERVERS": "replace.invalid:9092"}
    own = AcknowledgedProducer("test")
    first = own.producer
    own.replace()
    assert own.producer is not first
