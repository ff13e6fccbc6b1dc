"""Reading job chat, filtered by who is asking.

Who may see a thread: its two participants (the job's customer and that tradesperson), nobody
else (staff read threads in Django admin).  Whether a thread is writable is a rule of the job's
state (:func:`closed_reason`): before the award every bidder with a live bid may write; after it
only the winner; a cancelled or expired job's chat is read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from jobs.models import Bid, Job
from marketplace.accounts.models import User

from .models import Message, Thread

# A page of messages: the newest this many (or this many after ``after``).
PAGE = 200

_AWARDED_STATES = {Job.Status.AWARDED, Job.Status.SCHEDULED, Job.Status.IN_PROGRESS, Job.Status.COMPLETED}


def party_name(user: User) -> str:
    """How a person appears in chat: a tradesperson by their business name, a customer by their name."""
    profile = getattr(user, "pro_profile", None) if user.is_tradesperson else None
    return (profile.business_name if profile is not None else "") or user.display_name or user.username


def thread_for_participant(*, user: User, thread_id: int) -> Thread | None:
    """The thread if ``user`` is one of its two participants, else None (the API answers 404)."""
    if not user.is_authenticated:
        return None
    return (
        Thread.objects.select_related("job", "customer", "tradesperson__pro_profile")
        .filter(Q(customer=user) | Q(tradesperson=user), pk=thread_id)
        .first()
    )


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
    """Messages from the other side that ``user`` has not read yet."""
    return Message.objects.filter(thread=thread, pk__gt=thread.read_up_to(user.pk)).exclude(sender_id=user.pk).count()


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
    other = thread.tradesperson if viewer.pk == thread.customer_id else thread.customer
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
