"""What scheduling shows people, each in one shape built once from the selectors.

- The job page's "Must happen after…" section (:func:`dependency_panel`).
- A worker's day route: the dispatch board's route panels and the route API (:func:`route_panel`). Times are
  shown in the business owner's zone (the board's); travel is "~15 min" per leg, with a sentence where a gap
  is shorter than the drive and "Suggested order saves N min" when reordering the day (see
  :mod:`scheduling.route`) cuts travel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from jobs.models import Job

from . import selectors
from .route import Route, Stop
from .serializers import utc_iso


@dataclass(frozen=True)
class LinkRow:
    job_id: int
    title: str
    when: str  # the booked time in the viewer's zone, or a sentence saying there is none
    removable: bool  # the customer may still unlink it (both ends are still to be done)


def _when(linked: selectors.LinkedJob, zone: str) -> str:
    if linked.job.status in selectors.SETTLED_STATUSES:
        return linked.job.get_status_display()
    if linked.starts_at is None or linked.ends_at is None:
        return "Not scheduled yet"
    tz = ZoneInfo(zone)
    return f"{linked.starts_at.astimezone(tz):%a %d %b, %H:%M}–{linked.ends_at.astimezone(tz):%H:%M}"


def dependency_panel(*, job: Job, zone: str) -> dict[str, Any]:
    """The section's data for the job's customer: the jobs this one comes after, those that come after it, and the choices.

    ``can_add`` is False once the job is under way or closed (the service would refuse); the
    section is then shown only if links exist.
    """
    links = selectors.job_links(job_id=job.pk)
    open_job = job.status in selectors.LINKABLE_STATUSES
    prerequisites = [LinkRow(item.job.pk, item.job.title, _when(item, zone), removable=open_job) for item in links.prerequisites]
    dependents = [
        LinkRow(item.job.pk, item.job.title, _when(item, zone), removable=item.job.status in selectors.LINKABLE_STATUSES)
        for item in links.dependents
    ]
    candidates = selectors.prerequisite_candidates(job=job) if open_job else []
    return {
        "show": open_job or bool(prerequisites or dependents),
        "can_add": open_job and bool(candidates),
        "candidates": candidates,
        "prerequisites": prerequisites,
        "dependents": dependents,
    }


def minutes_label(minutes: int) -> str:
    """ "45 min", "1 h", "1 h 20 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@dataclass(frozen=True)
class RouteStop:
    appointment_id: int
    job_title: str
    place: str  # the district ("Islington N1"), or the job title when it has none
    starts_at: str  # UTC ISO 8601
    local_start: str  # "HH:MM" in the zone
    local_end: str
    confirmed: bool  # the customer confirmed this time: a suggested order keeps it
    travel_minutes: int | None  # from the previous stop; None for the first
    warning: str  # a sentence when the gap before it is shorter than the drive, else ""


@dataclass(frozen=True)
class RoutePanel:
    worker_id: int
    worker_name: str
    day: date
    time_zone: str
    stops: list[RouteStop]  # booked (time) order
    travel_minutes: int
    suggested: list[RouteStop]  # the order that cuts travel (travel_minutes from the previous suggested stop; no warnings)
    suggested_travel_minutes: int
    saves_minutes: int
    method: str

    @property
    def travel_label(self) -> str:
        return minutes_label(self.travel_minutes)

    @property
    def suggestion(self) -> str:
        """ "Suggested order saves 15 min" or ""."""
        return f"Suggested order saves {minutes_label(self.saves_minutes)}" if self.saves_minutes else ""


def _stop(stop: Stop, zone: ZoneInfo, travel: int | None, warning: str = "") -> RouteStop:
    return RouteStop(
        appointment_id=stop.key,
        job_title=stop.title,
        place=stop.label,
        starts_at=utc_iso(stop.starts_at),
        local_start=stop.starts_at.astimezone(zone).strftime("%H:%M"),
        local_end=stop.ends_at.astimezone(zone).strftime("%H:%M"),
        confirmed=stop.fixed,
        travel_minutes=travel,
        warning=warning,
    )


def route_panel(route: Route | None, *, worker_id: int, worker_name: str, day: date, zone: str) -> RoutePanel:
    """The panel for one worker's ``day`` (``route`` None: nothing booked that day)."""
    tz = ZoneInfo(zone)
    if route is None:
        return RoutePanel(worker_id, worker_name, day, zone, [], 0, [], 0, 0, "none")
    stops = [_stop(route.stops[0], tz, None)] if route.stops else []
    for leg in route.legs:
        warning = (
            f"Needs ~{leg.minutes} min to get here from {leg.origin.label}; only {leg.gap_minutes} min between jobs."
            if leg.too_tight
            else ""
        )
        stops.append(_stop(leg.destination, tz, leg.minutes, warning))
    suggested = [_stop(route.suggested[0], tz, None)] if route.suggested else []
    suggested += [_stop(leg.destination, tz, leg.minutes) for leg in route.suggested_legs]
    return RoutePanel(
        worker_id=worker_id,
        worker_name=worker_name,
        day=day,
        time_zone=zone,
        stops=stops,
        travel_minutes=route.travel_minutes,
        suggested=suggested if route.has_suggestion else [],
        suggested_travel_minutes=route.suggested_travel_minutes,
        saves_minutes=route.saves_minutes,
        method=route.method,
    )


def _stop_json(stop: RouteStop) -> dict[str, Any]:
    return {
        "appointment_id": stop.appointment_id,
        "job_title": stop.job_title,
        "place": stop.place,
        "starts_at": stop.starts_at,
        "local_start": stop.local_start,
        "local_end": stop.local_end,
        "confirmed": stop.confirmed,
        "travel_minutes": stop.travel_minutes,
        "warning": stop.warning,
    }


def route_json(panel: RoutePanel) -> dict[str, Any]:
    """The panel as plain JSON types (the route API's body)."""
    return {
        "worker_id": panel.worker_id,
        "worker_name": panel.worker_name,
        "date": panel.day.isoformat(),
        "time_zone": panel.time_zone,
        "stops": [_stop_json(s) for s in panel.stops],
        "travel_minutes": panel.travel_minutes,
        "suggested_order": [_stop_json(s) for s in panel.suggested],
        "suggested_travel_minutes": panel.suggested_travel_minutes,
        "saves_minutes": panel.saves_minutes,
        "suggestion": panel.suggestion,
        "method": panel.method,
    }
