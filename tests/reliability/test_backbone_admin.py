"""/admin/backbone/: who may see it, the figures and their alert levels, consumer lag, and replaying dead letters."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse

from jobs.models import JobBoardEntry
from marketplace.accounts.models import User
from marketplace.events.models import DeadLetter, OutboxEvent
from marketplace.events.topics import kafka_topic
from marketplace.ops import backbone
from tests.events.pipeline import relay_all
from tests.factories import post_job

URL = "/admin/backbone/"


@pytest.fixture
def no_broker_probe() -> Iterator[None]:
    """Prime the lag cache (no groups read) so pages that are not about lag do not probe a broker."""
    backbone._lag_cache.update(at=time.monotonic(), rows=[], error="")
    yield
    backbone._lag_cache.update(at=0.0, rows=[], error="")


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("bb_root", "root@example.com", "pw-123456-x")


def staff_with(*codenames: str) -> User:
    user = User.objects.create_user(f"bb_staff_{'_'.join(codenames) or 'none'}", password="pw-123456-x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="events", codename__in=codenames))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def dead_letter_for(job_id: int, consumer: str = "jobs-board") -> DeadLetter:
    """A dead letter holding the job's real job.posted message, as the runner stores one."""
    row = OutboxEvent.objects.get(event_type="job.posted", key=str(job_id))
    envelope = row.envelope if isinstance(row.envelope, dict) else json.loads(row.envelope)
    return DeadLetter.objects.create(
        consumer=consumer,
        topic=row.topic,
        partition=0,
        offset=job_id,
        key=str(job_id),
        value=json.dumps(envelope).encode(),
        headers={"event_type": "job.posted", "event_id": str(row.event_id)},
        event_id=row.event_id,
        event_type="job.posted",
        error="RuntimeError: board index was down",
        error_class="builtins.RuntimeError",
    )


@pytest.mark.django_db
def test_anonymous_and_non_staff_are_refused(customer: User, no_broker_probe: None) -> None:
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and reverse("admin:login") in anonymous["Location"]
    as_customer = logged_in(customer).get(URL)
    assert as_customer.status_code == 302 and reverse("admin:login") in as_customer["Location"]
    assert logged_in(customer).post(URL, {"all": "1"}).status_code == 302
    assert logged_in(staff_with()).get(URL).status_code == 403  # staff, but no permission on the backbone


@pytest.mark.django_db
def test_superuser_sees_the_figures_with_green_amber_red_levels(superuser: User, customer: User, no_broker_probe: None) -> None:
    for _ in range(3):
        post_job(customer)  # three unpublished outbox rows
    page = logged_in(superuser).get(URL)
    assert page.status_code == 200
    view = page.context["b"]
    assert view.outbox_backlog.value == 3 and view.outbox_backlog.level == "green"
    assert view.dead_letters.value == 0 and view.overall == "green"
    assert 'data-figure="OUTBOX_BACKLOG" data-level="green"' in page.content.decode()

    thresholds = {"CONSUMER_LAG": (1, 5), "OUTBOX_BACKLOG": (2, 3), "OUTBOX_AGE_S": (3600, 7200), "DEAD_LETTERS": (1, 10)}
    with override_settings(BACKBONE_ALERTS=thresholds):
        view = logged_in(superuser).get(URL).context["b"]
        assert view.outbox_backlog.level == "red" and view.outbox_age.level == "green" and view.overall == "red"
        dead_letter_for(int(OutboxEvent.objects.filter(event_type="job.posted").values_list("key", flat=True)[0]))
        view = logged_in(superuser).get(URL).context["b"]
        assert view.dead_letters.value == 1 and view.dead_letters.level == "amber"
        assert view.dead_letters_by_source == [
            {"consumer": "jobs-board", "topic": "marketplace.jobs", "count": 1, "latest": view.recent_dead_letters[0].created_at}
        ]


@pytest.mark.django_db
def test_the_admin_index_links_the_page_for_those_who_may_see_it(superuser: User, no_broker_probe: None) -> None:
    assert URL in logged_in(superuser).get("/admin/").content.decode()
    assert URL in logged_in(staff_with("view_deadletter")).get("/admin/").content.decode()
    assert URL not in logged_in(staff_with("view_outboxevent")).get("/admin/").content.decode()


