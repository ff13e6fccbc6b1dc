"""Kafka handlers that maintain job read models and push job changes live.

- ``JobBoardProjection`` (consumer ``jobs-board``): the board read model and
  ``TradeActivity``; pushes to ``board.all``.
- ``JobLiveHandler`` (consumer ``job-live``): pushes to the customer's job page
  (``job.<id>``), to everyone following a job (``jobfeed.<id>``) and to
  tradespeople personally (``user.<id>``), with notifications.
- ``ProStatsProjection`` (consumer ``pro-stats``): response times and wins per
  tradesperson, which matching ranks by.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils.dateparse import parse_datetime

from marketplace.events import bulk
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.money import format_money
from marketplace.notifications.services import notify
from marketplace.payment_words import decline_reason
from marketplace.privacy.events import UserErasedV1
from marketplace.privacy.registry import REMOVED
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import events as ev
from . import presenters
from .models import Bid, Job, JobBoardEntry, TradeActivity
from .streams import BOARD_STREAM, job_feed_stream, job_stream

CLOSED = {"cancelled", "expired", "awarded"}


# Shapes a handler reads from more than one event type (``event.payload`` takes any subset of the
# newest payload's keys). quote.* and payment.* payloads are declared in quotes.events and
# payments.events, which jobs may not import (they are above it), so their shapes are here too.


class _JobRef(TypedDict):
    """Every event on the board's job row (job.*, bid.*) names the job."""

    job_id: int


class _JobStatus(_JobRef):
    """job.cancelled, job.expired, job.awarded and job.status_changed: the status the job is now in."""

    status: str


class _BidRef(TypedDict):
    """bid.* and job.awarded: the bid, its job and its bidder."""

    bid_id: int
    job_id: int
    tradesperson_id: int
    status: str


class _QuoteParties(TypedDict):
    """quote.published and quote.accepted (quotes.events ``QuotePublishedV1``, ``QuoteAcceptedV1``)."""

    job_id: int
    bid_id: int
    tradesperson_id: int
    version: int


class _QuotePublished(_QuoteParties):
    business_name: NotRequired[str]


class _PaymentParties(TypedDict):
    """What every job-topic ``payment.*`` event says about who is involved (v2 adds the two ids)."""

    job_id: int
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class _PaymentAmount(TypedDict):
    """payment.deposit_authorized (payments.events ``PaymentDepositAuthorizedV2``), and what the next two add to."""

    payment_id: int
    amount: str


class _PaymentCaptured(_PaymentAmount):
    captured_total: str
    reason: NotRequired[str]


class _PaymentRefunded(_PaymentAmount):
    refunded_total: str


class _PaymentFailed(TypedDict):
    """payment.failed (payments.events ``PaymentFailedV2``): no payment id when the deposit never got one."""

    payment_id: NotRequired[int | None]
    stage: str
    amount: str
    reason: str


class _SignOffRef(TypedDict):
    """What every sign-off event (payments.events ``PaymentApprovalRequestedV1`` ... ``PaymentDisputeResolvedV1``) says."""

    payment_id: int


class _Approved(_SignOffRef):
    """payment.approved (``PaymentApprovedV1``)."""

    tip: str
    automatically: bool


class _DisputeResolved(_SignOffRef):
    """payment.dispute_resolved (``PaymentDisputeResolvedV1``)."""

    amount: str
    resolution: str


def _dt(value: str | None) -> Any:
    return parse_datetime(value) if value else None


