"""Chat event types: the job topic, keyed by job id (so a job's chat is ordered with everything else that
happens to the job, and its timeline can show it in place).

Schemas: marketplace/events/schemas/chat.<action>.v1.json.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic

CHAT_MESSAGE_SENT = register(
    "chat.message_sent",
    topic=Topic.JOBS,
    aggregate_type="job",
    description="A message in a job's chat thread (text already masked).",
)
CHAT_READ = register(
    "chat.read",
    topic=Topic.JOBS,
    aggregate_type="job",
    description="One side of a chat thread read the other side's messages up to a message id.",
)
