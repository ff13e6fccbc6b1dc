"""Who may subscribe to which job streams.

- ``job.<id>``: the job's customer (and staff) — everything, bids in full.
- ``jobfeed.<id>``: anyone who may see the job (customer, tradespeople offered it,
  staff) — public changes only (edits, status), never other people's bids.
- ``board.all``: tradespeople and staff — the open jobs board.
"""

from __future__ import annotations

from jobs.selectors import job_visible_to
from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .models import Job

BOARD_STREAM = "board.all"


def job_stream(job_id: int) -> str:
    return f"job.{job_id}"


def job_feed_stream(job_id: int) -> str:
    return f"jobfeed.{job_id}"


def _job(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    return bool(user.is_staff or Job.objects.filter(pk=int(ident), customer=user).exists())


def _job_feed(user: User, ident: str) -> bool:
    return ident.isdigit() and job_visible_to(user=user, job_id=int(ident))


def _board(user: User, ident: str) -> bool:
    return ident == "all" and bool(user.is_tradesperson or user.is_staff)


register("job", _job)
register("jobfeed", _job_feed)
register("board", _board)