class JobBoardProjection(EventHandler):
    """Maintains ``JobBoardEntry`` and ``TradeActivity``; ignores stale events by sequence."""

    def reset(self) -> None:
        JobBoardEntry.objects.all().delete()
        TradeActivity.objects.all().delete()

    def on_user_erased(self, event: Envelope) -> None:
        """An erased customer's jobs keep their board rows (closed ones stay for the counts) without their words."""
        user_id = event.payload(UserErasedV1)["user_id"]
        JobBoardEntry.objects.filter(customer_id=user_id).update(title=REMOVED, description=REMOVED, place="", answers=[])

    def on_job_posted(self, event: Envelope) -> None:
        entry = self._entry(event)
        if not _insert_board_entry(entry):
            return  # already built (a later event got here first)
        _set_answers([entry])
        _count_posted(entry.trade_slug, entry.trade_name)
        push.send_on_commit(BOARD_STREAM, event, presenters.board_card(entry))

    def bulk_job_posted(self, events: list[Envelope]) -> None:
        """``on_job_posted`` for a run of events: three statements for the lot instead of three each."""
        entries: dict[int, tuple[Envelope, JobBoardEntry]] = {}
        for event in events:
            entries.setdefault(event.payload(ev.JobPostedV3)["job_id"], (event, self._entry(event)))  # the first one wins, as one by one
        inserted = _insert_board_entries([entry for _, entry in entries.values()])
        fresh = [(event, entry) for job_id, (event, entry) in entries.items() if job_id in inserted]
        _set_answers([entry for _, entry in fresh])
        _count_posted_many([(entry.trade_slug, entry.trade_name) for _, entry in fresh])
        push.send_many_on_commit(BOARD_STREAM, [(event, presenters.board_card(entry)) for event, entry in fresh])

    @staticmethod
    def _entry(event: Envelope) -> JobBoardEntry:
        d = event.payload(ev.JobPostedV3)
        return JobBoardEntry(
            job_id=d["job_id"],
            customer_id=d["customer_id"],
            trade_slug=d["trade"]["slug"],
            trade_name=d["trade"]["name"],
            title=d["title"],
            description=d["description"],
            latitude=float(d["latitude"]),
            longitude=float(d["longitude"]),
            place=d.get("place", ""),
            budget_min=Decimal(d["budget_min"]),
            budget_max=Decimal(d["budget_max"]),
            window_start=_dt(d.get("window_start")),
            window_end=_dt(d.get("window_end")),
            is_emergency=d["is_emergency"],
            answers=d.get("answers", []),  # v1 and v2 events have none
            status=d["status"],
            bid_count=0,
            posted_at=_dt(d["posted_at"]),
            last_sequence=event.sequence,
        )

    def on_job_updated(self, event: Envelope) -> None:
        d = event.payload(ev.JobUpdatedV3)
        fields: dict[str, Any] = {
            "title": d["title"],
            "description": d["description"],
            "latitude": float(d["latitude"]),
            "longitude": float(d["longitude"]),
            "place": d.get("place", ""),
            "budget_min": Decimal(d["budget_min"]),
            "budget_max": Decimal(d["budget_max"]),
            "window_start": _dt(d.get("window_start")),
            "window_end": _dt(d.get("window_end")),
            "is_emergency": d["is_emergency"],
        }
        trade = d.get("trade")
        before = JobBoardEntry.objects.filter(job_id=d["job_id"]).values_list("trade_slug", "status").first()
        if trade is not None:
            fields.update(trade_slug=trade["slug"], trade_name=trade["name"])
            if "trade" in (d.get("changed") or []):
                fields["answers"] = []  # answers to the old trade's questions (services.job_update drops them too)
        if self._advance(event, **fields):
            if trade is not None and before is not None and before[0] != trade["slug"] and before[1] == Job.Status.OPEN:
                # The open job moved to another trade: so does its count.
                TradeActivity.objects.filter(trade_slug=before[0]).update(open_jobs=F("open_jobs") - 1)
                TradeActivity.objects.get_or_create(trade_slug=trade["slug"], defaults={"trade_name": trade["name"], "open_jobs": 0})
                TradeActivity.objects.filter(trade_slug=trade["slug"]).update(open_jobs=F("open_jobs") + 1)
            self._index(d["job_id"])
            push.send_on_commit(BOARD_STREAM, event, presenters.board_card(JobBoardEntry.objects.get(job_id=d["job_id"])))

    def _close(self, event: Envelope) -> None:
        d = event.payload(_JobStatus)
        entry = JobBoardEntry.objects.filter(job_id=d["job_id"]).first()
        was_open = entry is not None and entry.status == Job.Status.OPEN
        if self._advance(event, status=d["status"]):
            if was_open and entry is not None:
                TradeActivity.objects.filter(trade_slug=entry.trade_slug).update(open_jobs=F("open_jobs") - 1)
            push.send_on_commit(BOARD_STREAM, event, presenters.board_card(JobBoardEntry.objects.get(job_id=d["job_id"])))

    on_job_cancelled = _close
    on_job_expired = _close
    on_job_awarded = _close

    def on_job_status_changed(self, event: Envelope) -> None:
        self._advance(event, status=event.payload(ev.JobStatusChangedV2)["status"])

    def on_bid_placed(self, event: Envelope) -> None:
        self._bid_count(event, +1)

    def on_bid_withdrawn(self, event: Envelope) -> None:
        self._bid_count(event, -1)

    def _bid_count(self, event: Envelope, delta: int) -> None:
        if self._advance(event, bid_count=F("bid_count") + delta):
            entry = JobBoardEntry.objects.get(job_id=event.payload(_JobRef)["job_id"])
            push.send_on_commit(BOARD_STREAM, event, presenters.board_card(entry))

    def _advance(self, event: Envelope, **fields: Any) -> bool:
        """Apply ``fields`` unless the row already reflects a later event."""
        return bool(
            JobBoardEntry.objects.filter(job_id=event.payload(_JobRef)["job_id"], last_sequence__lt=event.sequence).update(
                last_sequence=event.sequence, **fields
            )
        )

    def _index(self, job_id: int) -> None:
        # The same weighting as a posted job gets, computed from the row's own columns.
        search = _SEARCH_SQL.replace("%s", "{}").format("title", "trade_name", "place", "description")
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {JobBoardEntry._meta.db_table} SET search = {search} WHERE job_id = %s", [job_id])


