"""Scheduling: workers, working hours, time off, appointments that cannot double-book, reminders,
proposals, job dependencies, the calendar and dispatch board, and capacity (issue 5).

Writes in ``services.py`` (with events), reads in ``selectors.py`` and ``dispatch.py``, pure maths in
``slots.py``; consumers ``schedule-live`` (``projections.py``) and ``capacity`` (``capacity.py``).
"""
