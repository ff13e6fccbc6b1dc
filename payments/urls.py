"""Payout pages for tradespeople (see payments/views.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("payouts/", views.payouts_page, name="payouts"),
    path("payouts/<int:payout_id>/", views.statement_page, name="payout-statement"),
]
