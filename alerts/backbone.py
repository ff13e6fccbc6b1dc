"""Paging on the event backbone: the clock turns the backbone page's figures into staff alerts.

Each tick (:func:`backbone_check`) reads the figures the staff page (``/admin/backbone/``) and
``/metrics`` show (``marketplace/ops/figures.py``, consumer lag as ``backbone.read_lag`` asks Kafka):

- ``consumer_lag:<group>``: messages the group is behind, summed over its partitions (one alert per group);
- ``outbox_age``: seconds the oldest unpublished outbox row has waited;
- ``dead_letter_growth``: dead letters recorded in the last ``DEAD_LETTER_WINDOW_S`` (re-driving does not hide it);
- ``relay_stalled``: seconds rows have waited while the relay published nothing at all.

Against ``settings.BACKBONE_PAGING['FIGURES']`` (raise at warning/critical, clear below lower levels):
a condition goes up a level once its figure has stayed at that level's raise threshold for ``FOR_S``
(a spike shorter than that pages nobody), and comes down only below the clear level (a figure hovering
around the raise threshold pages once).  Going up from ``ok`` raises one alert through the staff-alerts
pipeline (the admin inbox, the live bell, the webhook); ``warning`` -> ``critical`` escalates that same
alert; back to ``ok`` resolves it.  The webhook hears each of the three moments once, after the commit.

Each condition's row is locked while it is judged, so two clocks page once.  When Kafka does not answer,
the lag conditions are left as they are (neither raised nor resolved): that is readiness's business.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.events.registry import CONSUMERS
from marketplace.ops import figures
from marketplace.ops.backbone import read_lag

from .models import Alert, BackboneCondition
from .services import ESCALATED, RESOLVED, alert_raise, alerts_resolve, plan_webhook

log = logging.getLogger(__name__)

Level = BackboneCondition.Level
_RANK: dict[str, int] = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}


@dataclass(frozen=True)
class Thresholds:
    raise_at: tuple[float, float]  # (warning, critical)
    clear_below: tuple[float, float]  # (warning, critical): lower than the raise levels


def thresholds(figure: str) -> Thresholds:
    """``BACKBONE_PAGING['FIGURES'][figure]``, checked: each clear level must be below its raise level."""
    conf = settings.BACKBONE_PAGING["FIGURES"][figure]
    t = Thresholds(tuple(conf["raise"]), tuple(conf["clear"]))
    if not (t.clear_below[0] < t.raise_at[0] <= t.raise_at[1] and t.clear_below[1] < t.raise_at[1]):
        raise ImproperlyConfigured(
            f"BACKBONE_PAGING {figure}: need clear (warning, critical) below raise (warning <= critical), got {conf!r}"
        )
    return t


def judge(level: str, value: float, t: Thresholds) -> tuple[str, str]:
    """(the level ``value`` reaches by the raise thresholds, the level it holds by the clear thresholds) from ``level``. Pure."""
    reached = Level.CRITICAL if value >= t.raise_at[1] else Level.WARNING if value >= t.raise_at[0] else Level.OK
    if level == Level.CRITICAL and value >= t.clear_below[1]:
        held = Level.CRITICAL
    elif level != Level.OK and value >= t.clear_below[0]:
        held = Level.WARNING
    else:
        held = Level.OK
    return reached, held


@dataclass(frozen=True)
class Reading:
    name: str  # the condition: "outbox_age", "consumer_lag:matching", ...
    figure: str  # its thresholds in BACKBONE_PAGING['FIGURES']
    value: float


def readings(*, now: datetime, box: figures.Outbox, fresh_lag: bool = False) -> list[Reading]:
    """Every paged figure now (``box``: the outbox read at ``now``); no lag readings when Kafka did not answer."""
    window = settings.BACKBONE_PAGING["DEAD_LETTER_WINDOW_S"]
    found = [
        Reading("outbox_age", "OUTBOX_AGE_S", box.oldest_age_s),
        Reading("relay_stalled", "RELAY_STALLED_S", box.stalled_s),
        Reading("dead_letter_growth", "DEAD_LETTER_GROWTH", figures.dead_letters_new(window, now)),
    ]
    rows, error, _ = read_lag(fresh=fresh_lag)
    if not error:
        behind = dict.fromkeys(CONSUMERS, 0)
        for group, _topic, _partition, count in rows:
            behind[group] = behind.get(group, 0) + count
        found += [Reading(f"consumer_lag:{group}", "CONSUMER_LAG", total) for group, total in sorted(behind.items())]
    return found


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def describe(reading: Reading, *, waiting: int = 0) -> str:
    """The alert's title: what is wrong, in a sentence staff read on a phone."""
    name, value = reading.name, reading.value
    if name == "outbox_age":
        return f"Events are not reaching Kafka: the oldest unpublished event has waited {_minutes(value)}"
    if name == "relay_stalled":
        return f"The outbox relay has published nothing for {_minutes(value)} while {waiting} event(s) wait"
    if name == "dead_letter_growth":
        window = settings.BACKBONE_PAGING["DEAD_LETTER_WINDOW_S"]
        return f"{value:.0f} new dead letter(s) in the last {_minutes(window)}"
    group = name.split(":", 1)[1]
    return f"Consumer group “{group}” is {value:,.0f} message(s) behind"


