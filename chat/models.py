"""Job chat: one thread per (job, tradesperson) pair, between the job's customer and that tradesperson.

Before the award every bidder has their own thread with the customer; after it only the
winner's thread stays writable (the others are kept, read-only: the chat is evidence in a
dispute).  Message text is stored already masked (``marketplace.masking``).  Read receipts are a
high-water mark per side (``customer_read_up_to`` / ``tradesperson_read_up_to``: the id of
the last message of the other side that this side has seen).  The business's side is the
tradesperson and the login of the worker booked on the job, who share its mark: who is on which side is
``chat.selectors.participant_side``, not these fields alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Thread(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="chat_threads")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_threads")
    customer_read_up_to = models.BigIntegerField(default=0)
    tradesperson_read_up_to = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "tradesperson"], name="chat_thread_one_per_pair")]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Chat on job {self.job_id} with {self.tradesperson_id}"

    def is_participant(self, user_id: int | None) -> bool:
        """One of the two named parties (``chat.selectors.participant_side`` also admits the booked worker)."""
        return user_id is not None and user_id in (self.customer_id, self.tradesperson_id)

    def other_party_id(self, user_id: int) -> int:
        return self.tradesperson_id if user_id == self.customer_id else self.customer_id

    def read_up_to(self, user_id: int) -> int:
        return self.customer_read_up_to if user_id == self.customer_id else self.tradesperson_read_up_to


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    # The client's Idempotency-Key: a double click or a retried request stores one message.
    client_key = models.CharField(max_length=64, blank=True)
    # True when masking changed the text (contact details or a card number were hidden).
    masked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "sender", "client_key"], condition=~models.Q(client_key=""), name="chat_message_idempotent"
            )
        ]
        indexes = [models.Index(fields=["sender", "created_at"], name="chat_msg_sender_time")]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"
