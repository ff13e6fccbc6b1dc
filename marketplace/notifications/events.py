"""The notifications' event: ``sms.received`` (topic ``marketplace.jobs``, key = a hash of the sender's number).

It carries no phone number or text (events are kept in the log): only the stored :class:`~.models.InboundSms`
row's id, which the handler reads.  Keyed by the sender, so two texts from one person are handled in order.
"""

from __future__ import annotations

from typing import TypedDict

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


class SmsReceivedV1(TypedDict):
    inbound_id: int
    provider: str
    received_at: str


SMS_RECEIVED = register(
    "sms.received",
    # On the jobs topic: the scheduling handler that turns "C" or "R" into a confirmation or a request reads it.
    topic=Topic.JOBS,
    aggregate_type="sms_sender",
    description="Someone texted us (verified and stored once per provider message id); a handler decides what it means.",
    payload=SmsReceivedV1,
)
