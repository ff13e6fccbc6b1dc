"""Every model is in Django admin, and every changelist renders with its filters and search."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import post_job

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "events", "realtime", "notifications", "jobs", "quotes"}


def test_every_model_of_ours_is_registered() -> None:
    missing = [m.__name__ for m in apps.get_models() if m._meta.app_label in OUR_APPS and m not in admin.site._registry]
    assert missing == []


def test_every_changelist_and_search_renders_for_staff(client, django_user_model, customer) -> None:
    post_job(customer)
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    client.force_login(staff)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        if model_admin.search_fields:
            assert client.get(url, {"q": "1"}).status_code == 200, url