# The two hot statements of job.posted, one round trip each (this runs for every job).

_SEARCH_SQL = (
    "setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'A')"
    " || setweight(to_tsvector('english', %s), 'B') || setweight(to_tsvector('english', %s), 'C')"
)
_BOARD_FIELDS = [
    "job_id", "customer_id", "trade_slug", "trade_name", "title", "description", "latitude", "longitude", "place",
    "budget_min", "budget_max", "window_start", "window_end", "is_emergency", "status", "bid_count", "posted_at", "last_sequence",
]  # fmt: skip


def _insert_board_entry(entry: JobBoardEntry) -> bool:
    """INSERT the row with its search vector; False if the job is already on the board."""
    table = JobBoardEntry._meta.db_table
    columns = ", ".join([*_BOARD_FIELDS, "search"])
    placeholders = ", ".join(["%s"] * len(_BOARD_FIELDS) + [_SEARCH_SQL])
    values = [getattr(entry, name) for name in _BOARD_FIELDS]
    values += [entry.title, entry.trade_name, entry.place, entry.description]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (job_id) DO NOTHING RETURNING job_id",
            values,
        )
        return cursor.fetchone() is not None


def _set_answers(entries: list[JobBoardEntry]) -> None:
    """Store the answers of new rows that have any, in one statement.

    Apart from the inserts above (the column defaults to [] in the database), so a job without
    questions, most of them, costs no more than before.
    """
    rows = [(entry.job_id, json.dumps(entry.answers)) for entry in entries if entry.answers]
    if not rows:
        return
    table = JobBoardEntry._meta.db_table
    bulk.execute(
        f"UPDATE {table} SET answers = v.answers::jsonb FROM unnest(%b::bigint[], %b::text[]) AS v(job_id, answers)"
        f" WHERE {table}.job_id = v.job_id",
        [[job_id for job_id, _ in rows], [text for _, text in rows]],
    )


