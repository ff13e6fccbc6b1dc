"""API output shapes of the finance read model."""

from __future__ import annotations

from rest_framework import serializers

from marketplace.api import money_out

from .models import FinanceOpenPayment


class FinanceTotalsSerializer(serializers.Serializer):
    captured = money_out()
    refunded = money_out()
    platform_revenue = money_out()
    payouts_paid = money_out()
    payments = serializers.IntegerField()
    outstanding_deposits = money_out()
    balances_due = money_out()
    payouts_due = money_out()
    open_payments = serializers.IntegerField()


class FinanceOpenPaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = FinanceOpenPayment
        fields = ["payment_id", "job_id", "customer_id", "tradesperson_id", "status", "held", "balance_due", "payout_due", "updated_at"]


class FinanceOutputSerializer(serializers.Serializer):
    totals = FinanceTotalsSerializer(help_text="From the finance read model (the finance consumer); null sums mean nothing yet.")
    open_payments = FinanceOpenPaymentSerializer(many=True)
