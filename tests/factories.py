"""The one place tests build domain objects: factory_boy factories, and the short functions tests call.

Every factory that makes a row the services own (profiles, jobs, leads, bids) creates it through
that service, not with ``Model.objects.create``: the outbox gets its events and the rules that
protect the write model also protect the test data.  So these factories only *create*; ``build()``
and ``stub()`` are not supported for them.

The functions at the bottom (``trade``, ``make_user``, ``pro``, ``post_job``, ``offer``...) are what
most tests call; each is a thin wrapper over a factory and keeps the data the tests assert on
(a pro made with ``pro()`` has a display name and no email, one made with ``make_pro()`` the reverse).

Area-specific builders stay next to their tests and build on these: quotes (tests/quotes/helpers.py),
awarded jobs and workers (tests/scheduling/helpers.py), completed jobs and reviews
(tests/reviews/helpers.py), scheduled jobs and GPS trips (tests/tracking/helpers.py), a quoted job
(tests/chat/helpers.py), a random workload (tests/insights/helpers.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.db import transaction

from jobs import questions, services
from jobs.models import Bid, Job, Lead, Trade, TradeQuestion, TradespersonProfile
from marketplace.accounts.models import User
from matching import services as matching_services

PASSWORD = "pw-123456-x"  # every test user's; browser tests type it into the login form

ISLINGTON = (Decimal("51.53620"), Decimal("-0.10330"))
BRIXTON = (Decimal("51.45230"), Decimal("-0.11840"))


# --- people -------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory[User]):
    """A customer by default.  No email unless given one: an address turns on email deliveries."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = ""
    password = PASSWORD
    role = User.Role.CUSTOMER

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        # create_user, as sign-up does: it hashes the password and normalises the email.
        return model_class.objects.create_user(*args, **kwargs)


class CustomerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"cust{n}")


class TradespersonFactory(UserFactory):
    username = factory.Sequence(lambda n: f"pro{n}")
    role = User.Role.TRADESPERSON


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


# --- trades and profiles --------------------------------------------------------------------


class TradeFactory(factory.django.DjangoModelFactory[Trade]):
    """Plumbing unless told otherwise; an existing trade with the slug is reused."""

    class Meta:
        model = Trade
        django_get_or_create = ("slug",)

    slug = "plumbing"
    name = factory.LazyAttribute(lambda trade: trade.slug.replace("-", " ").title())


class TradespersonProfileFactory(factory.django.DjangoModelFactory[TradespersonProfile]):
    """A business profile in Islington, saved through ``services.pro_profile_save``."""

    class Meta:
        model = TradespersonProfile

    user = factory.SubFactory(TradespersonFactory)
    business_name = factory.LazyAttribute(lambda profile: f"{profile.user.username.title()} Ltd")
    trades = factory.LazyFunction(lambda: [TradeFactory.create()])
    base_latitude = ISLINGTON[0]
    base_longitude = ISLINGTON[1]
    base_place = "Islington N1"
    # VAT registered at the standard rate, so quotes carry 20 % VAT as most tests expect;
    # pass ``invoicing=InvoiceDetails()`` for a business below the VAT threshold.
    invoicing = factory.LazyAttribute(
        lambda profile: services.InvoiceDetails(
            legal_name=f"{profile.user.username.title()} Trading Ltd",
            business_address="1 Upper Street\nLondon N1 0AA",
            vat_registered=True,
            vat_number="GB123456789",
        )
    )

    @classmethod
    def _create(cls, model_class: type[TradespersonProfile], *args: Any, **kwargs: Any) -> TradespersonProfile:
        return services.pro_profile_save(**kwargs)


# --- jobs, leads and bids -----------------------------------------------------------------


class JobFactory(factory.django.DjangoModelFactory[Job]):
    """A leaky tap in central London, posted through ``services.job_post`` (so ``job.posted`` is in the outbox)."""

    class Meta:
        model = Job

    customer = factory.SubFactory(CustomerFactory)
    trade = factory.SubFactory(TradeFactory)
    title = "Leaky tap"
    description = "Kitchen tap drips"
    latitude = Decimal("51.50000")
    longitude = Decimal("-0.12000")
    budget_min = Decimal("50")
    budget_max = Decimal("150")

    @classmethod
    def _create(cls, model_class: type[Job], *args: Any, **kwargs: Any) -> Job:
        if "answers" not in kwargs:
            kwargs["answers"] = sample_answers(kwargs["trade"])
        job, _ = services.job_post(**kwargs)
        return job


