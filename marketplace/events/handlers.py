"""Base class for Kafka event handlers (projections, notifiers, matchers).

A handler method is named after the event type it handles: ``job.posted`` is
handled by ``on_job_posted(event)``.  Handlers run inside the consumer runner's
transaction, together with the inbox record, so they must only touch the
database (and schedule live pushes with ``marketplace.realtime.push``, which
fire after commit).  Raising :class:`~marketplace.events.envelope.InvalidMessage`
dead-letters the event at once; raising :class:`Retryable` retries it.

Tombstones on compacted topics arrive through the same method as any event of
their type (``payment.settled`` -> ``on_payment_settled(event)``) with
``event.tombstone`` True: delete the key's row there.  A null-valued message with
no envelope (another producer's bare tombstone) is not an event: it goes to
``on_bare_tombstone(topic, key)`` if the handler defines it (``key`` is the message
key as text, or None), and is skipped otherwise.  That hook has no inbox record
(there is no event id), so it must be idempotent, as a delete by key is.

Bulk methods (a throughput option for hot event types): a handler that also defines
``bulk_<event_type>(events)`` (``bulk_job_posted``) is handed each run of consecutive
events of that type in a batch (deduplicated by the inbox, in log order) in one call,
so it can write them with a few multi-row statements.  It must have exactly the
effect of calling ``on_<event_type>`` for each event in order: when a batch fails,
the runner re-applies it one event at a time through ``on_<event_type>`` (retries,
dead letters).  It runs under the correlation id of the run's first event, so it
should not emit events of its own.
"""

from __future__ import annotations

from .envelope import Envelope

BARE_TOMBSTONE_HOOK = "on_bare_tombstone"


class Retryable(Exception):
    """A transient failure (a dependency briefly unavailable): retry with backoff, never dead-letter."""


def method_name(event_type: str) -> str:
    return "on_" + event_type.replace(".", "_")


def bulk_method_name(event_type: str) -> str:
    return "bulk_" + event_type.replace(".", "_")


class EventHandler:
    def handles(self, event_type: str) -> bool:
        return callable(getattr(self, method_name(event_type), None))

    def handle(self, event: Envelope) -> None:
        getattr(self, method_name(event.event_type))(event)

    def handles_in_bulk(self, event_type: str) -> bool:
        return self.handles(event_type) and callable(getattr(self, bulk_method_name(event_type), None))

    def handle_bulk(self, events: list[Envelope]) -> None:
        """Apply a run of events of one type (see the module docstring)."""
        getattr(self, bulk_method_name(events[0].event_type))(events)

    def handles_bare_tombstones(self) -> bool:
        return callable(getattr(self, BARE_TOMBSTONE_HOOK, None))

    def handle_bare_tombstone(self, topic: str, key: str | None) -> None:
        getattr(self, BARE_TOMBSTONE_HOOK)(topic, key)

    def reset(self) -> None:
        """Delete the read model this handler maintains, before a rebuild from the log."""
        raise NotImplementedError(f"{type(self).__name__} maintains no rebuildable read model.")
