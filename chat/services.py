"""The only code that changes job chat.

Every write runs in one transaction with its event (``marketplace.events.outbox.emit``): a message
and its ``chat.message_sent`` commit together or not at all, and a refused message writes nothing.
The ``chat-live`` consumer (``chat.projections``) pushes both events to the thread's stream and
notifies the recipient.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Bid, Job
from jobs.roles import JobRole, job_role
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit
from marketplace.masking import mask_contact_details

from . import events as ev
from .models import Message, Thread
from .selectors import Side, closed_reason, from_other_side, is_booked_worker, participant_side, sender_name

MAX_TEXT = 2000
CLIENT_KEY_MAX = 64
# At most this many messages per sender in any RATE_WINDOW (all threads together).
RATE_LIMIT = 30
RATE_WINDOW = timedelta(minutes=1)

# C0 controls other than tab and newline (NUL cannot even be stored in Postgres text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class RateLimited(ServiceError):
    kind = Refusal.RATE_LIMITED
    default_code = "rate_limited"


def _thread_get_or_create(*, job: Job, tradesperson: User) -> Thread:
    """The (job, tradesperson) thread, created on first use; safe under concurrency (unique pair)."""
    thread = Thread.objects.filter(job=job, tradesperson=tradesperson).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(job=job, customer_id=job.customer_id, tradesperson=tradesperson)
    except IntegrityError:
        return Thread.objects.get(job=job, tradesperson=tradesperson)


def chat_threads_open(*, job: Job, viewer: User) -> list[Thread]:
    """The threads ``viewer`` has on ``job``, creating missing ones (idempotent; emits nothing).

    The customer has one per tradesperson who bid (the winner first once awarded); a tradesperson
    who bid has their own; the login of the worker booked on the job has the awarded business's
    thread (``chat.selectors.participant_side``).  Anyone else (a tradesperson with only a lead, staff) is refused (403):
    a chat starts with a quote.
    """
    role = job_role(viewer, job)
    if role is JobRole.CUSTOMER:
        bids = list(Bid.objects.filter(job=job).select_related("tradesperson").order_by("created_at", "pk"))
        threads = [_thread_get_or_create(job=job, tradesperson=bid.tradesperson) for bid in bids]
        threads.sort(key=lambda t: t.tradesperson_id != job.tradesperson_id)  # stable: bid order otherwise
        return threads
    # A lead is not enough: a chat starts with a quote, so the tradesperson must have bid.
    if role in (JobRole.TRADESPERSON, JobRole.BIDDER) and Bid.objects.filter(job=job, tradesperson=viewer).exists():
        return [_thread_get_or_create(job=job, tradesperson=viewer)]
    if job.tradesperson is not None and is_booked_worker(viewer, job):
        return [_thread_get_or_create(job=job, tradesperson=job.tradesperson)]
    raise ServiceError(
        "Only the job's customer and the tradespeople who quoted for it can chat about it. Send a quote to start a chat.",
        code="not_a_participant",
        kind=Refusal.FORBIDDEN,
    )


def clean_text(text: str) -> str:
    """The text as it would be stored: control characters removed, line ends normalised, trimmed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def chat_send(*, thread: Thread, sender: User, text: str, client_key: str = "") -> tuple[Message, bool]:
    """Add a message from ``sender`` (a participant) and emit ``chat.message_sent``; returns (message, created).

    Guarantees: the text is stored masked (:mod:`marketplace.masking`); empty text (400 ``empty_message``), text over
    ``MAX_TEXT`` characters (400 ``message_too_long``), a read-only thread (409 ``chat_closed``), a non-participant
    (403) and more than ``RATE_LIMIT`` messages a minute (429 ``rate_limited``) are refused and write nothing.
    Idempotent per ``client_key``: the same key from the same sender in the same thread returns the first
    message (created False) and emits nothing.
    """
    if participant_side(sender, thread) is None:
        raise ServiceError("Only the people in this chat can write in it.", code="forbidden", kind=Refusal.FORBIDDEN)
    if len(client_key) > CLIENT_KEY_MAX:
        raise ServiceError(f"The Idempotency-Key is at most {CLIENT_KEY_MAX} characters.", code="validation_error", kind=Refusal.INVALID)
    cleaned = clean_text(text)
    if not cleaned:
        raise ServiceError("Write a message first: it is empty.", code="empty_message", kind=Refusal.INVALID)
    if len(cleaned) > MAX_TEXT:
        raise ServiceError(
            f"Messages are at most {MAX_TEXT} characters; this one has {len(cleaned)}. Split it into several messages.",
            code="message_too_long",
            kind=Refusal.INVALID,
        )
    with transaction.atomic():
        # One writer per thread at a time: keeps message ids in commit order and makes the key check exact.
        locked = Thread.objects.select_for_update(of=("self",)).select_related("job").get(pk=thread.pk)
        if client_key:
            existing = Message.objects.filter(thread=locked, sender=sender, client_key=client_key).first()
            if existing is not None:
                return existing, False
        reason = closed_reason(thread=locked)
        if reason:
            raise ServiceError(reason, code="chat_closed", kind=Refusal.CONFLICT)
        since = timezone.now() - RATE_WINDOW
        if Message.objects.filter(sender=sender, created_at__gte=since).count() >= RATE_LIMIT:
            raise RateLimited(
                f"You're sending messages too quickly (at most {RATE_LIMIT} a minute). Wait a moment and try again.",
                code="rate_limited",
            )
        masked, changed = mask_contact_details(cleaned)
        message = Message.objects.create(thread=locked, sender=sender, text=masked[:MAX_TEXT], client_key=client_key, masked=changed)
        Thread.objects.filter(pk=locked.pk).update(last_message_at=message.created_at)
        emit(
            ev.CHAT_MESSAGE_SENT,
            aggregate_id=locked.job_id,
            actor_id=sender.pk,
            data=ev.ChatMessageSentV1(
                job_id=locked.job_id,
                thread_id=locked.pk,
                message_id=message.pk,
                sender_id=sender.pk,
                recipient_id=locked.other_party_id(sender.pk),
                customer_id=locked.customer_id,
                tradesperson_id=locked.tradesperson_id,
                sender_name=sender_name(sender=sender, thread=locked),
                text=message.text,
                masked=changed,
                sent_at=message.created_at.isoformat(),
            ),
        )
    return message, True


