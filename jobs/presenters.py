"""One shape per thing shown: the lead card, the bid card, the board card and a job's status.

Each function here builds the JSON a page's script, a live push and the API all receive for
one thing, so the three never drift apart: the pages render them (``jobs/views.py``), the Kafka
handlers push them (``jobs/projections.py``, ``matching/projections.py``) and the API's output
serializers add them to what they return (``jobs/serializers.py``, through
``marketplace.serializer_fields.Presented``).  Every value is JSON already (strings for money,
ISO 8601 for times, as DRF writes them), and every status comes with its label, so no script
keeps its own copy of the labels.

``*_display`` fields are a time formatted for people in the active time zone: the viewer's on
pages and in the API (the middleware activates it), the default zone in a push (the scripts
format the ISO value in the viewer's zone with ``TL.when`` instead).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from marketplace.money import PENNY

from .models import Bid, Job, JobBoardEntry, Lead, TradespersonProfile

DISPLAY_DATETIME = "D j M Y, H:i"

# How the tradesperson's list of leads names the state of their bid (the bid's own label is the customer's word).
BID_BADGES: dict[str, str] = {
    Bid.Status.ACTIVE: "Bid placed",
    Bid.Status.SHORTLISTED: "Shortlisted",
    Bid.Status.DECLINED: "Not chosen",
    Bid.Status.WITHDRAWN: "Withdrawn",
    Bid.Status.ACCEPTED: "Won",
}


def iso(value: datetime | None) -> str | None:
    """A time as DRF's ``DateTimeField`` writes it: in the active zone, ``Z`` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def when(value: datetime | None) -> str:
    """A time as pages show it ("Fri 21 Nov 2025, 14:05"), in the active zone; "" for none."""
    return date_filter(timezone.localtime(value), DISPLAY_DATETIME) if value else ""


def money(value: Decimal) -> str:
    """Pounds with pence, as the API writes them ("90.00", even for an amount just set to ``Decimal(90)``)."""
    return str(Decimal(value).quantize(PENNY))


def _label(choices: type[Job.Status] | type[Bid.Status], status: str) -> str:
    try:
        return str(choices(status).label)
    except ValueError:  # a status this code does not know yet (a newer producer): show it as it is
        return status


def job_status(status: str) -> dict[str, str]:
    """A job's status with its label: ``{"status": "in_progress", "status_label": "In progress"}``."""
    return {"status": status, "status_label": _label(Job.Status, status)}


def bid_status(status: str) -> dict[str, str]:
    """A bid's status with its label (the customer's word) and its badge (the bidder's word in their leads)."""
    return {"status": status, "status_label": _label(Bid.Status, status), "badge_label": BID_BADGES.get(status, _label(Bid.Status, status))}


def lead_badge(job_status_value: str, bid_status_value: str | None) -> dict[str, str]:
    """What a lead in the list shows: the state of your bid if you bid, else the job's."""
    if bid_status_value:
        return {"badge_status": bid_status_value, "badge_label": bid_status(bid_status_value)["badge_label"]}
    if job_status_value == Job.Status.OPEN:
        return {"badge_status": "open", "badge_label": "Not bid yet"}
    return {"badge_status": job_status_value, "badge_label": _label(Job.Status, job_status_value)}


# --- leads --------------------------------------------------------------------------------


def lead_facts(lead: Lead, job: Job) -> dict[str, Any]:
    """What a lead offers: the job as the tradesperson first hears of it (also the heart of ``lead.offered``)."""
    return {
        "lead_id": lead.pk,
        "job_id": job.pk,
        "title": job.title,
        "trade": job.trade.name,
        "place": job.place,
        "distance_km": str(lead.distance_km),
        "budget_min": money(job.budget_min),
        "budget_max": money(job.budget_max),
        "is_emergency": job.is_emergency,
    }