def sample_answers(trade: Trade) -> dict[str, Any]:
    """An answer to each of the trade's questions (the first choice, the smallest number, yes, a short text), as a
    customer who skims the form would give: a trade that staff gave required questions still takes the job.
    Photo questions are left out (none of the defaults is a required photo)."""
    Kind = TradeQuestion.Kind
    answers: dict[str, Any] = {}
    for question in questions.questions_for(trade):
        choices = [choice.value for choice in question.choices.all()]
        if question.kind == Kind.CHOICE and choices:
            answers[question.key] = choices[0]
        elif question.kind == Kind.MULTIPLE and choices:
            answers[question.key] = choices[:1]
        elif question.kind == Kind.NUMBER:
            answers[question.key] = str(question.min_value if question.min_value is not None else 1)
        elif question.kind == Kind.YES_NO:
            answers[question.key] = "yes"
        elif question.kind == Kind.TEXT:
            answers[question.key] = "As described"
    return answers


class LeadFactory(factory.django.DjangoModelFactory[Lead]):
    """The job offered to a tradesperson as matching would (``matching.services.leads_offer``, in its own transaction)."""

    class Meta:
        model = Lead

    job = factory.SubFactory(JobFactory)
    profile = factory.SubFactory(TradespersonProfileFactory)
    distance_km = Decimal("1.00")
    score = Decimal("0.9")
    match_round = 1

    @classmethod
    def _create(cls, model_class: type[Lead], *args: Any, **kwargs: Any) -> Lead:
        offer = (kwargs["profile"], kwargs["distance_km"], kwargs["score"])
        with transaction.atomic():
            return matching_services.leads_offer(job=kwargs["job"], offers=[offer], match_round=kwargs["match_round"])[0]


class BidFactory(factory.django.DjangoModelFactory[Bid]):
    """A bid through ``services.bid_place``; without a tradesperson, a new one is offered the job first."""

    class Meta:
        model = Bid

    job = factory.SubFactory(JobFactory)
    tradesperson = factory.LazyAttribute(lambda bid: LeadFactory.create(job=bid.job).tradesperson)
    amount = Decimal("120.00")

    @classmethod
    def _create(cls, model_class: type[Bid], *args: Any, **kwargs: Any) -> Bid:
        return services.bid_place(**kwargs)


# --- what the tests call ------------------------------------------------------------------


def trade(slug: str = "plumbing", name: str = "Plumbing") -> Trade:
    return TradeFactory.create(slug=slug, name=name)


def make_user(username: str, role: str = User.Role.CUSTOMER, **extra: Any) -> User:
    """A user with the email ``<username>@example.com``."""
    return UserFactory.create(username=username, email=f"{username}@example.com", role=role, **extra)


def make_profile(
    user: User, *, at: tuple[Decimal, Decimal] = ISLINGTON, trades: list[Trade] | None = None, **kw: Any
) -> TradespersonProfile:
    """``user``'s business profile, based ``at`` (Islington N1 unless ``base_place`` says otherwise)."""
    if trades:
        kw["trades"] = trades
    return TradespersonProfileFactory.create(user=user, base_latitude=at[0], base_longitude=at[1], **kw)


def make_pro(username: str, **kw: Any) -> User:
    """A tradesperson with an email and a profile (``kw`` goes to ``make_profile``); no display name."""
    user = make_user(username, User.Role.TRADESPERSON)
    make_profile(user, **kw)
    return user


def pro(username: str, *, trades: list[Trade] | None = None, at: tuple[Decimal, Decimal] = ISLINGTON, radius: int = 15, **kw: Any) -> User:
    """A tradesperson with a display name (``Bob`` for ``bob``) and a profile, no email and no base place unless given."""
    user = TradespersonFactory.create(username=username, display_name=username.title())
    kw.setdefault("base_place", "")
    make_profile(user, at=at, trades=trades, service_radius_km=radius, **kw)
    return user


def post_job(customer: User, **overrides: Any) -> Job:
    """Post a job through the real service (so the outbox gets its event); ``overrides`` are ``job_post``'s arguments."""
    return JobFactory.create(customer=customer, **overrides)


def offer(job: Job, user: User, distance: str = "1.00") -> Lead:
    """Offer ``job`` to ``user`` as matching would (they need a profile)."""
    return LeadFactory.create(job=job, profile=TradespersonProfile.objects.get(user=user), distance_km=Decimal(distance))


def place_bid(job: Job, user: User, amount: str = "120.00") -> Bid:
    return BidFactory.create(job=job, tradesperson=user, amount=Decimal(amount))
