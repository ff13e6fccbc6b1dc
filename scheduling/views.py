"""Browser pages for scheduling: a business's week calendar, its dispatch board, each worker's
availability page (hours, time off, travel time, service area, calendar feed link) and the
calendar feed itself (``/calendar/feed/<secret>.ics``, no login: the secret is the key).

Both read one :func:`scheduling.dispatch.dispatch_board` (workers x days of a week, in the
owner's time zone, with flags and remaining capacity) and render it, with each worker's route for
one day of the week below the grid (``?day=``, default today; see :func:`route_context`,
:mod:`scheduling.route`); the page's script
(``static/js/calendar.js``) listens to ``calendar.<owner_id>`` and, on any push, refetches the
same URL with ``?fragment=1``, which answers with just the grid, and swaps it in.

Who may see them: whoever may run the business's board (``scheduling.team.dispatch_business``: the
owner, or a dispatcher of the business, who sees that business).  Everyone else gets 403.
The board's writes (drag, Move, book the unassigned queue, set the emergency reserve) go through the
dispatch API (``static/js/dispatch-board.js``).
A technician's page is "My day" (``my_day``): their own appointments, today and coming up.
The owner's team page (``team``) and the invitation link (``team_join``) are at the end.

The job page's "Must happen after…" section (``templates/scheduling/_job_dependencies.html``,
data from :func:`scheduling.presenters.dependency_panel`) posts to :func:`job_dependency_add` and
:func:`job_dependency_remove`, which call the services and come back to the job page with the
outcome (or the refusal, a sentence) as a message.

The booking section of a job page is ``templates/scheduling/_job_appointment.html`` with
``static/js/booking.js`` and needs no view: it talks to the scheduling API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from jobs import places
from jobs.models import Job, TradespersonProfile
from jobs.services import pro_service_area_set
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.realtime.streams import user_stream

from . import feeds, presenters, selectors, services
from .dispatch import Board, BoardAppointment, Cell, dispatch_board, unassigned_queue
from .forms import MEMBER_ROLE_CHOICES, HoursForm, InviteForm, JoinForm, ServiceAreaForm, TimeOffForm, TravelBufferForm
from .models import Appointment, Invitation, Worker
from .streams import calendar_stream
from .team import dispatch_business, membership

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
    """The business's owner or a dispatcher (availability pages: ``selectors.workers_managed_by`` says which workers); 403 otherwise."""
    user = request.user
    if not isinstance(user, User) or dispatch_business(user) is None:
        raise PermissionDenied("This page is for the business's owner and dispatchers.")
    return user


def _viewer_and_business(request: HttpRequest) -> tuple[User, User]:
    """The signed-in user and the business whose board they run; 403 for anyone who may not run one."""
    user = request.user
    business = dispatch_business(user)
    if not isinstance(user, User) or business is None:
        raise PermissionDenied("This page is for the business's owner and dispatchers.")
    if business.pk == user.pk:
        services.worker_for_owner(owner=user)  # a business always has its owner as a worker (as GET /api/workers/ does)
    return user, business


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
    viewer, owner = _viewer_and_business(request)
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
    today = timezone.now().astimezone(ZoneInfo(board.time_zone)).date()
    context = {**_page_context(request, viewer, owner, board, worker_id), **calendar_grid(board), **route_context(request, board, today)}
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


def route_context(request: HttpRequest, board: Board, today: date) -> dict[str, Any]:
    """Route panels (one per worker on the board) for one of the board's days: ``?day=``, else today, else its first day."""
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = today
    if day not in board.days:
        day = today if today in board.days else board.days[0]
    routes = selectors.day_routes(owner_id=board.owner_id, day=day, zone=board.time_zone)
    panels = [
        presenters.route_panel(routes.get(w.pk), worker_id=w.pk, worker_name=w.name, day=day, zone=board.time_zone) for w in board.workers
    ]
    return {
        "route_day": day,
        "route_panels": panels,
        "route_days": [(d, _url(request, day=d.isoformat()) + "#routes", d == day) for d in board.days],
    }


