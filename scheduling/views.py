"""Browser pages for scheduling: a business's week calendar and its dispatch board.

Both read one :func:`scheduling.dispatch.dispatch_board` (workers x days of a week, in the
owner's time zone, with flags and remaining capacity) and render it; the page's script
(``static/js/calendar.js``) listens to ``calendar.<owner_id>`` and, on any push, refetches the
same URL with ``?fragment=1``, which answers with just the grid, and swaps it in.

Who may see them: tradespeople (the owner of a business, or a worker with their own login, who
sees their owner's business).  Everyone else gets 403, as on the other tradesperson pages.
Who may *run* the dispatch board (drag, Move, book the unassigned queue, set the emergency
reserve): whoever :func:`scheduling.team.dispatch_business` says runs that business; the writes
go through the dispatch API (``static/js/dispatch-board.js``).
The booking section of a job page is ``templates/scheduling/_job_appointment.html`` with
``static/js/booking.js`` and needs no view: it talks to the scheduling API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from marketplace.accounts.models import User
from marketplace.realtime.streams import user_stream

from . import selectors, services
from .dispatch import Board, BoardAppointment, Cell, dispatch_board, unassigned_queue
from .models import Worker
from .streams import calendar_stream
from .team import dispatch_business

# The calendar grid always shows at least these local hours; appointments outside stretch it.
GRID_START_HOUR = 7
GRID_END_HOUR = 19


def free_label(minutes: int) -> str:
    """Remaining capacity for people: "3 h 30 free", "45 min free", "Fully booked"."""
    if minutes <= 0:
        return "Fully booked"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min free"
    return f"{hours} h {rest:02d} free" if rest else f"{hours} h free"


def _viewer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_tradesperson:
        raise PermissionDenied("This page is for tradespeople.")
    return user


def business_owner(user: User) -> User:
    """The business whose schedule ``user`` sees: their own, or their employer's when they are someone's worker."""
    employer = Worker.objects.filter(user=user).exclude(owner=user).select_related("owner").first()
    if employer is not None:
        return employer.owner
    services.worker_for_owner(owner=user)  # a business always has its owner as a worker (as GET /api/workers/ does)
    return user


def _week_start(request: HttpRequest, zone: str) -> date:
    """The Monday of ``?week=YYYY-MM-DD`` (any day of that week), or of this week in the owner's zone."""
    raw = request.GET.get("week", "")
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        day = None
    if day is None:
        day = timezone.now().astimezone(ZoneInfo(zone)).date()
    return day - timedelta(days=day.weekday())


def _worker_filter(request: HttpRequest, owner: User) -> int | None:
    raw = request.GET.get("worker", "")
    if not raw.isdigit():
        return None
    worker_id = int(raw)
    return worker_id if Worker.objects.filter(pk=worker_id, owner=owner).exists() else None


def _url(request: HttpRequest, **changes: Any) -> str:
    params: dict[str, str] = {k: str(request.GET.get(k, "")) for k in request.GET if k != "fragment"}
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        params.pop(k, None)
    query = urlencode(params)
    return request.path + (f"?{query}" if query else "")


def _board(request: HttpRequest) -> tuple[User, User, Board, int | None]:
    viewer = _viewer(request)
    owner = business_owner(viewer)
    worker_id = _worker_filter(request, owner)
    start = _week_start(request, owner.time_zone)
    board = dispatch_board(owner=owner, start_day=start, days=7, worker_id=worker_id)
    return viewer, owner, board, worker_id


def _page_context(request: HttpRequest, viewer: User, owner: User, board: Board, worker_id: int | None) -> dict[str, Any]:
    week = board.week_start
    today = timezone.now().astimezone(ZoneInfo(board.time_zone)).date()
    this_week = today - timedelta(days=today.weekday())
    return {
        "board": board,
        "owner": owner,
        "zone": board.time_zone,
        "week_label": _week_label(board.days),
        "prev_url": _url(request, week=(week - timedelta(days=7)).isoformat()),
        "next_url": _url(request, week=(week + timedelta(days=7)).isoformat()),
        "this_week_url": _url(request, week=None) if week != this_week else "",
        "all_workers": Worker.objects.filter(owner=owner).order_by("id"),
        "worker_id": worker_id,
        "live": {
            "stream": calendar_stream(owner.pk),
            "user_stream": user_stream(viewer.pk),
            "fragment_url": _url(request, fragment="1"),
        },
    }


