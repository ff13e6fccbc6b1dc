"""Chat event types and their payloads: the job topic, keyed by job id (so a job's chat is ordered with everything
else that happens to the job, and its timeline can show it in place).

Schemas: marketplace/events/schemas/chat.<action>.v1.json.
"""

from typing import NotRequired, TypedDict

from marketplace.events.schemas import job_event


class ChatMessageSentV1(TypedDict):
    job_id: int
    thread_id: int
    message_id: int
    sender_id: int
    recipient_id: int
    customer_id: int
    tradesperson_id: int
    sender_name: NotRequired[str]
    text: str
    masked: NotRequired[bool]
    sent_at: str


class ChatReadV1(TypedDict):
    job_id: int
    thread_id: int
    reader_id: int
    up_to: int
    read_at: str


CHAT_MESSAGE_SENT = job_event("chat.message_sent", "A message in a job's chat thread (text already masked).", payload=ChatMessageSentV1)
CHAT_READ = job_event("chat.read", "One side of a chat thread read the other side's messages up to a message id.", payload=ChatReadV1)
