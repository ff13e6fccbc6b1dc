"""Who may watch a visit live.

- ``track.<job_id>``: the tradesperson's position (``tracking.position``) and the visit's steps
  (``visit.*``, ``tracking.eta_drift``, ``job.status_changed``).  The awarded tradesperson and the
  booked worker's login may always subscribe; the job's customer only while the visit is
  ``on_the_way`` (see ``tracking.selectors`` for the privacy rule).  A subscription outlives the
  stage, so the consumer also pushes positions only while the visit is on the way: a customer
  still subscribed after arrival never receives another position.

The customer's job page hears about the steps on ``job.<id>`` as well (the consumer pushes them
there too), so it knows when to subscribe here.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .models import Stage
from .selectors import ACTING_PARTIES, CUSTOMER, job_for_tracking, party_of, visit_of


def track_stream(job_id: int) -> str:
    return f"track.{job_id}"


def _track(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    found = job_for_tracking(user=user, job_id=int(ident))
    if found is None:
        return False
    job, appointment = found
    party = party_of(user, job, appointment)
    if party in ACTING_PARTIES:
        return True
    visit = visit_of(job.pk)
    return party == CUSTOMER and visit is not None and visit.stage == Stage.ON_THE_WAY


register("track", _track)
