"""A bid's amount becomes what the customer pays, VAT included (issue 19: one price everywhere).

Bids quoted before this held their first option's net. Each quoted bid now holds its latest
version's cheapest total, or, once accepted, the accepted total (promo included), as
``quotes.services`` writes them from now on. Bids without a quote keep their amount. Reversing
leaves the amounts as they are (the old rule's figure is still each option's ``net``).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Min


def customer_prices(apps: Any, schema_editor: Any) -> None:
    Bid = apps.get_model("jobs", "Bid")
    QuoteVersion = apps.get_model("quotes", "QuoteVersion")
    QuoteOption = apps.get_model("quotes", "QuoteOption")
    QuoteAcceptance = apps.get_model("quotes", "QuoteAcceptance")
    latest: dict[int, int] = {}
    for bid_id, version_id in QuoteVersion.objects.order_by("bid_id", "number").values_list("bid_id", "pk").iterator():
        latest[bid_id] = version_id  # the last one per bid wins
    least = dict(
        QuoteOption.objects.filter(version_id__in=latest.values()).values("version_id").annotate(least=Min("total")).values_list(
            "version_id", "least"
        )
    )
    for bid_id, version_id in latest.items():
        if version_id in least:
            Bid.objects.filter(pk=bid_id).update(amount=least[version_id])
    for bid_id, total in QuoteAcceptance.objects.values_list("bid_id", "total").iterator():
        Bid.objects.filter(pk=bid_id).update(amount=total)


class Migration(migrations.Migration):
    dependencies = [
        ("quotes", "0008_vat_rate_and_invoices"),
        ("jobs", "0002_job_tradesperson"),
    ]

    operations = [migrations.RunPython(customer_prices, migrations.RunPython.noop, elidable=True)]
