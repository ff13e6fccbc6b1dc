"""Who may subscribe to job streams (``job.<id>``) and the board (``board.all``)."""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .selectors import job_visible_to


def _job(user: User, ident: str) -> bool:
    return ident.isdigit() and job_visible_to(user=user, job_id=int(ident))


def _board(user: User, ident: str) -> bool:
    return bool(user.is_tradesperson or user.is_staff)


register("job", _job)
register("board", _board)


def job_stream(job_id: int) -> str:
    return f"job.{job_id}"


BOARD_STREAM = "board.all"
