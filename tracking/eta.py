"""Pure maths for tracking: speed smoothing, ETA and the geofence.  No database, no clock.

- **Speed**: each new ping gives a speed sample: the device's own ``speed_mps`` when it sent a
  finite one, otherwise the straight-line distance from the previous ping over the time between
  them (only when at least :data:`MIN_SEGMENT_S` apart, so two fixes a moment apart do not make a
  wild figure).  Samples above :data:`MAX_SPEED_KMH` are GPS jumps and are dropped.  The smoothed
  speed is an exponentially weighted moving average (``alpha`` = :data:`EWMA_ALPHA`): recent
  pings count most, one odd sample moves it only a little.
- **ETA**: remaining road distance / smoothed speed, where road distance is the great-circle
  distance times :data:`ROAD_FACTOR` (roads are not straight; 1.3 is the usual urban detour
  ratio), and the speed is never below :data:`FLOOR_SPEED_KMH` (someone stuck at lights or whose
  speed is not known yet still arrives eventually; a zero speed would mean an infinite ETA).
- **Geofence**: a ping is "at the job" when its distance to the job location is within the radius
  *and* its own accuracy is no worse than the radius (a fix good to 2 km says nothing about 150 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from marketplace.geo import haversine_km

ROAD_FACTOR = 1.3
FLOOR_SPEED_KMH = 15.0
MAX_SPEED_KMH = 200.0
EWMA_ALPHA = 0.3
MIN_SEGMENT_S = 1.0


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return haversine_km(lat1, lng1, lat2, lng2)


def speed_sample_kmh(
    *,
    previous: tuple[float, float, datetime] | None,
    lat: float,
    lng: float,
    at: datetime,
    device_speed_mps: float | None = None,
) -> float | None:
    """One speed observation in km/h from a new ping, or None when there is nothing trustworthy."""
    if device_speed_mps is not None and math.isfinite(device_speed_mps) and device_speed_mps >= 0:
        kmh = device_speed_mps * 3.6
        return kmh if kmh <= MAX_SPEED_KMH else None
    if previous is None:
        return None
    seconds = (at - previous[2]).total_seconds()
    if seconds < MIN_SEGMENT_S:
        return None
    kmh = distance_km(previous[0], previous[1], lat, lng) / (seconds / 3600)
    return kmh if kmh <= MAX_SPEED_KMH else None


def smooth(previous_kmh: float | None, sample_kmh: float | None, alpha: float = EWMA_ALPHA) -> float | None:
    """The EWMA after one more sample (the first sample is taken as it is)."""
    if sample_kmh is None:
        return previous_kmh
    if previous_kmh is None:
        return sample_kmh
    return alpha * sample_kmh + (1 - alpha) * previous_kmh


@dataclass(frozen=True)
class Eta:
    distance_km: float  # straight line to the job
    speed_kmh: float  # the speed the ETA assumes (smoothed, at least the floor)
    minutes: float
    at: datetime

    def late_by_minutes(self, deadline: datetime) -> float:
        return (self.at - deadline).total_seconds() / 60


def estimate(*, distance_km: float, smoothed_kmh: float | None, now: datetime) -> Eta:
    """ETA from the straight-line distance left and the smoothed speed (floored)."""
    speed = max(smoothed_kmh or 0.0, FLOOR_SPEED_KMH)
    minutes = distance_km * ROAD_FACTOR / speed * 60
    return Eta(distance_km=distance_km, speed_kmh=speed, minutes=minutes, at=now + timedelta(minutes=minutes))


def inside_geofence(*, distance_km: float, accuracy_m: float, radius_m: float) -> bool:
    """True if a ping this far from the job, this accurate, means the tradesperson is there."""
    return distance_km * 1000 <= radius_m and accuracy_m <= radius_m