def lead_card(lead: Lead, job: Job, bid: Bid | None) -> dict[str, Any]:
    """A lead in the tradesperson's list: the facts, when it came, whether they opened it and its badge.

    ``bid`` is the tradesperson's bid on the job, if any (it decides the badge).
    """
    withdrawn = lead.withdrawn_at is not None
    badge = lead_badge(job.status, bid.status if bid else None)
    if withdrawn and bid is None:
        badge = {"badge_status": "withdrawn", "badge_label": "No longer matches you"}
    return {
        **lead_facts(lead, job),
        "offered_at": iso(lead.offered_at),
        "offered_display": when(lead.offered_at),
        "seen": lead.seen_at is not None,
        "job_status": job.status,
        "job_status_label": _label(Job.Status, job.status),
        "bid_status": bid.status if bid else None,
        "bid_status_label": _label(Bid.Status, bid.status) if bid else None,
        # Matching took the lead back (the job changed): the sentence the lead page shows.
        "withdrawn": withdrawn,
        "withdrawn_reason": lead.get_withdrawn_reason_display() if withdrawn else "",
        **badge,
        "url": reverse("lead-detail", args=[job.pk]),
    }


# --- bids ---------------------------------------------------------------------------------


def bid_card(bid: Bid, *, previous_amount: Decimal | None = None) -> dict[str, Any]:
    """A bid as the job's customer sees it in the list, and as its bidder sees its state.

    ``previous_amount``: the amount before the last revision (quotes know it; ``None`` for none).
    Reads ``bid.tradesperson.pro_profile``: select it with the bid.
    """
    profile: TradespersonProfile | None = getattr(bid.tradesperson, "pro_profile", None)
    return {
        "bid_id": bid.pk,
        "job_id": bid.job_id,
        "tradesperson_id": bid.tradesperson_id,
        "business_name": profile.business_name if profile is not None else str(bid.tradesperson),
        "amount": money(bid.amount),
        "message": bid.message,
        "earliest_start": iso(bid.earliest_start),
        "earliest_start_display": when(bid.earliest_start),
        **bid_status(bid.status),
        "revision": bid.revision,
        "previous_amount": money(previous_amount) if previous_amount is not None else None,
    }


# --- answers to trade questions -----------------------------------------------------------


def answers_line(answers: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A job's answers as a card shows them in one line: label and words, photos left to the job's page."""
    return [{"label": a["label"], "text": a["text"]} for a in answers if a.get("kind") != "photo"]


# --- the board ----------------------------------------------------------------------------


def board_card(entry: JobBoardEntry, *, lead_job_ids: frozenset[int] | set[int] = frozenset()) -> dict[str, Any]:
    """An open job on the board (``JobBoardEntry``, the read model).

    ``lead_job_ids``: the jobs offered to the viewer, which link to their lead page
    (``lead_url`` is null otherwise, and always in a push to everyone).
    ``distance_km`` is set when the board was searched from a location.
    """
    distance = getattr(entry, "distance_km", None)
    return {
        "job_id": entry.job_id,
        "title": entry.title,
        "description": entry.description,
        "trade": {"slug": entry.trade_slug, "name": entry.trade_name},
        "place": entry.place,
        "latitude": entry.latitude,
        "longitude": entry.longitude,
        "budget_min": money(entry.budget_min),
        "budget_max": money(entry.budget_max),
        "is_emergency": entry.is_emergency,
        **job_status(entry.status),
        "bid_count": entry.bid_count,
        "posted_at": iso(entry.posted_at),
        "posted_display": when(entry.posted_at),
        "answers": answers_line(entry.answers),
        "distance_km": None if distance is None else round(distance, 2),
        "lead_url": reverse("lead-detail", args=[entry.job_id]) if entry.job_id in lead_job_ids else None,
    }


def direct_request_note(job: Job, business_name: str) -> str:
    """The customer's sentence about a direct request ("request a quote from this pro"): who has it
    and until when (in the active time zone), or that others are invited now. "" for other jobs, and once
    the job is no longer open (the bids and the appointment say the rest)."""
    if job.requested_pro_id is None or job.status != Job.Status.OPEN:
        return ""
    if job.exclusive_until is not None:
        until = date_filter(timezone.localtime(job.exclusive_until), DISPLAY_DATETIME)
        return f"Sent to {business_name} first; others will be invited if they don't reply by {until}."
    return direct_request_opened_note(business_name, reason="")


def direct_request_opened_note(business_name: str, *, reason: str) -> str:
    """What the customer reads once a direct request is open to others (``job.direct_request_opened``)."""
    if reason == "declined":
        return f"{business_name} can't take this job, so we've invited other tradespeople nearby."
    if reason == "no_reply":
        return f"{business_name} didn't reply in time, so we've invited other tradespeople nearby too."
    return f"You asked {business_name} first; other tradespeople nearby are invited too."