@login_required
@require_GET
def dispatch(request: HttpRequest) -> HttpResponse:
    viewer, owner, board, worker_id = _board(request)
    today = timezone.now().astimezone(ZoneInfo(board.time_zone)).date()
    rows = dispatch_rows(board, today)
    can_dispatch = dispatch_business(viewer) == owner
    context = {
        **_page_context(request, viewer, owner, board, worker_id),
        **route_context(request, board, today),
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


# --- the job page's dependency section (customers) ----------------------------------------------


def _customers_job(request: HttpRequest, job_id: int) -> tuple[User, Job]:
    """The signed-in customer's own job; anyone else's is 404, as on the job page itself."""
    user = request.user
    job = Job.objects.filter(pk=job_id, customer_id=user.pk).first() if isinstance(user, User) else None
    if job is None or not isinstance(user, User):
        raise Http404("No such job.")
    return user, job


def _back_to(job: Job) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("job-detail", args=[job.pk]) + "#dependencies")


@login_required
@require_POST
def job_dependency_add(request: HttpRequest, job_id: int) -> HttpResponse:
    """The customer makes this job wait for another of theirs (the form's ``prerequisite``)."""
    user, job = _customers_job(request, job_id)
    raw = request.POST.get("prerequisite", "")
    prerequisite = Job.objects.filter(pk=int(raw), customer_id=user.pk).first() if raw.isdigit() else None
    if prerequisite is None:
        messages.error(request, "Choose which of your jobs has to happen first.")
        return _back_to(job)
    try:
        services.dependency_add(job=job, depends_on=prerequisite, actor=user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        after = f"“{job.title}” now comes after “{prerequisite.title}”"
        messages.success(request, f"{after}: it can only start once that job's appointment ends.")
    return _back_to(job)


@login_required
@require_POST
def job_dependency_remove(request: HttpRequest, job_id: int, prerequisite_id: int) -> HttpResponse:
    """The customer stops this job waiting for ``prerequisite_id``; ``back`` (a job id) says which job page to return to."""
    user, job = _customers_job(request, job_id)
    prerequisite = Job.objects.filter(pk=prerequisite_id, customer_id=user.pk).first()
    back = request.POST.get("back", "")
    page = Job.objects.filter(pk=int(back), customer_id=user.pk).first() if back.isdigit() else None
    if prerequisite is None:
        raise Http404("No such job.")
    try:
        services.dependency_remove(job=job, depends_on=prerequisite, actor=user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{job.title}” no longer waits for “{prerequisite.title}”.")
    return _back_to(page or job)


# --- availability: hours, time off, travel time, service area, calendar feed ---------------------

FEED_URL_SESSION_KEY = "calendar_feed_url_{worker_id}"


def _managed_worker(request: HttpRequest, worker_id: int) -> tuple[User, Worker]:
    """The viewer and the worker they manage (``selectors.workers_managed_by``); anyone else's worker is 404."""
    viewer = _viewer(request)
    worker = selectors.workers_managed_by(viewer).filter(pk=worker_id).first()
    if worker is None:
        raise Http404("No such worker in your business.")
    return viewer, worker


@login_required
@require_GET
def availability_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if viewer.is_tradesperson and not Worker.objects.filter(owner=viewer).exists() and not Worker.objects.filter(user=viewer).exists():
        services.worker_for_owner(owner=viewer)  # a business always has its owner as a worker
    workers = list(selectors.workers_managed_by(viewer).prefetch_related("hours"))
    if len(workers) == 1:
        return redirect("availability-worker", worker_id=workers[0].pk)
    rows = [(w, sum(1 for _ in w.hours.all())) for w in workers]
    return render(request, "scheduling/availability_list.html", {"rows": rows})


def _profile_area(owner: User) -> tuple[Any, dict[str, Any]]:
    """The business profile (or None) and the service area form's initial values."""
    profile = TradespersonProfile.objects.filter(user=owner).first()
    if profile is None:
        return None, {}
    initial: dict[str, Any] = {"place": profile.base_place, "service_radius_km": profile.service_radius_km}
    known = places.by_label(profile.base_place) if profile.base_place else None
    if known is None or (known.latitude, known.longitude) != (profile.base_latitude, profile.base_longitude):
        initial.update(latitude=profile.base_latitude, longitude=profile.base_longitude)
    return profile, initial


def _forms_for(worker: Worker, zone: str, owner: User) -> dict[str, Any]:
    hours = [(h.weekday, h.start, h.end) for h in worker.hours.all()]
    _, area_initial = _profile_area(owner)
    return {
        "hours_form": HoursForm(initial=HoursForm.initial_for(hours)),
        "time_off_form": TimeOffForm(zone=zone),
        "buffer_form": TravelBufferForm(initial={"travel_buffer_minutes": worker.travel_buffer_minutes}),
        "area_form": ServiceAreaForm(initial=area_initial),
    }


@login_required
def availability_worker(request: HttpRequest, worker_id: int) -> HttpResponse:
    """One worker's availability: weekly hours, time off, travel time, the business's service area and the
    worker's calendar feed. Each form posts ``action`` and goes through one service; then the page reloads."""
    viewer, worker = _managed_worker(request, worker_id)
    zone = viewer.time_zone or "UTC"
    forms_ = _forms_for(worker, zone, worker.owner)
    here = reverse("availability-worker", args=[worker.pk])
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _availability_post(request, viewer, worker, zone, action, forms_)
        except ServiceError as exc:
            messages.error(request, exc.message)
            done = None
        else:
            if done is None:
                messages.error(request, "Nothing was saved: see what to fix below.")
        if done is not None:
            messages.success(request, done)
            anchor = {"hours": "#hours", "time_off_add": "#time-off", "time_off_remove": "#time-off", "buffer": "#travel"}
            return redirect(here + anchor.get(action, "#feed" if action.startswith("feed") else "#area"))
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    profile, _ = _profile_area(worker.owner)
    context = {
        **forms_,
        "worker": worker,
        "zone": zone,
        "worker_zone": worker.time_zone,
        "time_off": [
            (t, t.starts_at.astimezone(ZoneInfo(zone)), t.ends_at.astimezone(ZoneInfo(zone)))
            for t in selectors.upcoming_time_off(worker=worker)
        ],
        "profile": profile,
        "is_owner_worker": worker.user_id == worker.owner_id and viewer.pk == worker.owner_id,  # the service area: the owner's alone
        "feed_on": bool(worker.calendar_feed_hash),
        "feed_url": request.session.pop(FEED_URL_SESSION_KEY.format(worker_id=worker.pk), ""),
        "other_workers": selectors.workers_managed_by(viewer).exclude(pk=worker.pk),
        "calendar_url": reverse("calendar") + f"?worker={worker.pk}",
        **_place_context(),
    }
    return render(request, "scheduling/availability.html", context)


def _place_context() -> dict[str, Any]:
    return {"places": places.search("", limit=10)}


def _availability_post(request: HttpRequest, viewer: User, worker: Worker, zone: str, action: str, forms_: dict[str, Any]) -> str | None:
    """Apply one form; the sentence to show on success, or None when the form has errors (``forms_`` then holds it)."""
    if action == "hours":
        hours_form = forms_["hours_form"] = HoursForm(request.POST)
        if not hours_form.is_valid():
            return None
        services.worker_set_hours(worker=worker, actor=viewer, hours=hours_form.cleaned_data["hours"])
        return "Working hours saved. New bookings follow them from now on."
    if action == "time_off_add":
        off_form = forms_["time_off_form"] = TimeOffForm(request.POST, zone=zone)
        if not off_form.is_valid():
            return None
        data = off_form.cleaned_data
        services.time_off_add(worker=worker, actor=viewer, starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"])
        return "Time off added. Those times are no longer offered to customers."
    if action == "time_off_remove":
        raw = request.POST.get("time_off", "")
        if not raw.isdigit():
            return None
        services.time_off_remove(worker=worker, actor=viewer, time_off_id=int(raw))
        return "Time off removed. Those times can be booked again."
    if action == "buffer":
        buffer_form = forms_["buffer_form"] = TravelBufferForm(request.POST)
        if not buffer_form.is_valid():
            return None
        services.worker_set_travel_buffer(worker=worker, actor=viewer, minutes=buffer_form.cleaned_data["travel_buffer_minutes"])
        return "Travel time saved. It applies to appointments booked from now on."
    if action == "area":
        if viewer.pk != worker.owner_id:
            raise PermissionDenied("Only the business's owner sets its service area.")
        area_form = forms_["area_form"] = ServiceAreaForm(request.POST)
        if not area_form.is_valid():
            return None
        latitude, longitude, place = area_form.cleaned_data["location"]
        pro_service_area_set(
            user=worker.owner,
            base_latitude=latitude,
            base_longitude=longitude,
            base_place=place,
            service_radius_km=area_form.cleaned_data["service_radius_km"],
        )
        return "Service area saved. New jobs are matched to it from now on."
    if action == "feed_rotate":
        token = services.calendar_feed_rotate(worker=worker, actor=viewer)
        url = request.build_absolute_uri(reverse("calendar-feed", args=[token]))
        request.session[FEED_URL_SESSION_KEY.format(worker_id=worker.pk)] = url
        return "New calendar link made. Any older link has stopped working."
    if action == "feed_revoke":
        services.calendar_feed_revoke(worker=worker, actor=viewer)
        return "Calendar link turned off. Calendars that used it stop getting updates."
    return None


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A worker's appointments as iCalendar, for a calendar app that subscribes to the secret URL (no login).

    An unknown or revoked secret is 404, as is a deactivated worker's. Never cached by a shared
    cache: the URL is the only key to it.
    """
    worker = selectors.worker_by_feed_token(token)
    if worker is None:
        raise Http404("No such calendar.")
    body = feeds.worker_calendar(
        worker=worker,
        appointments=selectors.feed_appointments(worker=worker),
        now=timezone.now(),
        job_url=lambda job_id: request.build_absolute_uri(reverse("lead-detail", args=[job_id])),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tradelink.ics"'
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, private=True, no_store=True, max_age=0)
    return response


# --- my day (anyone who works for a business) ------------------------------------------------


@dataclass
class DayGroup:
    day: date
    label: str
    appointments: list[Appointment]


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """The viewer's own appointments from today on (``MY_DAY_AHEAD_DAYS``), grouped by local day, each linking its visit."""
    user = request.user
    member = membership(user)
    if not isinstance(user, User) or member is None:
        raise PermissionDenied("This page is for people who work for a business.")
    zone = ZoneInfo(user.time_zone or "UTC")
    start, end = selectors.my_day_window(zone=user.time_zone or "UTC")
    found = selectors.worker_appointments(worker=member.worker, start=start, end=end) if member.worker else []
    today = start.date()
    groups: dict[date, DayGroup] = {}
    for appointment in found:
        day = max(appointment.starts_at.astimezone(zone).date(), today)
        label = "Today" if day == today else "Tomorrow" if day == today + timedelta(days=1) else f"{day:%A} {day.day} {day:%B}"
        groups.setdefault(day, DayGroup(day, label, [])).appointments.append(appointment)
    context = {
        "member": member,
        "business_name": business_name(member.business),
        "today_label": f"{today:%A} {today.day} {today:%B}",
        "has_today": today in groups,
        "groups": list(groups.values()),
        "zone": user.time_zone,
        "ahead_days": (end - start).days,
    }
    return render(request, "scheduling/my_day.html", context)


def business_name(owner: User) -> str:
    profile = getattr(owner, "pro_profile", None)
    return (profile.business_name if profile is not None else "") or owner.display_name or owner.username


# --- the team (the owner) and joining it (an invitation link) -------------------------------


def _team_owner(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_tradesperson:
        raise PermissionDenied("Only the owner of a business manages its team.")
    return user


def _team_action(owner: User, request: HttpRequest) -> str:
    """Carry out the posted action (not the invitation form); the sentence to show. Raises ServiceError."""
    action = request.POST.get("action", "")
    raw = request.POST.get("id", "")
    pk = int(raw) if raw.isdigit() else 0
    if action in ("resend", "revoke"):
        invitation = get_object_or_404(Invitation, pk=pk, owner=owner)
        if action == "resend":
            services.invitation_resend(owner=owner, invitation=invitation)
            return f"A new invitation is on its way to {invitation.email}; the old link no longer works."
        services.invitation_revoke(owner=owner, invitation=invitation)
        return f"The invitation to {invitation.email} was withdrawn."
    worker = get_object_or_404(Worker, pk=pk, owner=owner)
    if action == "role":
        worker = services.member_set_role(owner=owner, worker=worker, role=request.POST.get("role", ""))
        return f"{worker.name} is now a {Worker.Role(worker.role).label.lower()}."
    if action == "deactivate":
        services.member_deactivate(owner=owner, worker=worker)
        return f"{worker.name} was deactivated and can no longer sign in."
    raise ServiceError("That is not something the team page can do.", code="bad_action", kind=Refusal.INVALID)


@login_required
def team(request: HttpRequest) -> HttpResponse:
    """The owner's team: members with their roles, invitations waiting, and a form to invite someone."""
    owner = _team_owner(request)
    services.worker_for_owner(owner=owner)  # the owner is always on their own team
    invite_posted = request.method == "POST" and request.POST.get("action") == "invite"
    form = InviteForm(request.POST if invite_posted else None)
    if request.method == "POST":
        try:
            if invite_posted:
                if form.is_valid():
                    data = form.cleaned_data
                    invitation = services.invitation_send(owner=owner, email=data["email"], name=data["name"], role=data["role"])
                    messages.success(request, f"Invitation sent to {invitation.email}. The link works for {_ttl_label()}.")
                    return redirect("team")
            else:
                messages.success(request, _team_action(owner, request))
                return redirect("team")
        except ServiceError as exc:
            if not invite_posted:
                messages.error(request, exc.message)
                return redirect("team")
            form.add_error("email" if exc.code in ("email_taken", "already_invited") else None, exc.message)
    context = {
        "form": form,
        "members": selectors.team_of(owner_id=owner.pk),
        "invitations": selectors.pending_invitations(owner_id=owner.pk),
        "role_choices": MEMBER_ROLE_CHOICES,
        "ttl": _ttl_label(),
        "now": timezone.now(),
    }
    return render(request, "scheduling/team.html", context)


def _ttl_label() -> str:
    hours = settings.TEAM_INVITATION_TTL_HOURS
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours"


def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: the person chooses a password, gets their login and is signed in on their first page."""
    invitation = services.invitation_for_token(token)
    problem = services.invitation_problem(invitation)
    form = JoinForm(request.POST or None)
    if not problem and request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(token=token, password=form.cleaned_data["password1"])
        except ServiceError as exc:
            if exc.code == "weak_password":
                form.add_error("password1", exc.message)
            else:
                problem = exc.message
        else:
            logout(request)  # whoever was signed in on this browser is not the person joining
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {business_name(user.worker.owner)}! You are signed in.")
            return redirect("dispatch" if dispatch_business(user) is not None else "my-day")
    context = {
        "form": form,
        "problem": problem,
        "invitation": invitation if not problem else None,
        "business_name": business_name(invitation.owner) if invitation is not None else "",
    }
    return render(request, "scheduling/team_join.html", context, status=410 if problem and invitation is not None else 200)