def _body(reading: Reading, t: Thresholds) -> str:
    return (
        f"Warning from {t.raise_at[0]:g}, critical from {t.raise_at[1]:g} "
        f"(held for {settings.BACKBONE_PAGING['FOR_S']} s); it clears below {t.clear_below[0]:g}.  "
        f"The backbone page shows the figures: {reverse('admin-backbone')}"
    )


def _judge_one(reading: Reading, *, now: datetime, waiting: int) -> str:
    """Move one condition's level; returns what happened: "raised", "escalated", "resolved" or ""."""
    t = thresholds(reading.figure)
    hold_for = timedelta(seconds=settings.BACKBONE_PAGING["FOR_S"])
    BackboneCondition.objects.get_or_create(name=reading.name)
    with transaction.atomic():
        condition = BackboneCondition.objects.select_for_update().get(name=reading.name)
        reached, held = judge(condition.level, reading.value, t)
        condition.value, condition.checked_at = reading.value, now
        new_level = condition.level
        if _RANK[reached] > _RANK[condition.level]:
            condition.breached_since = condition.breached_since or now
            if now - condition.breached_since >= hold_for:
                new_level = reached
        else:
            condition.breached_since = None
            new_level = held
        happened = ""
        context: dict[str, Any] = {
            "figure": reading.name,
            "value": reading.value,
            "raise_at": list(t.raise_at),
            "clear_below": list(t.clear_below),
        }
        if condition.level == Level.OK and new_level != Level.OK:
            since = condition.breached_since or now
            alert = alert_raise(
                kind=Alert.Kind.BACKBONE,
                severity=new_level,
                key=f"{reading.name}:{since.isoformat()}",
                title=describe(reading, waiting=waiting),
                body=_body(reading, t),
                occurred_at=since,
                context=context,
            )
            key = f"{Alert.Kind.BACKBONE}:{reading.name}:{since.isoformat()}"[:200]
            condition.alert = alert or Alert.objects.filter(dedupe_key=key).first()  # raised already: keep that one
            condition.breached_since = None
            happened = "raised"
        elif condition.level == Level.WARNING and new_level == Level.CRITICAL and condition.alert is not None:
            alert = condition.alert
            alert.severity, alert.title = Alert.Severity.CRITICAL, describe(reading, waiting=waiting)[:200]
            alert.context = {**alert.context, **context}
            alert.save(update_fields=["severity", "title", "context"])
            plan_webhook(alert, channel=ESCALATED)
            condition.breached_since = None
            happened = "escalated"
        elif new_level == Level.OK and condition.level != Level.OK:
            alert = condition.alert
            if alert is not None and alert.status != Alert.Status.RESOLVED:
                resolution = f"Back below {t.clear_below[0]:g} ({reading.value:g} now)."
                alerts_resolve(alert_ids=[alert.pk], by=None, resolution=resolution)
                alert.refresh_from_db()
                plan_webhook(alert, channel=RESOLVED)
            condition.alert = None
            happened = "resolved"
        condition.level = new_level
        condition.save()
    if happened:
        log.warning("backbone paging: %s %s (%s = %g)", reading.name, happened, reading.figure, reading.value)
    return happened


def backbone_check(*, now: datetime | None = None, fresh_lag: bool = False) -> dict[str, int]:
    """The clock's pass: judge every figure; returns how many conditions were raised, escalated and resolved.

    Call it outside a transaction: each condition commits on its own and its webhook goes out after that commit.
    """
    now = now or timezone.now()
    counts = {"raised": 0, "escalated": 0, "resolved": 0}
    box = figures.outbox(now)
    for reading in readings(now=now, box=box, fresh_lag=fresh_lag):
        happened = _judge_one(reading, now=now, waiting=box.backlog)
        if happened:
            counts[happened] += 1
    return counts
