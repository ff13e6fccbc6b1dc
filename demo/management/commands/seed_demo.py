"""Demo data for a first run: a living marketplace around London.

Trades, customers, tradespeople with profiles spread over London, open jobs and
bids carrying itemised quotes (one with good / better / best options, one revised to
version 2), the promo code DEMO10, one job accepted with its deposit held and one job
accepted, started and completed (the ``payments`` consumer and the payments executor
collect its price once the stack runs), fixed-price services to book from a profile ("Boiler service",
"Tap replacement") and portfolio photos (drawn with Pillow) on Bob's profile.  Idempotent: does nothing once
the demo admin exists, and everything is created in one transaction.  Everything goes through the same services as the API, so
events flow through the outbox and the consumers (matching, board, notifications,
payments, finance) build the rest when the stack runs.  Payments use the SIMULATED
gateway's test token ``tok_visa``: no real money moves.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from jobs import credentials, services
from jobs.models import Job, Trade, TradespersonProfile
from jobs.places import by_label
from jobs.questions import seed_questions
from marketplace.accounts.models import User
from matching import services as matching_services
from quotes.models import PromoCode, QuoteVersion
from quotes.offerings import offering_save
from quotes.pricing import Discount, LineItem
from quotes.services import OptionInput, QuoteInput, quote_accept, quote_revise, quote_submit

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

# Fixed-price services customers can book straight from the profile: username, trade, title, description, price, minutes
OFFERINGS = [
    ("bob", "hvac", "Boiler service", "Annual gas boiler service and safety check, with a written report.", "85.00", 60),
    ("bob", "plumbing", "Tap replacement", "Swap one kitchen or bathroom tap for one you have bought; old tap taken away.", "95.00", 90),
    ("grace", "hvac", "Radiator bleed and balance", "Bleed and balance every radiator so the whole house heats evenly.", "70.00", 60),
]

# Portfolio photos (drawn here, so the demo needs no image files): username, caption, wall colour, tile colour
PORTFOLIO = [
    ("bob", "New bathroom, Islington: tiles and fittings", (226, 232, 240), (59, 130, 246)),
    ("bob", "Combi boiler fitted in a kitchen cupboard", (250, 245, 235), (234, 88, 12)),
]


def _demo_photo(name: str, wall: tuple[int, int, int], tile: tuple[int, int, int]) -> SimpleUploadedFile:
    """A small JPEG that looks like a tiled wall: something to show in the portfolio, made with Pillow."""
    image = Image.new("RGB", (640, 480), wall)
    draw = ImageDraw.Draw(image)
    for row in range(6):
        for col in range(8):
            if (row + col) % 2 == 0:
                draw.rectangle((col * 80 + 4, row * 80 + 4, col * 80 + 76, row * 80 + 76), fill=tile)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# username, credential kind, number (made up), valid for days, verified by staff (else awaiting verification in admin)
CREDENTIALS = [
    ("bob", "gas_safe", "512347", 300, True),
    ("bob", "public_liability_insurance", "PL-88120-B", 150, True),
    ("priya", "niceic", "NIC-604211", 400, True),
    ("grace", "gas_safe", "587712", 200, True),
    ("sara", "gas_safe", "566109", 365, False),
    ("mo", "napit", "NAP-31877", 250, False),
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

# The answers each demo job gives to its trade's questions (jobs/data/questions.json), by title.
JOB_ANSWERS: dict[str, dict[str, Any]] = {
    "Leaking kitchen tap": {"plumbing_work": "leak", "plumbing_water_off": "no"},
    "Replace consumer unit": {"electrical_work": "fault", "electrical_power_off": "no"},
    "Boiler not firing": {"heating_work": "repair", "heating_fuel": "gas"},
    "Paint living room": {"painting_where": "inside", "painting_rooms": "1", "painting_surfaces": ["walls", "ceilings"]},
    "Fit three internal doors": {"carpentry_work": ["doors"], "carpentry_materials": "yes"},
    "Slipped roof tiles": {"roofing_work": "repair", "roofing_storeys": "2", "roofing_leaking": "yes"},
    "Install outside tap": {"plumbing_work": "install", "plumbing_fixture": "tap"},
}
# Answers a demo business does not take: matching never offers them such jobs.
DECLINED_ANSWERS: dict[str, list[str]] = {"sara": ["heating_fuel=oil"]}

D = Decimal


def _line(kind: str, description: str, quantity: str, unit_price: str) -> LineItem:
    return LineItem(kind, description, D(quantity), D(unit_price))  # type: ignore[arg-type]


def _quote(*options: OptionInput, message: str, notes: str = "", discount: Discount | None = None) -> QuoteInput:
    return QuoteInput(options=list(options), message=message, notes=notes, discount=discount)


def _standard(*lines: LineItem) -> OptionInput:
    return OptionInput(lines=list(lines))


# (job index, pro username, quote, revision or None).  The bid's amount is the first option's net price.
BIDS: list[tuple[int, str, QuoteInput, QuoteInput | None]] = [
    (
        0,
        "bob",
        _quote(
            OptionInput(
                tier="good",
                title="New washer",
                lines=[_line("callout", "Call-out", "1", "25.00"), _line("labour", "Labour (hours)", "1", "45.00")],
            ),
            OptionInput(
                tier="better",
                title="New cartridge",
                lines=[
                    _line("callout", "Call-out", "1", "25.00"),
                    _line("labour", "Labour (hours)", "1", "45.00"),
                    _line("materials", "Ceramic cartridge", "1", "25.00"),
                ],
            ),
            OptionInput(
                tier="best",
                title="New mixer tap",
                lines=[
                    _line("callout", "Call-out", "1", "25.00"),
                    _line("labour", "Labour (hours)", "1.5", "45.00"),
                    _line("materials", "Chrome mixer tap", "1", "89.00"),
                ],
            ),
            message="I can come tomorrow morning; cartridge and labour included.",
            notes="Parts carried on the van. Old tap taken away.",
        ),
        None,
    ),
    (
        0,
        "grace",
        _quote(
            _standard(_line("labour", "Labour (hours)", "2", "50.00"), _line("materials", "Cartridge and washers", "1", "20.00")),
            message="Same-day visit possible, all parts carried on the van.",
        ),
        _quote(
            _standard(
                _line("labour", "Labour (hours)", "2", "50.00"),
                _line("materials", "Cartridge and washers", "1", "20.00"),
                _line("discount", "Returning customer", "1", "10.00"),
            ),
            message="Revised: 10 pounds off for a returning customer.",
        ),
    ),
    (
        2,
        "sara",
        _quote(
            _standard(_line("callout", "Emergency call-out", "1", "60.00"), _line("labour", "Diagnosis and repair (hours)", "1", "80.00")),
            message="Gas Safe registered, F28 is usually the gas supply or ignition: can diagnose today.",
        ),
        None,
    ),
    (
        4,
        "tom",
        _quote(
            _standard(
                _line("labour", "Hang a door (per door)", "3", "85.00"), _line("materials", "Hinges, latches and screws", "1", "36.00")
            ),
            message="Three doors in a day; I bring hinges and latches.",
        ),
        None,
    ),
    (
        3,
        "kwame",
        _quote(
            _standard(_line("labour", "Painting (days)", "2", "180.00"), _line("materials", "Filler, tape and sheets", "1", "25.00")),
            message="Two coats on walls and ceiling, furniture covered.",
            discount=Discount("percent", D("5")),
        ),
        None,
    ),
]

# (job index, customer, tradesperson, promo code, then: "held" = deposit held, "completed" = started and completed)
ACCEPTED = [
    (4, "dev", "tom", "", "held"),
    (3, "carol", "kwame", "DEMO10", "completed"),
]


class Command(BaseCommand):
    help = "Create demo trades, customers, tradespeople, jobs and bids around London (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            trades = {slug: Trade.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TRADES}
            seed_questions()  # the job form asks each trade's questions (jobs/data/questions.json)
            admin = User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD, display_name="Admin")
            customers = {
                username: User.objects.create_user(
                    username, f"{username}@example.com", DEMO_PASSWORD, role=User.Role.CUSTOMER, display_name=name
                )
                for username, name in CUSTOMERS
            }
            pros: dict[str, User] = {}
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
                    # The verified businesses are VAT registered (made-up numbers); the others are below the threshold.
                    invoicing=services.InvoiceDetails(
                        legal_name=f"{business} Ltd" if verified else business,
                        business_address=f"{10 + len(pros)} High Street\nLondon {postcode}",
                        vat_registered=verified,
                        vat_number=f"GB{100000000 + 7919 * (len(pros) + 1)}" if verified else "",
                    ),
                    declined_answers=DECLINED_ANSWERS.get(username, []),
                )
                # Badges are an admin decision; the demo starts with some already checked.
                TradespersonProfile.objects.filter(user=user).update(is_id_verified=verified, is_insured=insured)
                pros[username] = user
            # Demo addresses are at example.com, which no mail reaches: counted as confirmed so no reminder shows.
            EmailAddress.objects.bulk_create(
                EmailAddress(user=user, email=user.email, primary=True, verified=True)
                for user in [admin, *customers.values(), *pros.values()]
            )
            for username, kind, number, days, checked in CREDENTIALS:
                credential = credentials.credential_add(
                    user=pros[username], kind=kind, number=number, expires_on=credentials.today() + timedelta(days=days)
                )
                if checked:
                    credentials.credential_verify(credential=credential, staff=admin)
            for username, trade_slug, title, description, price, minutes in OFFERINGS:
                offering_save(
                    pro=pros[username], trade=trades[trade_slug], title=title, description=description, price=D(price),
                    duration_minutes=minutes,
                )  # fmt: skip
            for photo_number, (username, caption, wall, tile) in enumerate(PORTFOLIO, start=1):
                picture = _demo_photo(f"work-{photo_number}.jpg", wall, tile)
                services.portfolio_photo_add(user=pros[username], photo=picture, caption=caption)
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
                    answers=JOB_ANSWERS.get(title, {}),
                )
                jobs.append(job)
            PromoCode.objects.get_or_create(
                code="DEMO10",
                defaults={
                    "description": "Demo: 10 % off, once per customer.",
                    "kind": PromoCode.Kind.PERCENT,
                    "value": D("10"),
                    "max_uses_per_customer": 1,
                },
            )
            versions: dict[int, QuoteVersion] = {}
            for index, username, quote, revision in BIDS:
                profile = TradespersonProfile.objects.get(user=pros[username])
                matching_services.leads_offer(job=jobs[index], offers=[(profile, Decimal("2.00"), Decimal("0.9"))], match_round=1)
                version = quote_submit(job=jobs[index], tradesperson=pros[username], quote=quote)
                if revision is not None:
                    version = quote_revise(bid=version.bid, actor=pros[username], quote=revision)
                versions[index] = version
            for index, customer, pro, promo, stage in ACCEPTED:
                version = versions[index]
                quote_accept(
                    job=jobs[index],
                    bid=version.bid,
                    actor=customers[customer],
                    version_number=version.number,
                    tier=version.options.order_by("position").values_list("tier", flat=True)[0],
                    card_token="tok_visa",  # noqa: S106 - the SIMULATED gateway's test token, not a secret
                    promo_code=promo,
                    idempotency_key=f"seed-demo:{index}",
                )
                if stage == "completed":
                    job = Job.objects.get(pk=jobs[index].pk)
                    services.job_start_work(job=job, actor=pros[pro])
                    services.job_complete(job=job, actor=pros[pro])
                    from reviews.services import review_post, review_reply  # reviews builds on jobs

                    stars = {"punctuality": 5, "quality": 5, "value": 4, "communication": 5}
                    comment = "Arrived on time, explained everything and left the place spotless."
                    review = review_post(job=job, customer=customers[customer], rating=5, aspects=stars, comment=comment)
                    review_reply(review=review, actor=pros[pro], reply="Thank you, Carol! Give us a call any time.")
        self.stdout.write(
            self.style.SUCCESS(
                f"demo data created: {len(TRADES)} trades, {len(CUSTOMERS)} customers, {len(PROS)} tradespeople, "
                f"{len(JOBS)} jobs, {len(BIDS)} quoted bids, {len(ACCEPTED)} accepted (deposit held; completed), promo code DEMO10"
            )
        )
