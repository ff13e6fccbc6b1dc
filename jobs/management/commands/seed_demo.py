"""Demo data for a first run: trades, demo accounts and open jobs around London.

Idempotent: does nothing once the demo admin exists.  Jobs are posted through
the same service as the API, so their events flow through the outbox like any other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from jobs.models import Trade
from jobs.services import job_post
from marketplace.accounts.models import User

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - published demo credentials, development only

TRADES = [
    ("plumbing", "Plumbing"),
    ("electrical", "Electrical"),
    ("hvac", "Heating & HVAC"),
    ("carpentry", "Carpentry"),
    ("painting", "Painting & Decorating"),
    ("roofing", "Roofing"),
]

JOBS = [
    (
        "plumbing",
        "Leaking kitchen tap",
        "The mixer tap drips constantly; washer or cartridge probably needs replacing.",
        "51.54621",
        "-0.10330",
        "Islington N1",
        "60",
        "150",
        False,
    ),
    (
        "electrical",
        "Replace consumer unit",
        "Old fuse box in a 3-bed terrace, want a modern RCD consumer unit with certificate.",
        "51.47810",
        "-0.01480",
        "Greenwich SE10",
        "450",
        "800",
        False,
    ),
    (
        "hvac",
        "Boiler not firing",
        "Combi boiler shows F28 and there is no hot water or heating.",
        "51.57420",
        "-0.09780",
        "Stoke Newington N16",
        "80",
        "300",
        True,
    ),
    (
        "painting",
        "Paint living room",
        "Walls and ceiling of a 4x5 m living room, two coats, paint supplied.",
        "51.46130",
        "-0.11560",
        "Brixton SW2",
        "300",
        "500",
        False,
    ),
]


class Command(BaseCommand):
    help = "Create demo trades, accounts (alice, bob, admin) and a few open jobs, once."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            trades = {slug: Trade.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TRADES}
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD, display_name="Admin")
            alice = User.objects.create_user(
                "alice", "alice@example.com", DEMO_PASSWORD, role=User.Role.CUSTOMER, display_name="Alice Walker"
            )
            User.objects.create_user("bob", "bob@example.com", DEMO_PASSWORD, role=User.Role.TRADESPERSON, display_name="Bob's Plumbing")
            for slug, title, description, lat, lon, place, bmin, bmax, urgent in JOBS:
                job_post(
                    customer=alice,
                    trade=trades[slug],
                    title=title,
                    description=description,
                    latitude=Decimal(lat),
                    longitude=Decimal(lon),
                    place=place,
                    budget_min=Decimal(bmin),
                    budget_max=Decimal(bmax),
                    is_emergency=urgent,
                )
        self.stdout.write(self.style.SUCCESS(f"demo data created: {len(TRADES)} trades, 3 accounts, {len(JOBS)} jobs"))
