"""What the tracking app holds about a person (registered with marketplace.privacy): the GPS trails of a
tradesperson's visits, purged after ``TRACKING['PING_RETENTION_HOURS']`` (by the clock's hourly
``privacy.purge_expired`` and ``manage.py purge_expired``/``purge_pings``) and at once on erasure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from marketplace.accounts.models import User
from marketplace.privacy.registry import Erasure, PersonalData, Purge, register, register_purge

from .models import TrackPoint
from .services import pings_purge


def _export(user: User) -> list[Any]:
    points = TrackPoint.objects.filter(visit__worker__owner=user).order_by("recorded_at")
    return list(points.values("visit__job_id", "lat", "lng", "recorded_at"))


def _erase(user: User, erasure: Erasure) -> None:
    TrackPoint.objects.filter(visit__worker__owner=user).delete()


def _purge() -> int:
    points, _, _ = pings_purge(older_than=timedelta(hours=settings.TRACKING["PING_RETENTION_HOURS"]))
    return points


register(PersonalData("tracking.gps_trail", export=_export, erase=_erase))
register_purge(Purge("tracking.gps_trails", _purge))
