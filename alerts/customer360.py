"""The customer 360: everything about one customer on one staff page, in a bounded number of queries.

Built from the read models where they exist — the jobs board (``JobBoardEntry``: status and bid
count per job), the finance read model (``FinanceOpenPayment``, ``FinanceLedgerEntry``), the job
timeline (``JobTimelineEntry``), the rating read side (``reviews``, when that app is installed)
and the staff alerts — and from the write model for what has no read model (bids, quotes,
appointments, chat messages).  Each section is one query (two for quotes: their options), capped
at ``LIMIT`` rows, so the page costs the same for a customer with three jobs or three thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from chat.models import Message
from finance.models import FinanceLedgerEntry, FinanceOpenPayment
from jobs.models import Bid, Job, JobBoardEntry
from marketplace.accounts.models import User
from marketplace.money import format_money
from payments.models import Payment, PaymentOperation
from quotes.models import QuoteOption, QuoteVersion
from scheduling.models import Appointment
from timeline.models import JobTimelineEntry

from .models import Alert

LIMIT = 100  # rows per section
FEED_LIMIT = 50  # messages, timeline entries


@dataclass
class JobRow:
    job_id: int
    title: str
    trade: str
    status: str
    bid_count: int | None  # from the jobs board read model (None: not projected yet)
    posted_at: Any
    budget: str
    in_read_model: bool


@dataclass
class Customer360:
    customer: User
    account_age_days: int
    counts: dict[str, int]
    jobs: list[JobRow] = field(default_factory=list)
    bids: list[Bid] = field(default_factory=list)
    quotes: list[QuoteVersion] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    open_positions: dict[int, FinanceOpenPayment] = field(default_factory=dict)
    ledger: dict[int, FinanceLedgerEntry] = field(default_factory=dict)
    payment_failures: list[PaymentOperation] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    timeline: list[JobTimelineEntry] = field(default_factory=list)
    reviews: list[Any] | None = None  # None: the reviews app is not installed
    alerts: list[Alert] = field(default_factory=list)

    @property
    def payment_rows(self) -> list[tuple[Payment, FinanceOpenPayment | None, FinanceLedgerEntry | None]]:
        """Each payment with its open position and ledger entry from the finance read model."""
        return [(p, self.open_positions.get(p.pk), self.ledger.get(p.pk)) for p in self.payments]


def reviews_installed() -> bool:
    return apps.is_installed("reviews")


def customer_360(*, customer_id: int) -> Customer360 | None:
    """The whole picture of one customer (None if there is no such user).  About 15 queries, whatever the data."""
    customer = (
        User.objects.filter(pk=customer_id)
        .annotate(
            jobs_total=Count("jobs", distinct=True),
            jobs_open=Count("jobs", filter=Q(jobs__status=Job.Status.OPEN), distinct=True),
            jobs_completed=Count("jobs", filter=Q(jobs__status=Job.Status.COMPLETED), distinct=True),
            jobs_cancelled=Count("jobs", filter=Q(jobs__status=Job.Status.CANCELLED), distinct=True),
        )
        .first()
    )
    if customer is None:
        return None
    counts = {
        "jobs": customer.jobs_total,
        "open": customer.jobs_open,
        "completed": customer.jobs_completed,
        "cancelled": customer.jobs_cancelled,
    }
    view = Customer360(customer=customer, account_age_days=(timezone.now() - customer.date_joined).days, counts=counts)

    # Jobs: the write model says which jobs are theirs (and their trade); the board read model adds status and bid count.
    jobs = list(Job.objects.filter(customer_id=customer_id).select_related("trade").order_by("-created_at")[:LIMIT])
    job_ids = [job.pk for job in jobs]
    board = {entry.job_id: entry for entry in JobBoardEntry.objects.filter(job_id__in=job_ids)}
    for job in jobs:
        entry = board.get(job.pk)
        view.jobs.append(
            JobRow(
                job_id=job.pk,
                title=entry.title if entry else job.title,
                trade=entry.trade_name if entry else job.trade.name,
                status=entry.status if entry else job.status,
                bid_count=entry.bid_count if entry else None,
                posted_at=entry.posted_at if entry else job.created_at,
                budget=f"{format_money(job.budget_min)}–{format_money(job.budget_max)}",
                in_read_model=entry is not None,
            )
        )

    view.bids = list(
        Bid.objects.filter(job__customer_id=customer_id)
        .select_related("job", "tradesperson", "tradesperson__pro_profile")
        .order_by("-created_at")[:LIMIT]
    )
    view.quotes = list(
        QuoteVersion.objects.filter(bid__job__customer_id=customer_id)
        .select_related("bid", "bid__job", "bid__tradesperson", "bid__tradesperson__pro_profile")
        .prefetch_related(Prefetch("options", queryset=QuoteOption.objects.order_by("position")))
        .order_by("-created_at")[:LIMIT]
    )
    view.payments = list(
        Payment.objects.filter(customer_id=customer_id).select_related("job", "tradesperson", "acceptance").order_by("-created_at")[:LIMIT]
    )
    view.open_positions = {row.payment_id: row for row in FinanceOpenPayment.objects.filter(customer_id=customer_id)[:LIMIT]}
    view.ledger = {row.payment_id: row for row in FinanceLedgerEntry.objects.filter(job_id__in=job_ids)}
    view.payment_failures = list(
        PaymentOperation.objects.filter(job__customer_id=customer_id, status__in=["declined", "failed"])
        .select_related("job")
        .order_by("-created_at")[:LIMIT]
    )
    view.appointments = list(
        Appointment.objects.filter(job__customer_id=customer_id)
        .select_related("job", "worker", "worker__owner")
        .order_by("-starts_at")[:LIMIT]
    )
    view.messages = list(
        Message.objects.filter(thread__customer_id=customer_id)
        .select_related("thread", "sender", "thread__tradesperson")
        .order_by("-created_at")[:FEED_LIMIT]
    )
    view.timeline = list(JobTimelineEntry.objects.filter(job_id__in=job_ids).order_by("-occurred_at", "-id")[:FEED_LIMIT])
    if reviews_installed():
        from reviews.selectors import reviews_written_by  # the reviews app is optional for this page

        view.reviews = list(reviews_written_by(customer)[:LIMIT])
    view.alerts = list(Alert.objects.filter(customer_id=customer_id).order_by("-created_at")[:LIMIT])
    return view
