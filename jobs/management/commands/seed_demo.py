"""Demo data for a first run: a living marketplace around London.

Trades, customers, tradespeople with profiles spread over London, open jobs and a
few bids.  Idempotent: does nothing once the demo admin exists.  Everything goes
through the same services as the API, so events flow through the outbox and the
consumers (matching, board, notifications) build the rest when the stack runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from jobs import services
from jobs.models import Trade, TradespersonProfile
from jobs.places import by_label
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

# username, business, trades, base place, radius km, verified, insured
PROS = [
    ("bob", "Bob's Plumbing", ["plumbing", "hvac"], "N1", 15, True, True),
    ("priya", "Priya Electrical", ["electrical"], "E8", 12, True, True),
    ("tom", "Tom the Carpenter", ["carpentry"], "SE15", 10, False, True),
    ("sara", "Sara Heating Services", ["hvac", "plumbing"], "SW4", 18, True, False),
    ("kwame", "Kwame Decorators", ["painting"], "SW2", 10, False, False),
    ("lena", "Lena Roofing & Gutters", ["roofing"], "NW5", 20, True, True),
    ("dan", "Dan's Drains", ["plumbing"], "E17", 12, False, True),
    ("mo", "Mo Sparks", ["electrical"], "W6", 15, True, False),
    ("grace", "Grace Plumbing & Heating", ["plumbing", "hvac"], "SE10", 15, True, True),
    ("olu", "Olu Painting", ["painting", "carpentry"], "N16", 12, False, True),
]

CUSTOMERS = [("alice", "Alice Walker"), ("carol", "Carol Singh"), ("dev", "Dev Patel")]

# customer, trade, title, description, place, budget min, max, emergency
JOBS = [
    (
        "alice",
        "plumbing",
        "Leaking kitchen tap",
        "The mixer tap drips constantly; washer or cartridge probably needs replacing.",
        "N1",
        "60",
        "150",
        False,
    ),
    (
        "alice",
        "electrical",
        "Replace consumer unit",
        "Old fuse box in a 3-bed terrace; want a modern RCD consumer unit with certificate.",
        "SE10",
        "450",
        "800",
        False,
    ),
    ("carol", "hvac", "Boiler not firing", "Combi boiler shows F28 and there is no hot water or heating.", "N16", "80", "300", True),
    (
        "carol",
        "painting",
        "Paint living room",
        "Walls and ceiling of a 4x5 m living room, two coats, paint supplied.",
        "SW2",
        "300",
        "500",
        False,
    ),
    (
        "dev",
        "carpentry",
        "Fit three internal doors",
        "Doors bought already; need hanging, handles and latches fitted.",
        "SE15",
        "200",
        "400",
        False,
    ),
    ("dev", "roofing", "Slipped roof tiles", "Two tiles slipped after the storm; small leak into the loft.", "NW5", "100", "350", True),
    (
        "alice",
        "plumbing",
        "Install outside tap",
        "Outside tap on the back wall, pipe run about 2 m from the kitchen.",
        "N5",
        "90",
        "180",
        False,
    ),
]

# (job index, pro username, amount, message)
BIDS = [
    (0, "bob", "95.00", "I can come tomorrow morning; cartridge and labour included."),
    (0, "grace", "120.00", "Same-day visit possible, all parts carried on the van."),
    (2, "sara", "140.00", "Gas Safe registered, F28 is usually the gas supply or ignition: can diagnose today."),
]


class Command(BaseCommand):
    help = "Create demo trades, customers, tradespeople, jobs and bids around London (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            trades = {slug: Trade.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TRADES}
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD, display_name="Admin")
            customers = {
                username: User.objects.create_user(
                    username, f"{username}@example.com", DEMO_PASSWORD, role=User.Role.CUSTOMER, display_name=name
                )
                for username, name in CUSTOMERS
            }
            pros = {}
            for username, business, trade_slugs, postcode, radius, verified, insured in PROS:
                user = User.objects.create_user(
                    username, f"{username}@example.com", DEMO_PASSWORD, role=User.Role.TRADESPERSON, display_name=business
                )
                place = by_label(postcode)
                assert place is not None, postcode
                services.pro_profile_save(
                    user=user,
                    business_name=business,
                    trades=[trades[slug] for slug in trade_slugs],
                    base_latitude=place.latitude,
                    base_longitude=place.longitude,
                    base_place=place.label,
                    service_radius_km=radius,
                    bio=f"{business}: reliable, tidy and on time. Based in {place.name}.",
                )
                # Badges are an admin decision; the demo starts with some already checked.
                TradespersonProfile.objects.filter(user=user).update(is_id_verified=verified, is_insured=insured)
                pros[username] = user
            jobs = []
            for customer, trade_slug, title, description, postcode, low, high, urgent in JOBS:
                place = by_label(postcode)
                assert place is not None, postcode
                job, _ = services.job_post(
                    customer=customers[customer],
                    trade=trades[trade_slug],
                    title=title,
                    description=description,
                    latitude=place.latitude,
                    longitude=place.longitude,
                    place=place.label,
                    budget_min=Decimal(low),
                    budget_max=Decimal(high),
                    is_emergency=urgent,
                )
                jobs.append(job)
            for index, username, amount, message in BIDS:
                profile = TradespersonProfile.objects.get(user=pros[username])
                services.leads_offer(job=jobs[index], offers=[(profile, Decimal("2.00"), Decimal("0.9"))], match_round=1)
                services.bid_place(job=jobs[index], tradesperson=pros[username], amount=Decimal(amount), message=message)
        self.stdout.write(
            self.style.SUCCESS(
                f"demo data created: {len(TRADES)} trades, {len(CUSTOMERS)} customers, {len(PROS)} tradespeople, "
                f"{len(JOBS)} jobs, {len(BIDS)} bids"
            )
        )
