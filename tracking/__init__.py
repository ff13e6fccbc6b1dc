"""Tracking: the visit's status steps, GPS pings, ETA, geofence arrival and running-late alerts.

Where things are: ``models.py`` (Visit, VisitStep, TrackPoint), ``services.py`` (stage changes and
accepting pings), ``eta.py`` (the maths), ``projections.py`` (the ``tracking`` consumer),
``selectors.py`` (reads and who may see what), ``streams.py`` (``track.<job_id>``), ``api.py``.
"""
