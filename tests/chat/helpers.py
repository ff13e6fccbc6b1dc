"""A job with two quoting tradespeople, and a job with a technician booked on it, built through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from quotes.models import QuoteVersion
from scheduling.models import Appointment, Worker
from scheduling.services import appointment_book, worker_set_hours
from tests.factories import make_pro, make_user, offer, post_job
from tests.quotes.helpers import accept, submit
from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week


@dataclass
class Quoted:
    job: Job
    customer: User
    x: User  # quoted
    z: User  # quoted too
    y: User  # was offered the lead, did not quote
    bid_x: Bid
    bid_z: Bid
    version_x: QuoteVersion


def quoted_job(customer: User | None = None) -> Quoted:
    customer = customer or make_user("chat_cust")
    x, z, y = make_pro("chat_x", business_name="X Plumbing"), make_pro("chat_z"), make_pro("chat_y")
    job = post_job(customer, title="Leaky tap")
    for pro in (x, z, y):
        offer(job, pro)
    version_x, version_z = submit(job, x), submit(job, z)
    return Quoted(job, customer, x, z, y, version_x.bid, version_z.bid, version_x)


def award_to_x(world: Quoted) -> None:
    accept(world.version_x, world.customer)
    world.job.refresh_from_db()


def technician_of(owner: User, username: str, name: str) -> tuple[Worker, User]:
    """A worker of ``owner``'s business whose login is a team member (a technician), working every day 08-18."""
    login = make_user(username, role=User.Role.TEAM, display_name=name)
    worker = Worker.objects.create(owner=owner, name=name, user=login, role=Worker.Role.TECHNICIAN, time_zone="Europe/London")
    worker_set_hours(worker=worker, actor=owner, hours=[(d, time(8), time(18)) for d in range(7)])
    return worker, login


def booked_technician(customer: User, owner: User) -> tuple[Appointment, Worker, User]:
    """A job of ``customer`` awarded to ``owner`` and booked on a technician ``Tina``: (appointment, worker, login)."""
    worker_all_week(owner)  # the owner's own worker
    worker, tech = technician_of(owner, "techchat_tina", "Tina")
    job = awarded_job(customer, owner, title="Leaky tap")
    appointment = appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=owner)
    return appointment, worker, tech
