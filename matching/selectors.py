"""The candidate query: who could be offered a job (trade, radius band, accepting leads, not offered yet),
and whether their business has room in the job's window."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from jobs.models import Job, Lead, ProStats, TradespersonProfile, average_response_minutes
from jobs.questions import answer_tokens
from marketplace.accounts.models import User
from scheduling.capacity import pro_has_capacity

KM_PER_DEGREE_LATITUDE = Decimal("111.0")


@dataclass(frozen=True)
class MatchCandidate:
    """A tradesperson matching could offer a job to: where they work from, how far they go, and their stats
    (rating and mean response time; None for someone without reviews or bids yet)."""

    user_id: int
    service_radius_km: int
    base_latitude: Decimal
    base_longitude: Decimal
    rating_average: Decimal | None
    response_minutes: float | None


@functools.cache
def _match_candidates_sql() -> str:
    """Built from the models' own table and column names, once per process."""
    through = TradespersonProfile.trades.through._meta
    profile, lead, stats = TradespersonProfile._meta, Lead._meta, ProStats._meta
    return f"""
        SELECT p.user_id, p.service_radius_km, p.base_latitude, p.base_longitude,
               s.rating_average, s.bids_placed, s.response_seconds_total
        FROM {profile.db_table} p
        JOIN {through.db_table} t ON t.{through.get_field("tradespersonprofile").column} = p.id
        JOIN {User._meta.db_table} u ON u.id = p.user_id
        LEFT JOIN {stats.db_table} s ON s.tradesperson_id = p.user_id
        WHERE t.{through.get_field("trade").column} = %(trade_id)s
          AND p.is_accepting_leads AND u.is_active
          AND abs(p.base_latitude - %(latitude)s) <= p.service_radius_km * %(degrees_per_km)s
          AND p.user_id <> %(customer_id)s
          AND NOT (p.declined_answers ?| %(answer_tokens)s::text[])
          AND NOT EXISTS (
              SELECT 1 FROM {lead.db_table} l
              WHERE l.job_id = %(job_id)s AND l.tradesperson_id = p.user_id AND l.withdrawn_at IS NULL
          )
    """


def match_candidates(*, job: Job, radius_factor: float = 1.0) -> list[MatchCandidate]:
    """Tradespeople of the job's trade who accept leads, are active, are not its customer, have no
    live lead for it (a withdrawn lead may be offered again), do not decline any of its answers
    (``TradespersonProfile.declined_answers``), and whose service radius (times ``radius_factor``)
    reaches the job's latitude: a band, so matching never loads a whole country's tradespeople to
    measure distances in Python (the exact distance check stays with the caller).  With their
    ProStats, in one statement.

    Plain SQL: this runs for every posted job on the lead's critical path, and the ORM spent more CPU
    compiling its four queries than Postgres spent running them (BENCHMARKS.md).
    """
    params: dict[str, int | Decimal | list[str]] = {
        "trade_id": job.trade_id,
        "latitude": job.latitude,
        "degrees_per_km": Decimal(str(radius_factor)) / KM_PER_DEGREE_LATITUDE,
        "customer_id": job.customer_id,
        "job_id": job.pk,
        # The job's picked answers ("heating_fuel=oil"): a business that declines any of them is not a candidate.
        "answer_tokens": answer_tokens(job.answers),
    }
    with connection.cursor() as cursor:
        cursor.execute(_match_candidates_sql(), params)
        rows = cursor.fetchall()
    return [
        MatchCandidate(
            user_id=user_id,
            service_radius_km=radius,
            base_latitude=latitude,
            base_longitude=longitude,
            rating_average=rating,
            response_minutes=average_response_minutes(seconds, bids),
        )
        for user_id, radius, latitude, longitude, rating, bids, seconds in rows
    ]


def pro_is_available(*, profile: TradespersonProfile | MatchCandidate, job: Job) -> bool:
    """Whether the tradesperson's business has room in the job's preferred window.

    A job with no window counts as available.  Otherwise this reads scheduling's capacity
    read model (:func:`scheduling.capacity.pro_has_capacity`): at least one active worker needs
    a free stretch of ``CAPACITY_MIN_FREE_MINUTES`` (an hour) inside the window, free meaning
    working hours minus appointments, their travel buffers and time off; so a fully booked
    tradesperson is not offered leads for that window.  A business with no active workers
    counts as available, and so does a worker day not projected yet (plain hours).
    The model is eventually consistent: a booking made moments ago may not be counted yet.
    """
    if job.window_start is None or job.window_end is None:
        return True
    return pro_has_capacity(owner_id=profile.user_id, window_start=job.window_start, window_end=job.window_end)


def live_lead_count(*, job_id: int) -> int:
    """Leads of the job not withdrawn: what the per-job cap (``MATCHING['LEADS_PER_JOB']``) counts."""
    return Lead.objects.filter(job_id=job_id, withdrawn_at__isnull=True).count()


def live_leads_with_fit(*, job: Job) -> list[tuple[Lead, TradespersonProfile | None, bool]]:
    """The job's live leads, each with its tradesperson's profile (None if gone) and whether they bid.

    For re-matching after an edit: matching judges each against the job as it now is.
    """
    leads = list(Lead.objects.filter(job=job, withdrawn_at__isnull=True).order_by("pk"))
    profiles = {
        p.user_id: p
        for p in TradespersonProfile.objects.filter(user_id__in=[lead.tradesperson_id for lead in leads]).prefetch_related("trades")
    }
    bidders = set(job.bids.values_list("tradesperson_id", flat=True))
    return [(lead, profiles.get(lead.tradesperson_id), lead.tradesperson_id in bidders) for lead in leads]