def _week_label(days: list[date]) -> str:
    first, last = days[0], days[-1]
    if first.month == last.month:
        return f"{first.day}–{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def extra_flags(cell: Cell | None) -> list[str]:
    """A cell's flags that are not one of its appointments' own (those are repeated as "HH:MM Title: flag")."""
    if cell is None:
        return []
    repeated = {f"{a.local_start} {a.job_title}: {flag}" for a in cell.appointments for flag in a.flags}
    return [f for f in cell.flags if f not in repeated]


# --- the week calendar ----------------------------------------------------------------------


@dataclass
class Block:
    """An appointment placed on the time grid (percentages of the day column)."""

    appointment: BoardAppointment
    worker_name: str
    start_label: str
    end_label: str
    top: float = 0.0
    height: float = 0.0
    lane: int = 0
    lanes: int = 1

    @property
    def style(self) -> str:
        width = 100 / self.lanes
        return f"top:{self.top:.3f}%;height:{self.height:.3f}%;left:{self.lane * width:.3f}%;width:{width:.3f}%"


@dataclass
class DayColumn:
    day: date
    is_today: bool
    free_minutes: int
    working_minutes: int
    flags: int
    blocks: list[Block] = field(default_factory=list)

    @property
    def free(self) -> str:
        return free_label(self.free_minutes) if self.working_minutes else "Not working"


def _lay_out(blocks: list[Block]) -> None:
    """Side by side where appointments overlap (different workers at the same time): lanes per cluster of overlaps."""
    blocks.sort(key=lambda b: (b.top, -b.height))
    clusters: list[list[Block]] = []
    cluster_end = -1.0
    for block in blocks:
        if not clusters or block.top >= cluster_end:
            clusters.append([])
            cluster_end = block.top + block.height
        clusters[-1].append(block)
        cluster_end = max(cluster_end, block.top + block.height)
    for cluster in clusters:
        lane_ends: list[float] = []
        for block in cluster:
            free = next((i for i, end in enumerate(lane_ends) if end <= block.top), None)
            if free is None:
                free = len(lane_ends)
                lane_ends.append(0.0)
            block.lane, lane_ends[free] = free, block.top + block.height
        for block in cluster:
            block.lanes = len(lane_ends)


def calendar_grid(board: Board) -> dict[str, Any]:
    """Day columns with positioned blocks, in the owner's zone, and the hours the grid spans."""
    zone = ZoneInfo(board.time_zone)
    names = {w.pk: w.name for w in board.workers}
    today = timezone.now().astimezone(zone).date()
    placed: list[tuple[date, datetime, datetime, BoardAppointment]] = []
    seen: set[int] = set()
    for cell in board.cells.values():
        for appointment in cell.appointments:
            if appointment.appointment_id in seen:
                continue
            seen.add(appointment.appointment_id)
            start, end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
            placed.append((start.date(), start, end, appointment))
    first_hour, last_hour = GRID_START_HOUR, GRID_END_HOUR
    for day, start, end, _ in placed:
        first_hour = min(first_hour, start.hour)
        last_hour = max(last_hour, 24 if end.date() > day else math.ceil(end.hour + end.minute / 60))
    span = (last_hour - first_hour) * 60
    columns = []
    for day in board.days:
        cells = [board.cells[(w.pk, day)] for w in board.workers if (w.pk, day) in board.cells]
        column = DayColumn(
            day=day,
            is_today=day == today,
            free_minutes=sum(c.free_minutes for c in cells),
            working_minutes=sum(c.working_minutes for c in cells),
            flags=sum(len(extra_flags(c)) for c in cells) + sum(1 for c in cells for a in c.appointments if a.has_conflict),
        )
        for appt_day, start, end, appointment in placed:
            if appt_day != day:
                continue
            begin = start.hour * 60 + start.minute - first_hour * 60
            finish = begin + (end - start).total_seconds() / 60
            finish = min(finish, span)
            column.blocks.append(
                Block(
                    appointment=appointment,
                    worker_name=names.get(appointment.worker_id, ""),
                    start_label=f"{start:%H:%M}",
                    end_label=f"{end:%H:%M}",
                    top=100 * max(begin, 0) / span,
                    height=max(100 * (finish - max(begin, 0)) / span, 100 * 20 / span),
                )
            )
        _lay_out(column.blocks)
        columns.append(column)
    hours = [f"{h:02d}:00" for h in range(first_hour, last_hour)]
    conflict_list = [(c.day, b) for c in columns for b in c.blocks if b.appointment.has_conflict]
    conflict_list.sort(key=lambda pair: (pair[0], pair[1].start_label))
    return {"columns": columns, "hours": hours, "hour_count": last_hour - first_hour, "conflict_list": conflict_list}


