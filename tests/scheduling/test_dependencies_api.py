"""Job dependencies people can use: the API, the job page's section, the admin, the slots offered and the live pushes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.realtime.models import LivePosition
from scheduling.models import Appointment, JobDependency
from scheduling.projections import ScheduleLiveHandler
from scheduling.services import appointment_book, appointment_reschedule, dependency_add
from tests.factories import CustomerFactory, pro
from tests.helpers import client_for, error_code

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def bob() -> User:
    return pro("bobdepapi")


@pytest.fixture
def worker(bob: User) -> Any:
    return worker_all_week(bob)


@pytest.fixture
def wall(customer: User, bob: User) -> Job:
    return awarded_job(customer, bob, title="Build the wall")


@pytest.fixture
def paint(customer: User, bob: User) -> Job:
    return awarded_job(customer, bob, title="Paint the wall")


def link(user: User, job: Job, prerequisite: Job) -> Any:
    return client_for(user).post(f"/api/jobs/{job.pk}/dependencies/", {"prerequisite": prerequisite.pk}, format="json")


# --- API ----------------------------------------------------------------------------------------


def test_the_customer_adds_lists_and_removes_a_dependency(customer: User, bob: User, worker: Any, wall: Job, paint: Job) -> None:
    monday = future_monday(10)
    appointment_book(job=wall, worker=worker, starts_at=monday, duration_minutes=120, actor=bob)
    response = link(customer, paint, wall)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["prerequisites"] == [
        {
            "job": wall.pk,
            "title": "Build the wall",
            "status": "scheduled",
            "starts_at": iso(monday),
            "ends_at": iso(monday + timedelta(hours=2)),
            "starts_label": monday.strftime("%a %d %b %H:%M"),
        }
    ]
    assert body["dependents"] == []
    assert link(customer, paint, wall).status_code == 200  # again: nothing changes
    assert JobDependency.objects.count() == 1
    # The prerequisite's side lists the dependent; the tradesperson doing the work may read it too.
    other_side = client_for(bob).get(f"/api/jobs/{wall.pk}/dependencies/")
    assert other_side.status_code == 200 and [d["job"] for d in other_side.json()["dependents"]] == [paint.pk]

    removed = client_for(customer).delete(f"/api/jobs/{paint.pk}/dependencies/{wall.pk}/")
    assert removed.status_code == 200 and removed.json()["prerequisites"] == []
    assert not JobDependency.objects.exists()
    emitted = OutboxEvent.objects.filter(key=str(paint.pk), event_type__startswith="dependency.").order_by("sequence")
    assert list(emitted.values_list("event_type", flat=True)) == ["dependency.added", "dependency.removed"]
    again = client_for(customer).delete(f"/api/jobs/{paint.pk}/dependencies/{wall.pk}/")
    assert again.status_code == 404 and error_code(again) == "not_found"


def test_a_loop_is_a_409_that_names_it(customer: User, wall: Job, paint: Job) -> None:
    assert link(customer, paint, wall).status_code == 201
    response = link(customer, wall, paint)
    assert response.status_code == 409 and error_code(response) == "dependency_cycle"
    assert "“Build the wall” → “Paint the wall” → “Build the wall”" in response.json()["error"]["message"]


def test_someone_elses_job_is_404_and_the_tradesperson_cannot_link(customer: User, bob: User, wall: Job, paint: Job) -> None:
    stranger = CustomerFactory.create(username="stranger_dep")
    assert link(stranger, paint, wall).status_code == 404
    assert client_for(stranger).get(f"/api/jobs/{paint.pk}/dependencies/").status_code == 404
    assert client_for(stranger).delete(f"/api/jobs/{paint.pk}/dependencies/{wall.pk}/").status_code == 404
    theirs = awarded_job(stranger, bob, title="Their shed")
    response = link(customer, paint, theirs)  # a job the customer cannot see
    assert response.status_code == 400 and error_code(response) == "validation_error"
    forbidden = link(bob, paint, wall)
    assert forbidden.status_code == 403 and error_code(forbidden) == "forbidden"
    assert not JobDependency.objects.exists()


# --- slots ----------------------------------------------------------------------------------------


def test_the_dependents_slots_start_after_the_prerequisite_ends(customer: User, bob: User, worker: Any, wall: Job, paint: Job) -> None:
    dependency_add(job=paint, depends_on=wall, actor=customer)
    monday = future_monday(0)
    query = {"duration": "60", "from": iso(monday), "days": "1"}
    waiting = client_for(customer).get(f"/api/jobs/{paint.pk}/slots/", query).json()
    assert waiting["slots"] == [] and waiting["waiting_for"] == {"job": wall.pk, "title": "Build the wall", "scheduled": False}
    assert waiting["note"] == "Can be booked once “Build the wall” is scheduled: this job has to come after it."

    appointment_book(job=wall, worker=worker, starts_at=monday + timedelta(hours=10), duration_minutes=120, actor=bob)  # to 12:00
    body = client_for(customer).get(f"/api/jobs/{paint.pk}/slots/", query).json()
    assert body["earliest_start"] == iso(monday + timedelta(hours=12)) and body["waiting_for"]["scheduled"] is True
    # The same worker travels for 30 minutes after the wall: 12:30 is the first start.
    assert body["slots"][0]["starts_at"] == iso(monday + timedelta(hours=12, minutes=30))
    assert "“Build the wall” ends" in body["note"] and "only start after that" in body["note"]
    # The wall's own slots are not held up by the paint.
    assert client_for(customer).get(f"/api/jobs/{wall.pk}/slots/", query).json()["waiting_for"] is None


# --- the job page ------------------------------------------------------------------------------------


def test_the_job_page_links_and_unlinks_with_sentences(client: Any, customer: User, wall: Job, paint: Job) -> None:
    client.force_login(customer)
    page = client.get(f"/jobs/{paint.pk}/").content.decode()
    assert "Must happen after…" in page and f'<option value="{wall.pk}">Build the wall</option>' in page

    response = client.post(reverse("job-dependency-add", args=[paint.pk]), {"prerequisite": wall.pk})
    assert response.status_code == 302 and response["Location"] == f"/jobs/{paint.pk}/#dependencies"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "“Paint the wall” now comes after “Build the wall”: it can only start once that job's appointment ends."
    ]
    page = client.get(f"/jobs/{paint.pk}/").content.decode()
    assert 'data-testid="prerequisite"' in page and "Not scheduled yet" in page
    assert "Can be booked" not in page  # said by the booking section, drawn by booking.js from the slots API

    # The loop, refused as a sentence on the wall's page, which lists the paint as waiting for it.
    response = client.post(reverse("job-dependency-add", args=[wall.pk]), {"prerequisite": paint.pk}, follow=True)
    page = response.content.decode()
    assert "That would make a loop (“Build the wall” → “Paint the wall” → “Build the wall”)" in page.replace("&ldquo;", "“")
    assert 'data-testid="dependent"' in page
    response = client.post(reverse("job-dependency-add", args=[wall.pk]), {"prerequisite": ""}, follow=True)
    assert "Choose which of your jobs has to happen first." in response.content.decode()

    # Removing from the wall's page (the paint's link) comes back to the wall's page.
    response = client.post(reverse("job-dependency-remove", args=[paint.pk, wall.pk]), {"back": wall.pk})
    assert response["Location"] == f"/jobs/{wall.pk}/#dependencies" and not JobDependency.objects.exists()


def test_the_page_forms_are_the_customers_only(client: Any, customer: User, bob: User, wall: Job, paint: Job) -> None:
    client.force_login(CustomerFactory.create(username="nosy_dep"))
    assert client.post(reverse("job-dependency-add", args=[paint.pk]), {"prerequisite": wall.pk}).status_code == 404
    client.force_login(bob)
    assert client.post(reverse("job-dependency-add", args=[paint.pk]), {"prerequisite": wall.pk}).status_code == 404
    assert not JobDependency.objects.exists()


# --- admin -------------------------------------------------------------------------------------


def test_the_admin_adds_and_deletes_through_the_service(client: Any, django_user_model: Any, wall: Job, paint: Job) -> None:
    client.force_login(django_user_model.objects.create_superuser("root_dep", "root@example.com", "pw-123456-x"))
    add = reverse("admin:scheduling_jobdependency_add")
    response = client.post(add, {"job": paint.pk, "depends_on": wall.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    dependency = JobDependency.objects.get()
    assert OutboxEvent.objects.filter(key=str(paint.pk), event_type="dependency.added").count() == 1
    listing = client.get(reverse("admin:scheduling_jobdependency_changelist")).content.decode()
    assert "“Paint the wall” after “Build the wall”" in listing.replace("&ldquo;", "“").replace("&rdquo;", "”")

    # A loop is refused with the service's sentence, back on the add form with what was typed.
    response = client.post(add, {"job": wall.pk, "depends_on": paint.pk})
    assert response.status_code == 302 and response["Location"] == f"{add}?job={wall.pk}&depends_on={paint.pk}"
    form = client.get(response["Location"]).content.decode()
    assert "That would make a loop" in form and JobDependency.objects.count() == 1

    delete = reverse("admin:scheduling_jobdependency_delete", args=[dependency.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not JobDependency.objects.exists()
    assert OutboxEvent.objects.filter(key=str(paint.pk), event_type="dependency.removed").count() == 1


# --- live ----------------------------------------------------------------------------------------


def test_moving_the_prerequisite_pushes_the_flag_to_the_dependent_job_and_the_business(
    customer: User, bob: User, worker: Any, wall: Job, paint: Job
) -> None:
    monday = future_monday(0)
    dependency_add(job=paint, depends_on=wall, actor=customer)
    wall_appointment = appointment_book(job=wall, worker=worker, starts_at=monday + timedelta(hours=8), duration_minutes=60, actor=bob)
    appointment_book(job=paint, worker=worker, starts_at=monday + timedelta(hours=10), duration_minutes=60, actor=customer)
    appointment_reschedule(appointment=wall_appointment, starts_at=monday + timedelta(hours=12), actor=bob)
    assert Appointment.objects.get(job=paint).flagged_at is not None

    def pushed(event_type: str) -> set[str]:
        LivePosition.objects.all().delete()
        ScheduleLiveHandler().handle(from_dict(OutboxEvent.objects.filter(key=str(paint.pk), event_type=event_type).latest("id").envelope))
        return set(LivePosition.objects.values_list("stream", flat=True))

    expected = {f"job.{paint.pk}", f"user.{bob.pk}", f"calendar.{bob.pk}"}
    assert expected <= pushed("appointment.flagged")
    appointment_reschedule(appointment=wall_appointment, starts_at=monday + timedelta(hours=8), actor=bob)
    assert Appointment.objects.get(job=paint).flagged_at is None
    assert expected <= pushed("appointment.unflagged")  # the calendar hears the flag clear too
