"""Scheduling: availability, appointments that cannot double-book, job dependencies (the scheduling issue).

Empty until that work lands; matching already asks `jobs.selectors.pro_is_available`, which this app will answer.
"""