@pytest.mark.django_db
def test_replay_moves_a_dead_letter_back_through_its_consumer(superuser: User, customer: User, no_broker_probe: None) -> None:
    job = post_job(customer)
    letter = dead_letter_for(job.pk)
    page = logged_in(superuser).get(URL).content.decode()
    assert f'data-dead-letter="{letter.pk}"' in page and "board index was down" in page
    assert not JobBoardEntry.objects.filter(job_id=job.pk).exists()

    response = logged_in(superuser).post(URL, {"ids": [str(letter.pk)]})
    assert response.status_code == 302 and response["Location"] == URL
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.REDRIVEN and letter.resolved_at is not None
    assert JobBoardEntry.objects.filter(job_id=job.pk).exists()  # the read model has the event now
    assert logged_in(superuser).get(URL).context["b"].dead_letters.value == 0


@pytest.mark.django_db
def test_replay_all_for_one_source_and_a_replay_that_still_fails_stays_pending(
    superuser: User, customer: User, no_broker_probe: None
) -> None:
    jobs = [post_job(customer) for _ in range(2)]
    letters = [dead_letter_for(job.pk) for job in jobs]
    broken = DeadLetter.objects.create(
        consumer="jobs-board", topic="marketplace.other", partition=0, offset=1, value=b"not json", error="x", error_class="x"
    )
    client = logged_in(superuser)
    response = client.post(URL, {"all": "1", "consumer": "jobs-board", "topic": "marketplace.jobs"}, follow=True)
    assert "Replayed: 2; still failing: 0." in response.content.decode()
    assert {d.status for d in DeadLetter.objects.filter(pk__in=[x.pk for x in letters])} == {DeadLetter.Status.REDRIVEN}
    response = client.post(URL, {"ids": [str(broken.pk)]}, follow=True)
    assert "Replayed: 0; still failing: 1." in response.content.decode()
    broken.refresh_from_db()
    assert broken.status == DeadLetter.Status.PENDING and broken.attempts == 2


@pytest.mark.django_db
def test_staff_who_may_only_view_cannot_replay(customer: User, no_broker_probe: None) -> None:
    letter = dead_letter_for(post_job(customer).pk)
    viewer = logged_in(staff_with("view_deadletter"))
    page = viewer.get(URL)
    assert page.status_code == 200 and "Replay selected" not in page.content.decode()
    assert viewer.post(URL, {"ids": [str(letter.pk)]}).status_code == 403
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.PENDING
    # With the change permission they can.
    replayer = logged_in(staff_with("view_deadletter", "change_deadletter"))
    assert replayer.post(URL, {"ids": [str(letter.pk)]}).status_code == 302
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.REDRIVEN


@pytest.mark.django_db(transaction=True)
def test_consumer_lag_per_group_and_partition_from_the_real_broker(broker, superuser: User, customer: User) -> None:
    for _ in range(3):
        post_job(customer)
    assert relay_all() == 3
    with override_settings(BACKBONE_ALERTS={**backbone.settings.BACKBONE_ALERTS, "CONSUMER_LAG": (1, 3)}):
        page = logged_in(superuser).get(URL, {"refresh": "1"})
    view = page.context["b"]
    assert view.lag_error == ""
    by_group = {g.consumer: g for g in view.lag}
    board = by_group["jobs-board"]  # nobody consumed: the group is behind by every job.posted
    assert board.total >= 3 and board.level == "red"
    assert sum(behind for topic, _, behind in board.partitions if topic == kafka_topic("marketplace.jobs")) >= 3
    assert view.overall == "red"
    assert 'data-consumer="jobs-board" data-level="red"' in page.content.decode()


@pytest.mark.django_db
def test_an_unreachable_broker_shows_an_error_not_a_crash(superuser: User, settings) -> None:
    from tests.support import free_port

    settings.KAFKA = {**settings.KAFKA, "BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    backbone._lag_cache.update(at=0.0)
    started = time.monotonic()
    page = logged_in(superuser).get(URL)
    assert page.status_code == 200
    assert page.context["b"].lag_error == backbone.LAG_UNKNOWN
    assert "KafkaError" not in page.content.decode() and "_TRANSPORT" not in page.content.decode()  # no exception text
    assert time.monotonic() - started < 15
    backbone._lag_cache.update(at=0.0, rows=[], error="")
