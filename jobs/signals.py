"""What jobs tells the apps built on it, inside the same transaction (Django signals, sent synchronously).

Apps above jobs (scheduling today) connect receivers in their ``AppConfig.ready()``; jobs never
imports them, so there is no import cycle and the transaction guarantees stay: a receiver runs in
the sender's transaction, and an exception it raises rolls the whole change back.
"""

from __future__ import annotations

from django.dispatch import Signal

# A tradesperson saved their business profile.  kwargs: owner (User).
business_profile_saved = Signal()

# A job is being cancelled (inside job_cancel's transaction, after the status changed).
# kwargs: job, actor, side ("customer" | "tradesperson"), reason.
job_cancelling = Signal()
