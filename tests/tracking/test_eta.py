"""The tracking maths (pure): speed samples, smoothing, the ETA with its floor, and the geofence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracking import eta

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_a_speed_sample_comes_from_the_device_or_the_distance_between_fixes() -> None:
    assert eta.speed_sample_kmh(previous=None, lat=51.5, lng=-0.12, at=T0, device_speed_mps=10) == 36.0
    assert eta.speed_sample_kmh(previous=None, lat=51.5, lng=-0.12, at=T0) is None  # nothing to compare with
    # 1 km north in 60 s is 60 km/h.
    kmh = eta.speed_sample_kmh(previous=(51.5, -0.12, T0), lat=51.5 + 1 / 111.195, lng=-0.12, at=T0 + timedelta(seconds=60))
    assert kmh is not None and abs(kmh - 60) < 0.1
    # Two fixes a moment apart, a GPS jump and a silly device speed say nothing.
    assert eta.speed_sample_kmh(previous=(51.5, -0.12, T0), lat=51.51, lng=-0.12, at=T0 + timedelta(milliseconds=200)) is None
    assert eta.speed_sample_kmh(previous=(51.5, -0.12, T0), lat=52.5, lng=-0.12, at=T0 + timedelta(seconds=60)) is None
    assert eta.speed_sample_kmh(previous=None, lat=51.5, lng=-0.12, at=T0, device_speed_mps=90) is None


def test_smoothing_follows_recent_speed_but_one_odd_sample_moves_it_little() -> None:
    speed = None
    for _ in range(10):
        speed = eta.smooth(speed, 40.0)
    assert speed == 40.0
    after_spike = eta.smooth(speed, 120.0)
    assert after_spike is not None and 40 < after_spike < 70
    assert eta.smooth(40.0, None) == 40.0


def test_the_eta_uses_road_distance_and_never_a_speed_below_the_floor() -> None:
    moving = eta.estimate(distance_km=10, smoothed_kmh=39, now=T0)
    assert moving.speed_kmh == 39 and abs(moving.minutes - 10 * 1.3 / 39 * 60) < 1e-9
    assert moving.at == T0 + timedelta(minutes=moving.minutes)
    stuck = eta.estimate(distance_km=10, smoothed_kmh=0.5, now=T0)
    unknown = eta.estimate(distance_km=10, smoothed_kmh=None, now=T0)
    assert stuck.speed_kmh == unknown.speed_kmh == eta.FLOOR_SPEED_KMH
    assert abs(stuck.minutes - 52) < 1e-9  # 13 road km at 15 km/h
    assert stuck.late_by_minutes(T0 + timedelta(minutes=30)) == stuck.minutes - 30


def test_the_geofence_needs_a_close_and_accurate_fix() -> None:
    assert eta.inside_geofence(distance_km=0.1, accuracy_m=20, radius_m=150)
    assert not eta.inside_geofence(distance_km=0.2, accuracy_m=20, radius_m=150)
    assert not eta.inside_geofence(distance_km=0.1, accuracy_m=800, radius_m=150)  # could be anywhere nearby
