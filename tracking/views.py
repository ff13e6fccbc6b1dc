"""Browser pages for tracking: the tradesperson's visit page (``/visits/<job_id>/``).

A phone page with big buttons (On my way, Arrived, Start work, Pause/Resume, Complete) drawn by
``static/js/visit.js`` from the tracking API; while on the way it shares the browser's
geolocation as batched pings.  Who may open it: the tradesperson doing the job and the login of
the worker booked for it (``tracking.selectors.party_of``); anyone else gets 404, like a job
they cannot see.  Both see the job's chat with the customer under the buttons (``chat/_thread.html``:
the business's thread; ``chat.selectors.participant_side`` lets the booked worker in).  The customer's side is a panel of their job page
(``templates/tracking/_job_tracking.html`` with ``static/js/tracking.js``), which needs no view.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from marketplace.accounts.models import User

from .selectors import ACTING_PARTIES, WORKER, job_for_tracking, party_of
from .streams import track_stream

# How often the page sends the positions it collected (one request per batch).
PING_FLUSH_MS = 3000


@login_required
@require_GET
def visit_page(request: HttpRequest, job_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    found = job_for_tracking(user=user, job_id=job_id)
    party = party_of(user, *found) if found is not None else None
    if found is None or party not in ACTING_PARTIES:
        raise Http404("No such visit, or not one you are doing.")
    job, appointment = found
    # A technician cannot open the lead page (it is the business's): their way back is their day.
    back = ("My day", reverse("my-day")) if party is WORKER else ("The job", reverse("lead-detail", args=[job.pk]))
    config = {
        "job_id": job.pk,
        "visit_url": reverse("api-job-visit", args=[job.pk]),
        "pings_url": reverse("api-tracking-pings"),
        "track_stream": track_stream(job.pk),
        "flush_ms": PING_FLUSH_MS,
    }
    context = {"job": job, "appointment": appointment, "visit_config": config, "back_label": back[0], "back_url": back[1]}
    return render(request, "tracking/visit.html", context)
