"""The login of the worker booked on a job chats on the business's side of that job's thread.

``chat.selectors.participant_side`` decides; the API, the services and the live stream all ask it.
A technician of another job, or of this job after the booking moved to another worker or was
cancelled, is an outsider again (404 on the thread, 403/404 on the job's chat, no subscription).
"""

from __future__ import annotations

import pytest

from chat import services
from chat.models import Thread
from chat.selectors import Side, participant_side
from marketplace.accounts.models import User
from marketplace.realtime.streams import can_subscribe
from scheduling.models import Appointment, Worker
from scheduling.services import appointment_cancel, appointment_reassign
from tests.factories import pro
from tests.helpers import client_for

from .helpers import booked_technician, technician_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return pro("techchat_owner", business_name="Tap Masters")


@pytest.fixture
def booked(customer: User, owner: User) -> tuple[Appointment, Worker, User]:
    return booked_technician(customer, owner)


def test_the_booked_technician_reads_posts_and_marks_read_on_the_business_side(customer: User, owner: User, booked) -> None:
    appointment, _, tech = booked
    job_id = appointment.job_id
    customer_thread = services.chat_threads_open(job=appointment.job, viewer=customer)[0]
    hello = client_for(customer).post(f"/api/chat/{customer_thread.pk}/messages/", {"text": "Park in the drive"}, format="json")
    assert hello.status_code == 201

    # The technician gets the business's thread from the job's chat, sees the customer's message as unread.
    body = client_for(tech).get(f"/api/jobs/{job_id}/chat/").json()
    [thread] = body["threads"]
    assert thread["id"] == customer_thread.pk and thread["other"]["id"] == customer.pk and thread["writable"]
    assert thread["unread"] == 1
    assert participant_side(tech, Thread.objects.select_related("job").get(pk=thread["id"])) is Side.TRADESPERSON

    # Posts as themself, named with the business; masked like anyone's message.
    sent = client_for(tech).post(f"/api/chat/{thread['id']}/messages/", {"text": "On my way, ring 07700 900123"}, format="json")
    assert sent.status_code == 201, sent.content
    assert sent.json()["sender"] == tech.pk and sent.json()["sender_name"] == "Tina (Tap Masters)"
    assert sent.json()["text"] == "On my way, ring [contact details hidden]" and sent.json()["mine"]

    # Marks the customer's message read for the business side; their own message is not "unread" to the owner.
    read = client_for(tech).post(f"/api/chat/{thread['id']}/read/", {"up_to": sent.json()["id"]}, format="json")
    assert read.status_code == 200 and read.json()["read_up_to"] == hello.json()["id"]
    owners_view = client_for(owner).get(f"/api/chat/{thread['id']}/messages/").json()
    assert owners_view["thread"]["unread"] == 0

    # The customer sees the technician's message, named with the business, unread.
    customers = client_for(customer).get(f"/api/chat/{thread['id']}/messages/").json()
    assert [(m["sender"], m["mine"]) for m in customers["messages"]] == [(customer.pk, True), (tech.pk, False)]
    assert customers["messages"][1]["sender_name"] == "Tina (Tap Masters)"
    assert customers["thread"]["unread"] == 1
    assert customers["thread"]["seen_up_to"] == hello.json()["id"]  # the business side has seen it

    assert can_subscribe(tech, f"chat.{thread['id']}")


def test_a_technician_not_booked_on_the_job_is_an_outsider(customer: User, owner: User, booked) -> None:
    appointment, _, _ = booked
    _, other_tech = technician_of(owner, "techchat_otto", "Otto")
    thread = services.chat_threads_open(job=appointment.job, viewer=customer)[0]
    assert client_for(other_tech).get(f"/api/jobs/{appointment.job_id}/chat/").status_code == 404
    assert client_for(other_tech).get(f"/api/chat/{thread.pk}/messages/").status_code == 404
    assert client_for(other_tech).post(f"/api/chat/{thread.pk}/messages/", {"text": "hi"}, format="json").status_code == 404
    assert not can_subscribe(other_tech, f"chat.{thread.pk}")


def test_access_follows_the_booking_moved_to_another_worker_or_cancelled(customer: User, owner: User, booked) -> None:
    appointment, _, tech = booked
    thread = services.chat_threads_open(job=appointment.job, viewer=customer)[0]
    assert client_for(tech).get(f"/api/chat/{thread.pk}/messages/").status_code == 200

    other_worker, other_tech = technician_of(owner, "techchat_otto", "Otto")
    moved = appointment_reassign(by=owner, appointment=appointment, worker=other_worker, start=appointment.starts_at)
    assert client_for(tech).get(f"/api/chat/{thread.pk}/messages/").status_code == 404
    assert not can_subscribe(tech, f"chat.{thread.pk}")
    assert client_for(other_tech).get(f"/api/chat/{thread.pk}/messages/").status_code == 200

    appointment_cancel(appointment=moved, actor=owner)
    assert client_for(other_tech).get(f"/api/chat/{thread.pk}/messages/").status_code == 404
    assert client_for(other_tech).get(f"/api/jobs/{appointment.job_id}/chat/").status_code == 404
    assert not can_subscribe(other_tech, f"chat.{thread.pk}")
