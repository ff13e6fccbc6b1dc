"""Scheduling: workers, working hours, time off, appointments that cannot double-book (issue 5, foundation).

Built so far: the write model with a Postgres exclusion constraint per worker (btree_gist),
the pure slot engine (``slots.py``, DST-correct), booking/rescheduling/cancelling services
with events. Not yet: job dependencies, reminders, the calendar and dispatch UI, the API and
the capacity read model that ``jobs.selectors.pro_is_available`` will read.
"""