def chat_mark_read(*, thread: Thread, reader: User, up_to_message_id: int) -> Thread:
    """Record that ``reader`` has seen the other side's messages up to ``up_to_message_id``; emits ``chat.read``.

    Only moves forward, and never past the other side's newest message: marking an older or the
    same message again changes nothing and emits nothing (idempotent).  Reading stays allowed in a
    read-only thread.
    """
    side = participant_side(reader, thread)
    if side is None:
        raise ServiceError("Only the people in this chat can read it.", code="forbidden", kind=Refusal.FORBIDDEN)
    if up_to_message_id < 0:
        raise ServiceError("up_to must be a message id.", code="validation_error", kind=Refusal.INVALID)
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        newest_from_other = (
            Message.objects.filter(from_other_side(thread=locked, side=side), thread=locked, pk__lte=up_to_message_id)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        field = "customer_read_up_to" if side is Side.CUSTOMER else "tradesperson_read_up_to"
        current = getattr(locked, field)
        if newest_from_other is None or newest_from_other <= current:
            return locked
        setattr(locked, field, newest_from_other)
        locked.save(update_fields=[field])
        emit(
            ev.CHAT_READ,
            aggregate_id=locked.job_id,
            actor_id=reader.pk,
            data=ev.ChatReadV1(
                job_id=locked.job_id,
                thread_id=locked.pk,
                reader_id=reader.pk,
                up_to=newest_from_other,
                read_at=timezone.now().isoformat(),
            ),
        )
    return locked