# Postgres array types of _BOARD_FIELDS, for the bulk insert's unnest().
_BOARD_TYPES = [
    "bigint", "bigint", "text", "text", "text", "text", "float8", "float8", "text",
    "numeric", "numeric", "timestamptz", "timestamptz", "boolean", "text", "integer", "timestamptz", "bigint",
]  # fmt: skip


def _insert_board_entries(entries: list[JobBoardEntry]) -> set[int]:
    """:func:`_insert_board_entry` for many rows (distinct jobs) in one statement; the job ids inserted.

    One array parameter per column (unnest), so the statement text is the same for
    every batch size: psycopg parses it once, not a 10,000-placeholder VALUES list per batch.
    """
    if not entries:
        return set()
    table = JobBoardEntry._meta.db_table
    columns = ", ".join(_BOARD_FIELDS)
    arrays = ", ".join(f"%b::{t}[]" for t in _BOARD_TYPES)
    search = _SEARCH_SQL.replace("%s", "{}").format("v.title", "v.trade_name", "v.place", "v.description")
    rows = bulk.execute(
        f"""INSERT INTO {table} ({columns}, search)
            SELECT v.*, {search} FROM unnest({arrays}) AS v({columns})
            ON CONFLICT (job_id) DO NOTHING RETURNING job_id""",
        [[getattr(entry, name) for entry in entries] for name in _BOARD_FIELDS],
    )
    return {job_id for (job_id,) in rows}


def _count_posted_many(trades: list[tuple[str, str]]) -> None:
    """:func:`_count_posted` once per (slug, name) in one statement (a trade's first name wins, as one by one)."""
    if not trades:
        return
    counts: dict[str, list[Any]] = {}
    for slug, name in trades:
        counts.setdefault(slug, [name, 0])[1] += 1
    slugs = sorted(counts)  # rows locked in one order by every writer
    table = TradeActivity._meta.db_table
    bulk.execute(
        f"""INSERT INTO {table} (trade_slug, trade_name, open_jobs, posted_total)
            SELECT slug, name, n, n FROM unnest(%b::text[], %b::text[], %b::int[]) AS v(slug, name, n)
            ON CONFLICT (trade_slug) DO UPDATE SET open_jobs = {table}.open_jobs + EXCLUDED.open_jobs,
                posted_total = {table}.posted_total + EXCLUDED.posted_total""",
        [slugs, [counts[s][0] for s in slugs], [counts[s][1] for s in slugs]],
    )


