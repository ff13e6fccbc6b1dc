"""The consumer registry: every Kafka consumer group, declared as data.

name -> topics -> handler -> dead-letter topics.  ``manage.py consume NAME`` (or
``--all``) runs them; ``manage.py replay_events NAME`` rebuilds their read model.
Add a consumer here and it is started by ``make run`` and the Procfile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.utils.module_loading import import_string

from .handlers import EventHandler
from .topics import TOPICS, Topic, dead_letter_topic, kafka_topic

# The nice value of consumers that may trail by a moment (ConsumerSpec.niceness).
BACKGROUND = 5


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    topics: tuple[Topic, ...]
    handler_path: str
    description: str = ""
    # How readily this consumer's process gives way when consumers compete for the CPU (its nice value, applied
    # by ``manage.py consume`` when ``CONSUMER_PRIORITIES`` is on).  0 for those a person waits on with a page
    # open (a lead arriving, a chat message, a position, a payment); BACKGROUND for read models and records
    # that may trail by a moment.  On a busy machine the live ones then go first; with CPU to spare, no effect.
    niceness: int = 0

    @cached_property
    def handler_class(self) -> type[EventHandler]:
        cls: type[EventHandler] = import_string(self.handler_path)
        return cls

    def make_handler(self) -> EventHandler:
        return self.handler_class()

    @property
    def topic_names(self) -> list[str]:
        return [str(t) for t in self.topics]

    @property
    def kafka_topic_names(self) -> list[str]:
        """The topics' names on the broker (with the configured prefix, see topics.kafka_topic)."""
        return [kafka_topic(t) for t in self.topics]

    def dlq_for(self, topic: str) -> str:
        """The dead-letter topic of ``topic`` as named on the broker (the prefix carries over)."""
        return dead_letter_topic(topic)


CONSUMERS: dict[str, ConsumerSpec] = {
    spec.name: spec
    for spec in [
        ConsumerSpec(
            name="jobs-board",
            topics=(Topic.JOBS,),
            handler_path="jobs.projections.JobBoardProjection",
            description="Jobs board read model (search, filters) and board pushes.",
        ),
        ConsumerSpec(
            name="matching",
            topics=(Topic.JOBS,),
            handler_path="matching.projections.MatchingHandler",
            description="Offers new jobs to matching tradespeople (lead ledger), live.",
        ),
        ConsumerSpec(
            name="job-live",
            topics=(Topic.JOBS,),
            handler_path="jobs.projections.JobLiveHandler",
            description="Pushes job and bid changes to customers and tradespeople, with notifications.",
        ),
        ConsumerSpec(
            name="pro-stats",
            topics=(Topic.JOBS,),
            handler_path="matching.projections.ProStatsProjection",
            description="Per-tradesperson response time and wins (ranks matching).",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="payments",
            topics=(Topic.JOBS,),
            handler_path="payments.projections.PaymentsHandler",
            description="Moves money when a job completes (collect) or is cancelled (cancellation policy).",
        ),
        ConsumerSpec(
            name="schedule-live",
            topics=(Topic.JOBS,),
            handler_path="scheduling.projections.ScheduleLiveHandler",
            description="Pushes appointment changes to job pages, tradespeople and business calendars, with notifications.",
        ),
        ConsumerSpec(
            name="capacity",
            topics=(Topic.JOBS,),
            handler_path="scheduling.capacity.CapacityProjection",
            description="Free time per worker and day, and per trade and area (matching skips fully booked tradespeople).",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="tracking",
            topics=(Topic.TRACKING, Topic.JOBS),
            handler_path="tracking.projections.TrackingHandler",
            description="GPS pings -> position, ETA and trail pushed to track.<job>; geofence arrival; running-late alerts.",
        ),
        ConsumerSpec(
            name="chat-live",
            topics=(Topic.JOBS,),
            handler_path="chat.projections.ChatLiveHandler",
            description="Pushes chat messages and read receipts to chat.<thread>; notifies the recipient of each message.",
        ),
        ConsumerSpec(
            name="finance",
            topics=(Topic.PAYMENTS, Topic.PAYOUTS),
            handler_path="finance.projections.FinanceProjection",
            description="Finance read model from the compacted payments topic (tombstones close positions) and the payouts topic.",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="timeline",
            topics=(Topic.JOBS,),
            handler_path="timeline.projections.TimelineProjection",
            description="Per-job timeline (who may see each step), pushed live to the job page and the tradesperson.",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="ratings",
            topics=(Topic.JOBS,),
            handler_path="reviews.projections.RatingsProjection",
            description="Rating summaries per tradesperson from review.* events (the one writer of ProStats' rating columns), live.",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="directory-live",
            topics=(Topic.JOBS,),
            handler_path="directory.projections.DirectoryLiveHandler",
            description="Pushes a tradesperson's badges, and moderation of their reviews and profile, to their open public profile pages.",
        ),
        ConsumerSpec(
            name="staff-alerts",
            topics=(Topic.JOBS,),
            handler_path="alerts.projections.StaffAlertsHandler",
            description="Alerts staff (admin inbox, webhook) about first jobs, failed payments, late arrivals, cancellation floods.",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="insights",
            topics=(Topic.JOBS, Topic.PAYMENTS),
            handler_path="insights.projections.InsightsProjection",
            description="Dashboard aggregates per UTC day, trade and tradesperson (jobs, bids, awards, arrivals, hours, money), live.",
            niceness=BACKGROUND,
        ),
        ConsumerSpec(
            name="audit",
            topics=tuple(TOPICS),  # every declared topic (their dead-letter twins are not in TOPICS)
            handler_path="marketplace.audit.projections.AuditProjection",
            description="Append-only audit log of every event on every topic (browsable in admin).",
            niceness=BACKGROUND,
        ),
    ]
}


def get_consumer(name: str) -> ConsumerSpec:
    try:
        return CONSUMERS[name]
    except KeyError:
        known = ", ".join(sorted(CONSUMERS))
        raise LookupError(f"Unknown consumer {name!r}; known consumers: {known}") from None
