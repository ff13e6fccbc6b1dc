"""Pages for quotes and payments."""

from django.urls import path

from . import invoices

urlpatterns = [
    path("jobs/<int:job_id>/invoice/", invoices.job_invoice, name="job-invoice"),
]