def _count_posted(trade_slug: str, trade_name: str) -> None:
    table = TradeActivity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (trade_slug, trade_name, open_jobs, posted_total) VALUES (%s, %s, 1, 1)
                ON CONFLICT (trade_slug) DO UPDATE SET open_jobs = {table}.open_jobs + 1, posted_total = {table}.posted_total + 1""",
            [trade_slug, trade_name],
        )


class JobLiveHandler(EventHandler):
    """Pushes what changed about a job to the people looking at it, and notifies them."""

    # Pushes carry the whole payload as it arrived (``event.data``); what a handler reads
    # from it goes through ``event.payload``.

    def on_job_updated(self, event: Envelope) -> None:
        job_id = event.payload(ev.JobUpdatedV2)["job_id"]
        push.send_on_commit(job_stream(job_id), event, event.data)
        push.send_on_commit(job_feed_stream(job_id), event, event.data)

    def _status(self, event: Envelope, **extra: Any) -> None:
        """The customer's page gets the event with the status label; the public feed only the status."""
        d = event.payload(_JobStatus)
        job_id = d["job_id"]
        status = presenters.job_status(d["status"])
        push.send_on_commit(job_stream(job_id), event, {**event.data, **status, **extra})
        push.send_on_commit(job_feed_stream(job_id), event, {"job_id": job_id, **status})

    on_job_cancelled = _status
    on_job_expired = _status
    on_job_status_changed = _status

    def on_job_direct_request_opened(self, event: Envelope) -> None:
        """The customer's page swaps "sent to X first" for who is invited now; the customer is told."""
        d = event.payload(ev.JobDirectRequestOpenedV1)
        note = presenters.direct_request_opened_note(d["business_name"], reason=d["reason"])
        push.send_on_commit(job_stream(d["job_id"]), event, {"job_id": d["job_id"], "reason": d["reason"], "note": note})
        notify(
            recipient_id=d["customer_id"],
            kind="search_widened",
            title="We've invited more tradespeople",
            body=note,
            url=f"/jobs/{d['job_id']}/",
            object_key=f"job:{d['job_id']}:direct",
        )

    def on_job_awarded(self, event: Envelope) -> None:
        d = event.payload(ev.JobAwardedV2)
        winner = self._bid_card(event) or {
            "bid_id": d["bid_id"],
            "job_id": d["job_id"],
            "tradesperson_id": d["tradesperson_id"],
            "amount": d["amount"],
            **presenters.bid_status(Bid.Status.ACCEPTED),
        }
        self._status(event, bid=winner)  # the customer's page marks the winning bid
        push.send_on_commit(user_stream(d["tradesperson_id"]), event, winner, name="bid.accepted")
        job = Job.objects.filter(pk=d["job_id"]).first()
        if job is not None:
            notify(
                recipient_id=d["tradesperson_id"],
                kind="job_won",
                title=f"You won “{job.title}”",
                body=f"The customer accepted your bid of {format_money(d['amount'])}.",
                url=f"/leads/{job.pk}/",
                object_key=f"job:{job.pk}",
            )

    @staticmethod
    def _bid_card(event: Envelope) -> dict[str, Any] | None:
        """The bid card of the event's bid as it is now (pushes show the latest truth); None if it is gone."""
        bid_id = event.payload(_BidRef)["bid_id"]
        bid = Bid.objects.select_related("tradesperson", "tradesperson__pro_profile").filter(pk=bid_id).first()
        if bid is None:
            return None
        # bid.revised says what it was (no other event handed here has a previous amount)
        previous = event.payload(ev.BidRevisedV1)["previous_amount"] if event.event_type == ev.BID_REVISED.name else None
        return presenters.bid_card(bid, previous_amount=Decimal(previous) if previous else None)

    def _bid(self, event: Envelope, reason: str | None = None) -> None:
        """The bid card to the job's customer and to the bidder (with the customer's reason on a decline).

        ``reason``: the event's own, for the bid.* events whose payload may have one.
        """
        d = event.payload(_BidRef)
        card = self._bid_card(event) or {**event.data, **presenters.bid_status(d["status"])}
        if reason is not None:
            card["reason"] = reason
        push.send_on_commit(job_stream(d["job_id"]), event, card)
        push.send_on_commit(user_stream(d["tradesperson_id"]), event, card)

    def on_bid_placed(self, event: Envelope) -> None:
        self._bid(event)
        d = event.payload(ev.BidPlacedV1)
        job = Job.objects.filter(pk=d["job_id"]).first()
        if job is not None:
            notify(
                recipient_id=job.customer_id,
                kind="bid",
                title=f"New bid on “{job.title}”",
                body=f"{d.get('business_name', 'A tradesperson')} bid {format_money(d['amount'])} (VAT included).",
                url=f"/jobs/{job.pk}/",
                object_key=f"bid:{d['bid_id']}",
            )

    on_bid_revised = _bid

    def on_bid_withdrawn(self, event: Envelope) -> None:
        self._bid(event, event.payload(ev.BidWithdrawnV1).get("reason"))

    def on_bid_shortlisted(self, event: Envelope) -> None:
        self._bid(event, event.payload(ev.BidShortlistedV1).get("reason"))
        self._tell_bidder(event, "bid_shortlisted", "You're on the shortlist", "The customer shortlisted your bid.")

    def on_bid_declined(self, event: Envelope) -> None:
        given = event.payload(ev.BidDeclinedV1).get("reason")
        self._bid(event, given)
        reason = given or "The customer declined your bid."
        self._tell_bidder(event, "bid_declined", "Your bid was not chosen", reason)

    def _tell_bidder(self, event: Envelope, kind: str, title: str, body: str) -> None:
        d = event.payload(_BidRef)
        job = Job.objects.filter(pk=d["job_id"]).first()
        if job is not None:
            notify(
                recipient_id=d["tradesperson_id"],
                kind=kind,
                title=f"{title}: “{job.title}”",
                body=body,
                url=f"/leads/{job.pk}/",
                object_key=f"bid:{d['bid_id']}",
            )

    # --- quotes and payments ------------------------------------------------------------
    # The customer's page (job.<id>) and the quoting tradesperson (user.<id>) hear about a quote;
    # other bidders never do (they learn "not chosen" from bid.declined). Payment news goes to
    # the customer's page and the awarded tradesperson.

    def on_quote_published(self, event: Envelope) -> None:
        d = event.payload(_QuotePublished)
        push.send_on_commit(job_stream(d["job_id"]), event, event.data)
        push.send_on_commit(user_stream(d["tradesperson_id"]), event, event.data)
        if int(d["version"]) > 1:
            job = Job.objects.filter(pk=d["job_id"]).first()
            if job is not None:
                who = d.get("business_name") or "The tradesperson"
                notify(
                    recipient_id=job.customer_id,
                    kind="quote_revised",
                    title=f"{who} revised their quote",
                    body=f"Version {d['version']} of their quote for “{job.title}”. See what changed.",
                    url=f"/jobs/{job.pk}/",
                    object_key=f"quote:{d['bid_id']}:v{d['version']}",
                )

    def on_quote_accepted(self, event: Envelope) -> None:
        d = event.payload(_QuoteParties)
        push.send_on_commit(job_stream(d["job_id"]), event, event.data)
        push.send_on_commit(user_stream(d["tradesperson_id"]), event, event.data)

    def _payment(self, event: Envelope, *, to_tradesperson: bool = True) -> tuple[Job | None, int | None]:
        """Push a payment event to the job's page and the awarded tradesperson; returns (job, tradesperson id).

        ``to_tradesperson=False``: the customer's page only (a declined card is the customer's business).

        The job is still read for the notifications' wording; v2 events name the tradesperson, so
        only v1 events (emitted before it) need the awarded bid joined in.
        """
        parties = event.payload(_PaymentParties)
        job = Job.objects.filter(pk=parties["job_id"]).first()
        tradesperson_id = None
        if job is not None:  # v2 events name the tradesperson; v1 events leave it to the job's stored one
            tradesperson_id = parties.get("tradesperson_id", job.tradesperson_id)
        push.send_on_commit(job_stream(parties["job_id"]), event, event.data)
        if tradesperson_id is not None and to_tradesperson:
            push.send_on_commit(user_stream(tradesperson_id), event, event.data)
        return job, tradesperson_id

    def on_payment_deposit_authorized(self, event: Envelope) -> None:
        job, _ = self._payment(event)
        if job is not None:
            d = event.payload(_PaymentAmount)
            notify(
                recipient_id=job.customer_id,
                kind="payment_deposit_held",
                title=f"Deposit held: {format_money(d['amount'])}",
                body=f"We're holding your deposit for “{job.title}”. It is taken only when the work is done.",
                url=f"/jobs/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:deposit",
            )

    def on_payment_captured(self, event: Envelope) -> None:
        job, tradesperson_id = self._payment(event)
        if job is not None and tradesperson_id is not None:
            d = event.payload(_PaymentCaptured)
            reason = d.get("reason") or "Payment"
            notify(
                recipient_id=tradesperson_id,
                kind="payment_received",
                title="Payment received",
                body=f"{format_money(d['amount'])} for “{job.title}” ({reason.lower()}).",
                url=f"/leads/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:captured:{d['captured_total']}",
            )

    def on_payment_refunded(self, event: Envelope) -> None:
        job, _ = self._payment(event)
        if job is not None:
            d = event.payload(_PaymentRefunded)
            notify(
                recipient_id=job.customer_id,
                kind="payment_refunded",
                title=f"Refund of {format_money(d['amount'])}",
                body=f"Money for “{job.title}” is on its way back to your card.",
                url=f"/jobs/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:refunded:{d['refunded_total']}",
            )

    def on_payment_voided(self, event: Envelope) -> None:
        self._payment(event)

    # Sign-off (payments/approval.py): each party hears what concerns them; both pages refetch their panel.

    def on_payment_approval_requested(self, event: Envelope) -> None:
        job, _ = self._payment(event)
        if job is not None:
            d = event.payload(_SignOffRef)
            hours = settings.PAYMENTS["APPROVAL_WINDOW_HOURS"]
            notify(
                recipient_id=job.customer_id,
                kind="signoff_requested",
                title="Please approve the finished work",
                body=f"“{job.title}” is marked as done. Approve it (you can add a tip) or report a problem; "
                f"if we don't hear from you within {hours} hours, it is approved automatically.",
                url=f"/jobs/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:signoff",
            )

    def on_payment_approved(self, event: Envelope) -> None:
        job, tradesperson_id = self._payment(event)
        if job is not None and tradesperson_id is not None:
            d = event.payload(_Approved)
            tip = Decimal(d["tip"])
            who = "The work was approved automatically" if d["automatically"] else "The customer approved the work"
            notify(
                recipient_id=tradesperson_id,
                kind="signoff_approved",
                title="Work approved" + (f" with a £{tip:,.2f} tip" if tip > 0 else ""),
                body=f"{who} on “{job.title}”. We're taking the payment now; your payout follows.",
                url=f"/leads/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:approved",
            )

    def on_payment_disputed(self, event: Envelope) -> None:
        job, tradesperson_id = self._payment(event)
        if job is not None and tradesperson_id is not None:
            d = event.payload(_SignOffRef)
            notify(
                recipient_id=tradesperson_id,
                kind="signoff_disputed",
                title="The customer reported a problem",
                body=f"The customer reported a problem with “{job.title}”. "
                "Our team is looking into it; your payout waits until it is settled.",
                url=f"/leads/{job.pk}/",
                object_key=f"payment:{d['payment_id']}:disputed",
            )

    def on_payment_dispute_resolved(self, event: Envelope) -> None:
        job, tradesperson_id = self._payment(event)
        if job is None:
            return
        d = event.payload(_DisputeResolved)
        amount = Decimal(d["amount"])
        outcome = {
            "release": "the full price stands",
            "partial_refund": f"£{amount:,.2f} comes off the price",
            "full_refund": "nothing is charged for the job",
        }.get(d["resolution"], "it is settled")
        for recipient, url in ((job.customer_id, f"/jobs/{job.pk}/"), (tradesperson_id, f"/leads/{job.pk}/")):
            if recipient is not None:
                notify(
                    recipient_id=recipient,
                    kind="signoff_resolved",
                    title="The problem has been resolved",
                    body=f"Our team looked into the problem with “{job.title}”: {outcome}.",
                    url=url,
                    object_key=f"payment:{d['payment_id']}:resolved",
                )

    def on_payment_failed(self, event: Envelope) -> None:
        job, tradesperson_id = self._payment(event, to_tradesperson=False)
        if tradesperson_id is not None:
            # The awarded tradesperson's payment panel refetches (it shows "balance failed"), without the why.
            push.send_on_commit(user_stream(tradesperson_id), event, {"job_id": event.data["job_id"], "stage": event.data.get("stage")})
        d = event.payload(_PaymentFailed)
        # A declined deposit is shown on the page that tried it; a failed balance needs the customer later.
        if job is not None and d.get("stage") == "balance":
            notify(
                recipient_id=job.customer_id,
                kind="payment_failed",
                title="Your payment didn't go through",
                body=f"The balance of {format_money(d['amount'])} for “{job.title}” failed: {decline_reason(d.get('reason'))}. "
                "Pay it with another card from the job page.",
                url=f"/jobs/{job.pk}/",
                object_key=f"payment:{d.get('payment_id')}:failed:{event.event_id}",
            )
