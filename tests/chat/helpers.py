"""A job with two quoting tradespeople, built through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from quotes.models import QuoteVersion
from tests.factories import make_pro, make_user, offer, post_job
from tests.quotes.helpers import accept, submit


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
