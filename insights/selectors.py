"""Reading the insights read model: totals, a daily series and a per-trade split for a scope and filters.

A scope is the platform (``PLATFORM``, staff) or one tradesperson (their user id).  Days are UTC
days; ``date_from``/``date_to`` are inclusive.  Ratios are computed here from the summed counters,
so they are right for any range (an average of daily averages would not be).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from jobs.models import Trade

from .models import PLATFORM, DailyMetric
from .projections import COUNTERS

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    trade: str = ""

    @classmethod
    def default(cls) -> Filters:
        today = timezone.now().date()  # USE_TZ: now() is UTC
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)


def _rows(scope: int, filters: Filters) -> QuerySet[DailyMetric]:
    rows = DailyMetric.objects.filter(tradesperson_id=scope, day__gte=filters.date_from, day__lte=filters.date_to)
    if filters.trade:
        rows = rows.filter(trade_slug=filters.trade)
    return rows


def _sums(rows: QuerySet[DailyMetric]) -> dict[str, Any]:
    found = rows.aggregate(**{c: Sum(c) for c in COUNTERS})
    return {c: found[c] or 0 for c in COUNTERS}


def _ratio(a: float | Decimal, b: float | Decimal, scale: float = 1.0) -> float | None:
    return round(float(a) / float(b) * scale, 4) if b else None


def derive(s: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's figures from summed counters (None where there is nothing to divide by)."""
    return {
        "jobs_posted": s["jobs_posted"],
        "leads": s["leads"],
        "bids": s["bids"],
        "jobs_bid": s["jobs_bid"],
        "jobs_awarded": s["jobs_awarded"],
        "jobs_completed": s["jobs_completed"],
        "jobs_cancelled": s["jobs_cancelled"],
        "jobs_expired": s["jobs_expired"],
        "avg_minutes_to_first_bid": _ratio(s["first_bid_seconds"], s["jobs_bid"], 1 / 60),
        "win_rate": _ratio(s["jobs_awarded"], s["jobs_bid"]),
        "avg_quote": str(Decimal(s["quote_total"] / s["bids"]).quantize(Decimal("0.01"))) if s["bids"] else None,
        "revenue": str(Decimal(s["revenue"]).quantize(Decimal("0.01"))),
        "platform_fees": str(Decimal(s["platform_fees"]).quantize(Decimal("0.01"))),
        "arrivals": s["arrivals"],
        "on_time_rate": _ratio(s["arrivals_on_time"], s["arrivals"]),
        "early_rate": _ratio(s["arrivals_early"], s["arrivals"]),
        "late_rate": _ratio(s["arrivals_late"], s["arrivals"]),
        "avg_arrival_delay_minutes": _ratio(s["arrival_delay_seconds"], s["arrivals"], 1 / 60),
        "scheduled_hours": round(s["scheduled_seconds"] / 3600, 2),
        "used_hours": round(s["used_seconds"] / 3600, 2),
        "utilisation": _ratio(s["used_seconds"], s["scheduled_seconds"]),
        "repeat_jobs": s["repeat_jobs"],
        "repeat_rate": _ratio(s["repeat_jobs"], s["jobs_completed"]),
    }


def dashboard(*, scope: int, filters: Filters) -> dict[str, Any]:
    """Totals, one entry per day of the range (empty days included, for the charts) and one per trade."""
    rows = _rows(scope, filters)
    by_day: dict[date, dict[str, Any]] = {}
    for day_row in rows.values("day").annotate(**{c: Sum(c) for c in COUNTERS}).order_by("day"):
        by_day[day_row["day"]] = day_row
    empty = dict.fromkeys(COUNTERS, 0)
    series = []
    day = filters.date_from
    while day <= filters.date_to:
        series.append({"day": day.isoformat(), **derive({**empty, **{k: v for k, v in by_day.get(day, {}).items() if k in empty}})})
        day += timedelta(days=1)
    names = dict(Trade.objects.values_list("slug", "name"))
    trades = [
        {"trade": r["trade_slug"], "name": names.get(r["trade_slug"], r["trade_slug"]), **derive({c: r[c] or 0 for c in COUNTERS})}
        for r in rows.values("trade_slug").annotate(**{c: Sum(c) for c in COUNTERS}).order_by("trade_slug")
    ]
    return {
        "scope": "platform" if scope == PLATFORM else "tradesperson",
        "tradesperson_id": None if scope == PLATFORM else scope,
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "trade": filters.trade,
        "days_are": "UTC",
        "totals": derive(_sums(rows)),
        "series": series,
        "by_trade": trades,
    }


CSV_COLUMNS = ["day", "trade", *derive(dict.fromkeys(COUNTERS, 0)).keys()]


def csv_rows(*, scope: int, filters: Filters) -> list[list[Any]]:
    """One row per UTC day and trade that has any activity, with the same figures as the dashboard."""
    out = []
    for r in _rows(scope, filters).order_by("day", "trade_slug").values("day", "trade_slug", *COUNTERS):
        figures = derive({c: r[c] for c in COUNTERS})
        out.append([r["day"].isoformat(), r["trade_slug"], *("" if v is None else v for v in figures.values())])
    return out


def trades_for(*, scope: int) -> list[dict[str, str]]:
    """Trades to filter by: all trades for the platform, the tradesperson's own trades for them."""
    qs = Trade.objects.order_by("name")
    if scope != PLATFORM:
        qs = qs.filter(pros__user_id=scope)
    return [{"slug": s, "name": n} for s, n in qs.values_list("slug", "name")]
