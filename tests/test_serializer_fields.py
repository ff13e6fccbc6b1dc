"""FieldsBuiltOnce (marketplace/serializer_fields.py): the same output as DRF's per-instance fields, never shared state."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from jobs.serializers import JobOutputSerializer
from marketplace.serializer_fields import FieldsBuiltOnce
from tests.factories import post_job, trade

pytestmark = pytest.mark.django_db


class PlainJobOutputSerializer(JobOutputSerializer):
    """JobOutputSerializer with DRF's own get_fields (the mixin skipped)."""

    def get_fields(self):
        return serializers.ModelSerializer.get_fields(self)


def test_output_equals_drfs_own_for_every_viewer(customer, other_customer) -> None:
    assert issubclass(JobOutputSerializer, FieldsBuiltOnce)
    job = post_job(customer, trade=trade(), title="Leaking tap")
    for viewer in (customer, other_customer):
        request = APIRequestFactory().get("/")
        request.user = viewer
        context = {"request": request, "bid_counts": {job.pk: 3}}
        cached = JobOutputSerializer(job, context=context).data
        assert cached == PlainJobOutputSerializer(job, context=context).data
        assert cached["bid_count"] == (3 if viewer == customer else None)


def test_instances_never_share_fields(customer) -> None:
    job = post_job(customer, trade=trade(), title="Leaking tap")
    first, second = JobOutputSerializer(job), JobOutputSerializer(job)
    for name, field in first.fields.items():
        assert field is not second.fields[name]
        assert field.parent is first and second.fields[name].parent is second
    assert first.data == second.data
