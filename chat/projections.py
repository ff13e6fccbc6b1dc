"""Kafka handler for job chat (consumer ``chat-live``).

- ``chat.message_sent``: pushed (after commit) to ``chat.<thread_id>`` so both participants' open pages
  show it at once, and the recipient is notified: once per *unread burst*, not once per message (ten
  quick messages are one notification, and one email if their preferences send email).  The
  notification's key is the thread and the first message of the burst the recipient has not read
  yet, so a redelivered event finds the same key and notifies nobody twice; a message the recipient
  has already read (a late redelivery) notifies nobody.
- ``chat.read``: pushed to ``chat.<thread_id>`` so the sender sees "Seen" live.

The messages themselves are the write model (``chat.models``); this consumer keeps no read model.
"""

from __future__ import annotations

from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.notifications.services import notify
from marketplace.realtime import push

from .events import ChatMessageSentV1, ChatReadV1
from .models import Message, Thread
from .streams import chat_stream

PREVIEW = 140


class ChatLiveHandler(EventHandler):
    def on_chat_message_sent(self, event: Envelope) -> None:
        d = event.payload(ChatMessageSentV1)
        push.send_on_commit(chat_stream(d["thread_id"]), event, event.data)
        job = Job.objects.filter(pk=d["job_id"]).only("pk", "title", "customer_id").first()
        thread = Thread.objects.filter(pk=d["thread_id"]).first()
        if job is None or thread is None:
            return
        recipient_id = d["recipient_id"]
        read_up_to = thread.read_up_to(recipient_id)
        if d["message_id"] <= read_up_to:
            return  # already read: nothing to tell
        first_unread = (
            Message.objects.filter(thread=thread, pk__gt=read_up_to)
            .exclude(sender_id=recipient_id)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        url = f"/jobs/{job.pk}/#chat" if recipient_id == job.customer_id else f"/leads/{job.pk}/#chat"
        text = d["text"]
        notify(
            recipient_id=recipient_id,
            kind="chat_message",
            title=f"{d.get('sender_name') or 'New message'} about “{job.title}”",
            body=text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…",
            url=url,
            object_key=f"chat:{thread.pk}:from:{first_unread or d['message_id']}",
        )

    def on_chat_read(self, event: Envelope) -> None:
        push.send_on_commit(chat_stream(event.payload(ChatReadV1)["thread_id"]), event, event.data)
