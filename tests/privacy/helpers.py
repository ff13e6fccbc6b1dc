"""Builders for privacy tests: a customer with a full story, every consumer applied in process, and a search
of every text and JSON column of the database."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from chat.services import chat_send, chat_threads_open
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.events.registry import CONSUMERS
from marketplace.events.runner import apply_event
from marketplace.notifications.models import NotificationPreferences
from payments import approval
from payments.models import Payment
from reviews.services import review_post
from tests.factories import UserFactory, post_job
from tests.payments.test_approval import collect, completed

NAME, EMAIL, PHONE, USERNAME = "Ada Lovelace", "ada.lovelace@example.org", "+447700900123", "ada_l"
ASPECTS = {"punctuality": 5, "quality": 5, "value": 5, "communication": 5}


def ada() -> User:
    user = UserFactory.create(username=USERNAME, email=EMAIL, first_name="Ada", last_name="Lovelace", display_name=NAME)
    NotificationPreferences.objects.update_or_create(user=user, defaults={"phone": PHONE})
    return user


def ada_story(customer: User) -> tuple[Job, User]:
    """A paid, reviewed job with a chat, and an open job still on the board."""
    job, bob, _, payment = completed(customer, name="bobpriv")
    approval.payment_approve(payment=payment, actor=customer)
    assert collect(job).status == Payment.Status.PAID
    [thread] = chat_threads_open(job=job, viewer=customer)
    chat_send(thread=thread, sender=customer, text=f"Hello, {NAME} here, the side gate is open")
    chat_send(thread=thread, sender=bob, text=f"Thanks {NAME}, see you at ten")
    review_post(job=Job.objects.get(pk=job.pk), customer=customer, rating=5, aspects=ASPECTS, comment=f"Great work, {NAME} recommends Bob")
    post_job(customer, title=f"{NAME}'s attic hatch", description=f"Call {NAME} before coming", budget_max=Decimal("300"))
    return job, bob


def apply_all_events() -> int:
    """Apply every outbox event to every consumer in the registry, as the consumer processes would (the inbox
    makes a second call apply only what is new).  Returns how many (consumer, event) pairs were applied."""
    applied = 0
    rows = list(OutboxEvent.objects.order_by("id"))
    for spec in CONSUMERS.values():
        handler = spec.make_handler()
        for row in rows:
            if row.topic not in spec.topic_names:
                continue
            event = from_dict(row.envelope)
            if not handler.handles(event.event_type):
                continue
            with transaction.atomic():
                applied += apply_event(spec.name, handler, event)
    return applied


def search_everywhere(*needles: str) -> list[str]:
    """``table.column: needle`` for every text, varchar, json or jsonb column in the database holding a needle."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'json', 'jsonb')
               ORDER BY table_name, column_name"""
        )
        columns = cursor.fetchall()
        hits = []
        for table, column in columns:
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s', [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column}: {needle}")
        return hits
