"""Every model is in Django admin, every changelist renders with its filters and search, and every name reads as English."""

from __future__ import annotations

import re

import inflection
import pytest
from django.apps import AppConfig, apps
from django.contrib import admin
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import capfirst

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


# --- names a person reads ------------------------------------------------------------------

# Plurals that are not the English plural of the singular, on purpose.
PLURAL_EXCEPTIONS = {
    "finance.financeledgerentry": "finance",  # its changelist is the Finance page (finance/admin.py)
    "scheduling.timeoff": "time off",  # uncountable: "time offs" is not English
}
LOWER_CASE_WORDS = re.compile(r"[a-z0-9]+(?:[ -][a-z0-9]+)*")


def ours(app_config: AppConfig) -> bool:
    """An app of this repository, not an installed library's (Django, DRF, allauth, knox, ...)."""
    return "site-packages" not in app_config.path


def test_every_model_name_reads_as_english() -> None:
    """Each plural is the English plural of its singular (inflection's rules, not singular + "s"), and each of
    our names is lower-case words (the admin capitalises them), never a class name with underscores."""
    wrong = []
    for model in apps.get_models():
        meta = model._meta
        singular, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
        expected = PLURAL_EXCEPTIONS.get(meta.label_lower, inflection.pluralize(singular))
        if plural != expected:
            wrong.append(f"{meta.label}: plural {plural!r}, expected {expected!r}")
        if ours(meta.app_config) and not all(LOWER_CASE_WORDS.fullmatch(name) for name in (singular, plural)):
            wrong.append(f"{meta.label}: {singular!r} / {plural!r} are not lower-case words")
    assert wrong == []


def test_the_names_the_issue_found_wrong() -> None:
    names = {m._meta.object_name: (m._meta.verbose_name, m._meta.verbose_name_plural) for m in apps.get_app_config("jobs").get_models()}
    assert names["TradeActivity"] == ("trade activity", "trade activities")
    assert names["JobBoardEntry"] == ("job board entry", "job board entries")
    assert names["ProStats"] == ("pro stats", "pro stats")


def test_every_app_of_ours_names_itself() -> None:
    unnamed = [
        config.label
        for config in apps.get_app_configs()
        if ours(config)
        and (
            "verbose_name" not in type(config).__dict__  # not the label capitalised by default
            or not re.fullmatch(r"[A-Z][A-Za-z0-9 ,()\-]*", str(config.verbose_name))
        )
    ]
    assert unnamed == []


def test_the_admin_index_lists_every_model_by_its_plural(client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x"))
    page = client.get(reverse("admin:index")).content.decode()
    missing = [
        f"{model._meta.label}: {capfirst(model._meta.verbose_name_plural)}"
        for model in admin.site._registry
        if f">{escape(capfirst(model._meta.verbose_name_plural))}</a>" not in page
    ]
    assert missing == []
    assert "TradeLink admin" in page and "Django administration" not in page
    for app_config in {model._meta.app_config for model in admin.site._registry}:
        assert str(escape(app_config.verbose_name)) in page, app_config.label


def test_the_admin_index_links_read_on_one_line_with_their_description(client, django_user_model) -> None:
    """The staff pages' descriptions sit under their links, not in a nowrap cell that squeezes the link to
    one letter per line, and the links share the app list's column."""
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x"))
    page = client.get(reverse("admin:index")).content.decode()
    main = page[page.index('<div id="content-main">') :]
    for link, url in (("Platform dashboard", reverse("insights-platform")), ("Event backbone", reverse("admin-backbone"))):
        row = main[main.index(f'<a href="{url}">{link}</a>') :]
        row = row[: row.index("</tr>")]
        assert "<td" not in row, row  # dashboard.css: td { white-space: nowrap }
        assert "staff-page-what" in row