@login_required
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    viewer, owner, board, worker_id = _board(request)
    context = {**_page_context(request, viewer, owner, board, worker_id), **calendar_grid(board)}
    if request.GET.get("fragment"):
        return render(request, "scheduling/_calendar_grid.html", context)
    return render(request, "scheduling/calendar.html", context)


# --- the dispatch board ---------------------------------------------------------------------


@dataclass
class DispatchCell:
    """One worker's day on the board: appointments, flags not already shown on one, what is left."""

    day: date
    today: bool
    appointments: list[BoardAppointment]
    extra_flags: list[str]
    working_minutes: int
    free_minutes: int

    @property
    def working(self) -> bool:
        return self.working_minutes > 0 or bool(self.appointments)

    @property
    def has_conflict(self) -> bool:
        return bool(self.extra_flags) or any(a.has_conflict for a in self.appointments)

    @property
    def free(self) -> str:
        return free_label(self.free_minutes) if self.working_minutes else "Not working"


@dataclass
class DispatchRow:
    worker: Worker
    cells: list[DispatchCell]

    @property
    def free_minutes(self) -> int:
        return sum(c.free_minutes for c in self.cells)

    @property
    def free(self) -> str:
        return free_label(self.free_minutes)


def dispatch_rows(board: Board, today: date) -> list[DispatchRow]:
    rows = []
    for worker in board.workers:
        cells = []
        for day in board.days:
            cell = board.cells.get((worker.pk, day))
            appointments = list(cell.appointments) if cell else []
            cells.append(
                DispatchCell(
                    day=day,
                    today=day == today,
                    appointments=appointments,
                    extra_flags=extra_flags(cell),
                    working_minutes=cell.working_minutes if cell else 0,
                    free_minutes=cell.free_minutes if cell else 0,
                )
            )
        rows.append(DispatchRow(worker=worker, cells=cells))
    return rows


@login_required
@require_GET
def dispatch(request: HttpRequest) -> HttpResponse:
    viewer, owner, board, worker_id = _board(request)
    today = timezone.now().astimezone(ZoneInfo(board.time_zone)).date()
    rows = dispatch_rows(board, today)
    can_dispatch = dispatch_business(viewer) == owner
    context = {
        **_page_context(request, viewer, owner, board, worker_id),
        "rows": rows,
        "today": today,
        "can_dispatch": can_dispatch,
        "move_days": [board.days[0] + timedelta(days=i) for i in range(len(board.days) + 7)],
        "queue": unassigned_queue(owner=owner) if can_dispatch else [],
        "active_workers": list(Worker.objects.filter(owner=owner, active=True).order_by("id")),
        "reserve_hours": f"{selectors.emergency_reserve_minutes(owner_id=owner.pk) / 60:g}",
        "dispatch_urls": {
            "move": reverse("api-dispatch-move", args=[0]),
            "book": reverse("api-dispatch-book", args=[0]),
        },
        "appointment_count": sum(len(c.appointments) for row in rows for c in row.cells),
        "week_free": free_label(sum(row.free_minutes for row in rows)),
        "calendar_url": reverse("calendar"),
    }
    if request.GET.get("fragment"):
        return render(request, "scheduling/_dispatch_table.html", context)
    return render(request, "scheduling/dispatch.html", context)
