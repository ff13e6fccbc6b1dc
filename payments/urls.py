"""Payout pages for tradespeople and the sign-off panel (views.py, signoff_views.py). Included before ``jobs.urls``, whose
``jobs/<id>/<slug:action>/`` would catch the sign-off routes."""

from django.urls import path

from . import signoff_views, views

urlpatterns = [
    path("payouts/", views.payouts_page, name="payouts"),
    path("payouts/<int:payout_id>/", views.statement_page, name="payout-statement"),
    path("jobs/<int:job_id>/signoff/", signoff_views.signoff_fragment, name="signoff-panel"),
    path("jobs/<int:job_id>/signoff/approve/", signoff_views.signoff_approve, name="signoff-approve"),
    path("jobs/<int:job_id>/signoff/problem/", signoff_views.signoff_problem, name="signoff-problem"),
]
