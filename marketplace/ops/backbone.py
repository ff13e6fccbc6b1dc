"""The backbone at a glance for staff (``/admin/backbone/``): outbox, consumer lag, dead letters.

Each figure is judged against ``settings.BACKBONE_ALERTS`` ((amber at, red at) per figure):
green below amber, amber from it, red from the red threshold.  The same figures are on
``/metrics`` for Prometheus (marketplace/ops/metrics.py); this page is for a person, with
a replay action for dead letters (``marketplace.events.replay.redrive``: re-apply with the
consumer's current code, after a fix).  Nobody has to watch it: the clock pages staff on the
same figures (``alerts/backbone.py``, thresholds in ``settings.BACKBONE_PAGING``), and
``ops/prometheus/rules.yml`` does the same for Alertmanager.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from marketplace.events.models import DeadLetter, OutboxEvent
from marketplace.events.registry import CONSUMERS
from marketplace.events.replay import redrive

from .metrics import consumer_lag

log = logging.getLogger(__name__)

GREEN, AMBER, RED = "green", "amber", "red"
_SEVERITY = {GREEN: 0, AMBER: 1, RED: 2}


def level(name: str, value: float) -> str:
    """green / amber / red for ``value`` against ``settings.BACKBONE_ALERTS[name]``."""
    amber, red = settings.BACKBONE_ALERTS[name]
    if value >= red:
        return RED
    if value >= amber:
        return AMBER
    return GREEN


def worst(levels: list[str]) -> str:
    return max(levels, key=_SEVERITY.__getitem__, default=GREEN)


@dataclass
class Figure:
    name: str
    label: str
    value: float
    level: str
    threshold: tuple[float, float]


@dataclass
class GroupLag:
    consumer: str
    total: int
    level: str
    partitions: list[tuple[str, int, int]] = field(default_factory=list)  # (topic, partition, behind)


@dataclass
class Backbone:
    outbox_backlog: Figure
    outbox_age: Figure
    dead_letters: Figure
    lag: list[GroupLag]
    lag_error: str
    lag_read_at: float
    dead_letters_by_source: list[dict[str, Any]]
    recent_dead_letters: list[DeadLetter]

    @property
    def figures(self) -> list[Figure]:
        return [self.outbox_backlog, self.outbox_age, self.dead_letters]

    @property
    def overall(self) -> str:
        return worst([self.outbox_backlog.level, self.outbox_age.level, self.dead_letters.level, *(g.level for g in self.lag)])


def _figure(name: str, label: str, value: float) -> Figure:
    return Figure(name, label, value, level(name, value), settings.BACKBONE_ALERTS[name])


_lag_cache: dict[str, Any] = {"at": 0.0, "rows": [], "error": ""}
LAG_UNKNOWN = (
    "Kafka did not answer, so consumer lag is unknown right now. "
    "The web process's log says why (its line starts “backbone: could not read consumer lag”); refresh once the broker is back."
)


def read_lag(*, fresh: bool = False, timeout: float = 3.0) -> tuple[list[tuple[str, str, int, int]], str, float]:
    """Consumer lag rows, an error text if the broker could not be asked, and when they were read.

    Cached for ``METRICS['LAG_CACHE_S']`` (asking the broker takes one probe per group).
    """
    if fresh or time.monotonic() - _lag_cache["at"] >= settings.METRICS["LAG_CACHE_S"]:
        try:
            _lag_cache.update(rows=consumer_lag(timeout=timeout), error="")
        except Exception as exc:  # the broker being away must not break the page
            log.warning("backbone: could not read consumer lag: %s", exc)
            # A sentence for the page; the exception's text is for the log line above, not for a person.
            _lag_cache.update(rows=[], error=LAG_UNKNOWN)
        _lag_cache["at"] = time.monotonic()
    return _lag_cache["rows"], _lag_cache["error"], _lag_cache["at"]


def backbone(*, fresh_lag: bool = False) -> Backbone:
    pending = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(count=Count("id"), oldest=Min("created_at"))
    age = max(0.0, (timezone.now() - pending["oldest"]).total_seconds()) if pending["oldest"] else 0.0  # clock skew
    letters = DeadLetter.objects.filter(status=DeadLetter.Status.PENDING)
    rows, error, read_at = read_lag(fresh=fresh_lag)
    groups: dict[str, GroupLag] = {name: GroupLag(name, 0, GREEN) for name in CONSUMERS}
    for group, topic, partition, behind in rows:
        entry = groups.setdefault(group, GroupLag(group, 0, GREEN))
        entry.partitions.append((topic, partition, behind))
        entry.total += behind
    for entry in groups.values():
        entry.level = level("CONSUMER_LAG", entry.total)
        entry.partitions.sort()
    return Backbone(
        outbox_backlog=_figure("OUTBOX_BACKLOG", "Outbox backlog (unpublished rows)", pending["count"]),
        outbox_age=_figure("OUTBOX_AGE_S", "Oldest unpublished row (seconds)", round(age, 1)),
        dead_letters=_figure("DEAD_LETTERS", "Dead letters pending", letters.count()),
        lag=sorted(groups.values(), key=lambda g: (-_SEVERITY[g.level], g.consumer)) if rows else [],
        lag_error=error,
        lag_read_at=read_at,
        dead_letters_by_source=list(
            letters.values("consumer", "topic")
            .annotate(count=Count("id"), latest=Max("created_at"))
            .order_by("-count", "consumer", "topic")
        ),
        recent_dead_letters=list(letters.order_by("-created_at")[:50]),
    )


# --- the page -----------------------------------------------------------------------------

REPLAY_PERMISSION = "events.change_deadletter"


def can_replay(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser or request.user.has_perm(REPLAY_PERMISSION))


@require_http_methods(["GET", "POST"])
def backbone_page(request: HttpRequest) -> HttpResponse:
    """Staff only (admin_view sends others to the admin login); replaying needs change permission on dead letters."""
    if not (request.user.is_superuser or request.user.has_perm("events.view_deadletter")):
        raise PermissionDenied
    if request.method == "POST":
        return _replay(request)
    view = backbone(fresh_lag=request.GET.get("refresh") == "1")
    context = {
        **admin.site.each_context(request),
        "title": "Event backbone",
        "b": view,
        "can_replay": can_replay(request),
        "lag_age_s": round(time.monotonic() - view.lag_read_at, 1),
    }
    return render(request, "admin/ops/backbone.html", context)


def _replay(request: HttpRequest) -> HttpResponse:
    if not can_replay(request):
        raise PermissionDenied
    letters = DeadLetter.objects.filter(status=DeadLetter.Status.PENDING)
    if request.POST.get("all") == "1":
        consumer, topic = request.POST.get("consumer", ""), request.POST.get("topic", "")
        letters = letters.filter(consumer=consumer, topic=topic) if consumer else letters
    else:
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        letters = letters.filter(id__in=ids)
    ok = failed = 0
    for letter in letters.order_by("topic", "partition", "offset")[:500]:  # one page of work; press again for more
        succeeded, message = redrive(letter)
        ok += succeeded
        failed += not succeeded
        if not succeeded:
            log.warning("backbone: replay of dead letter %d failed: %s", letter.pk, message)
    level_ = messages.SUCCESS if not failed else messages.WARNING
    messages.add_message(request, level_, f"Replayed: {ok}; still failing: {failed}.")
    return HttpResponseRedirect(reverse("admin-backbone"))


# admin_view: anonymous and non-staff users go to the admin login; never cached; CSRF-protected POST.
backbone_view = admin.site.admin_view(backbone_page)
