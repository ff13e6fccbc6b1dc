"""Reading job chat, filtered by who is asking.

Who may see a thread (:func:`participant_side`, the one place that decides it): the job's customer
on one side; on the other the tradesperson (the business) and, once the job is booked, the login of
the worker booked on it (a technician of that business).  Nobody else (staff read threads in
Django admin).  Whether a thread is writable is a rule of the job's
state (:func:`closed_reason`): before the award every bidder with a live bid may write; after it
only the winner; a cancelled or expired job's chat is read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from jobs.models import Bid, Job
from jobs.roles import JobRole
from jobs.selectors import job_for_viewer
from marketplace.accounts.models import User
from scheduling.roles import appointment_role
from scheduling.selectors import booked_appointment

from .models import Message, Thread

# A page of messages: the newest this many (or this many after ``after``).
PAGE = 200

_AWARDED_STATES = {Job.Status.AWARDED, Job.Status.SCHEDULED, Job.Status.IN_PROGRESS, Job.Status.COMPLETED}


def party_name(user: User) -> str:
    """How a person appears in chat: a tradesperson by their business name, a customer by their name."""
    profile = getattr(user, "pro_profile", None) if user.is_tradesperson else None
    return (profile.business_name if profile is not None else "") or user.display_name or user.username


class Side(StrEnum):
    """The two sides of a thread."""

    CUSTOMER = "customer"
    TRADESPERSON = "tradesperson"


def is_booked_worker(user: User | AnonymousUser | None, job: Job) -> bool:
    """True when ``user`` is the login of the worker booked on ``job`` for its awarded business."""
    if not isinstance(user, User) or job.tradesperson_id is None:
        return False
    return appointment_role(user, job, booked_appointment(job_id=job.pk)) is JobRole.WORKER


def participant_side(user: User | AnonymousUser | None, thread: Thread) -> Side | None:
    """Which side of ``thread`` ``user`` writes on, or None when they are not in it.

    The one rule every read, write, read mark and live subscription of chat asks: the customer;
    the tradesperson; or the booked worker's login (``scheduling.roles.appointment_role`` is
    WORKER) when the worker belongs to this thread's business.  The worker's access follows the
    booking: once the appointment is cancelled or moved to another worker, it is gone.
    """
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    if user.pk == thread.customer_id:
        return Side.CUSTOMER
    if user.pk == thread.tradesperson_id:
        return Side.TRADESPERSON
    if thread.tradesperson_id == thread.job.tradesperson_id and is_booked_worker(user, thread.job):
        return Side.TRADESPERSON
    return None


def job_for_chat(*, user: User, job_id: int) -> Job | None:
    """The job if ``user`` may see it (``jobs.selectors.job_for_viewer``) or is the worker booked on it."""
    job = job_for_viewer(user=user, job_id=job_id)
    if job is not None:
        return job
    job = Job.objects.select_related("trade", "customer").filter(pk=job_id).first()
    return job if job is not None and is_booked_worker(user, job) else None


def thread_for_participant(*, user: User, thread_id: int) -> Thread | None:
    """The thread if ``user`` is in it (:func:`participant_side`), else None (the API answers 404)."""
    if not user.is_authenticated:
        return None
    thread = Thread.objects.select_related("job", "customer", "tradesperson__pro_profile").filter(pk=thread_id).first()
    if thread is None or participant_side(user, thread) is None:
        return None
    return thread


def sender_name(*, sender: User, thread: Thread) -> str:
    """How the sender of a message in ``thread`` is shown: a booked worker as "<name> (<business>)"."""
    if sender.pk in (thread.customer_id, thread.tradesperson_id):
        return party_name(sender)
    return f"{sender.display_name or sender.username} ({party_name(thread.tradesperson)})"


def from_other_side(*, thread: Thread, side: Side) -> Q:
    """The messages of ``thread`` written by the side opposite ``side``."""
    mine = Q(sender_id=thread.customer_id)
    return ~mine if side is Side.CUSTOMER else mine


def closed_reason(*, thread: Thread, job: Job | None = None) -> str:
    """Why nobody may write in ``thread`` now ("" when it is writable)."""
    job = job or thread.job
    if job.status == Job.Status.CANCELLED:
        return "This job was cancelled, so its chat is read-only."
    if job.status == Job.Status.EXPIRED:
        return "This job expired, so its chat is read-only."
    if job.status in _AWARDED_STATES:
        if job.tradesperson_id == thread.tradesperson_id:
            return ""
        return "The customer chose another tradesperson for this job, so this chat is read-only."
    bid_status = Bid.objects.filter(job_id=job.pk, tradesperson_id=thread.tradesperson_id).values_list("status", flat=True).first()
    if bid_status in (Bid.Status.ACTIVE, Bid.Status.SHORTLISTED):
        return ""
    if bid_status == Bid.Status.WITHDRAWN:
        return "The quote was withdrawn, so this chat is read-only."
    if bid_status == Bid.Status.DECLINED:
        return "The customer declined this quote, so this chat is read-only."
    return "Chat opens once the tradesperson has sent a quote."


def messages(*, thread: Thread, after: int | None = None, limit: int = PAGE) -> list[Message]:
    """Messages in order: the first ``limit`` after message ``after``, or the newest ``limit``."""
    rows = Message.objects.filter(thread=thread).select_related("sender")
    if after is not None:
        return list(rows.filter(pk__gt=after).order_by("pk")[:limit])
    return list(rows.order_by("-pk")[:limit])[::-1]


def unread_count(*, thread: Thread, user: User) -> int:
    """Messages from the other side that ``user``'s side has not read yet (a side shares one read mark)."""
    side = participant_side(user, thread) or Side.TRADESPERSON
    mark = thread.customer_read_up_to if side is Side.CUSTOMER else thread.tradesperson_read_up_to
    return Message.objects.filter(from_other_side(thread=thread, side=side), thread=thread, pk__gt=mark).count()


def last_message(*, thread: Thread) -> Message | None:
    return Message.objects.filter(thread=thread).order_by("-pk").first()


@dataclass(frozen=True)
class ThreadView:
    """A thread as one participant sees it."""

    thread: Thread
    viewer: User
    other: User
    writable: bool
    closed_reason: str
    unread: int
    seen_up_to: int  # the other side has read the viewer's messages up to this id
    last: Message | None


def thread_view(*, thread: Thread, viewer: User) -> ThreadView:
    reason = closed_reason(thread=thread)
    other = thread.tradesperson if participant_side(viewer, thread) is Side.CUSTOMER else thread.customer
    return ThreadView(
        thread=thread,
        viewer=viewer,
        other=other,
        writable=not reason,
        closed_reason=reason,
        unread=unread_count(thread=thread, user=viewer),
        seen_up_to=thread.read_up_to(other.pk),
        last=last_message(thread=thread),
    )


def threads_of_job(*, job: Job) -> QuerySet[Thread]:
    return Thread.objects.filter(job=job).select_related("job", "customer", "tradesperson__pro_profile")
