"""Browser pages for quotes and payments: the quote builder, accepting with a deposit, the payment panel.

Thin, like ``jobs/views.py``: ``quotes/forms.py`` parses the builder, the services in
``quotes/services.py`` (and ``jobs/services.py`` for the work itself) decide, and every figure
comes from the pricing engine. The JSON views (``…preview.json``, ``…promo.json``) are
session-authenticated POSTs with the CSRF token, for the page's scripts to show figures while
someone types; the forms work without them.

Payments here are SIMULATED (the test gateway): the page offers test card tokens, never a
card number field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.models import Bid, Job, Lead
from jobs.roles import PARTIES, job_role
from jobs.streams import job_feed_stream, job_stream
from jobs.views import job_aggregate, own_bid, own_job, own_lead, page_user
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.realtime.push import positions
from marketplace.realtime.streams import user_stream
from payments.cancellation import CancellationCharge, CancellationTerms, cancellation_charge
from payments.models import Payment
from quotes.models import QuoteOption, QuoteVersion

from . import selectors, services
from .forms import LINE_KINDS, QuoteDraft, draft_from_version, figures_json, parse_quote

# The SIMULATED gateway's test cards (gateway_simulator/gateway.py). Never a card number.
TEST_CARDS = [
    ("tok_visa", "Test Visa — approved"),
    ("tok_decline", "Test card — declined"),
    ("tok_insufficient_funds", "Test card — insufficient funds"),
    ("tok_retry", "Test card — times out once"),
]
INVOICE_STATUSES = {Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED}

# Where a quote refusal belongs in the builder (by ServiceError code).
_QUOTE_ERROR_FIELDS = {"bad_valid_until": "valid_until", "too_long": "notes", "bad_options": "opt-0"}


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404("Log in first.")
    return user


def _code(exc: ServiceError) -> str:
    return exc.code


# --- the customer's view of a quote -----------------------------------------------------------


@dataclass
class OptionCard:
    option: QuoteOption
    idempotency_key: str


@dataclass
class QuoteCard:
    """A bid's latest quote as the customer sees it, with what changed since the version before."""

    version: QuoteVersion
    options: list[OptionCard]
    changes: list[str] = field(default_factory=list)
    expired: bool = False

    @property
    def previous_number(self) -> int:
        return self.version.number - 1


def quote_card(version: QuoteVersion, *, retry: dict[str, Any] | None = None) -> QuoteCard:
    """``retry`` keeps the idempotency key of an acceptance the gateway timed out on, so pressing again retries it."""
    changes: list[str] = []
    if version.number > 1:
        previous = QuoteVersion.objects.filter(bid_id=version.bid_id, number=version.number - 1).prefetch_related("options__lines").first()
        if previous is not None:
            changes = services.version_changes(previous, version)
    options = []
    for option in version.options.all():
        key = uuid.uuid4().hex
        if retry and retry.get("bid") == version.bid_id and retry.get("tier") == option.tier:
            key = retry["key"]
        options.append(OptionCard(option, key))
    return QuoteCard(version, options, changes, expired=version.valid_until < timezone.localdate())


def quote_cards_for_job(job: Job, viewer: User, *, retry: dict[str, Any] | None = None) -> dict[int, QuoteCard]:
    return {bid_id: quote_card(v, retry=retry) for bid_id, v in selectors.latest_quotes_for_job(job=job, viewer=viewer).items()}


def _customer_bid(request: HttpRequest, job_id: int, bid_id: int) -> tuple[User, Job, Bid]:
    user = _user(request)
    if not user.is_customer:
        raise Http404("No such job.")
    job = job_selectors.jobs_for_customer(customer=user).filter(pk=job_id).first()
    bid = job_selectors.bids_for_job(job=job, viewer=user).filter(pk=bid_id).first() if job else None
    if job is None or bid is None:
        raise Http404("No such bid.")
    return user, job, bid


@login_required
@require_GET
def bid_quote_fragment(request: HttpRequest, job_id: int, bid_id: int) -> HttpResponse:
    """The quote part of one bid card (HTML), for the job page to refetch when a quote is published."""
    user, job, bid = _customer_bid(request, job_id, bid_id)
    version = selectors.latest_quote(bid=bid, viewer=user)
    card = quote_card(version) if version else None
    return render(request, "quotes/_quote.html", {"job": job, "bid": bid, "card": card, "test_cards": TEST_CARDS})


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return value if value.is_finite() else None


def _version_and_option(bid: Bid, user: User, number: str, tier: str) -> tuple[QuoteVersion, QuoteOption]:
    version = selectors.latest_quote(bid=bid, viewer=user)
    if version is None or str(version.number) != number:
        latest = version.number if version else 0
        raise ServiceError(
            f"The tradesperson revised this quote to version {latest}; review the changes and accept that one.", code="quote_changed"
        )
    option = next((o for o in version.options.all() if o.tier == tier), None)
    if option is None:
        raise ServiceError("That option is not part of this quote.", code="no_such_option")
    return version, option


@login_required
@require_POST
def promo_preview(request: HttpRequest, job_id: int, bid_id: int) -> JsonResponse:
    """An option's figures with a promo code applied (a read: nothing is reserved), or why the code does not apply."""
    user, job, bid = _customer_bid(request, job_id, bid_id)
    try:
        _version, option = _version_and_option(bid, user, request.POST.get("version", ""), request.POST.get("tier", ""))
        figures, code = services.option_price(option, customer=user, trade=job.trade, promo_code=request.POST.get("promo_code", ""))
    except ServiceError as exc:
        return JsonResponse({"error": {"code": _code(exc), "message": exc.message}}, status=400)
    return JsonResponse({"promo_code": code, "figures": figures_json(figures)})


@login_required
@require_POST
def quote_accept(request: HttpRequest, job_id: int, bid_id: int) -> HttpResponse:
    """Accept one option of the bid's latest quote and hold the deposit (SIMULATED gateway)."""
    user, job, bid = _customer_bid(request, job_id, bid_id)
    post = request.POST
    tier, token, key = post.get("tier", ""), post.get("card_token", ""), post.get("idempotency_key", "")[:64]
    try:
        number = int(post.get("version", ""))
    except ValueError:
        messages.error(request, "That quote version is unknown; reload the page and try again.")
        return redirect("job-detail", job_id=job.pk)
    try:
        acceptance = services.quote_accept(
            job=job,
            bid=bid,
            actor=user,
            version_number=number,
            tier=tier,
            card_token=token,
            promo_code=post.get("promo_code", ""),
            expected_total=_decimal(post.get("expected_total", "")),
            idempotency_key=key,
        )
    except ServiceError as exc:
        if _code(exc) == "gateway_unavailable":
            # Same key on the next press: the gateway then answers the same request, it never holds twice.
            messages.error(request, "The payment provider didn't answer in time. Nothing is held yet: press Accept again to retry.")
            retry = {"bid": bid.pk, "tier": tier, "key": key, "token": token, "promo": post.get("promo_code", "")}
            return render_job_detail(request, job.pk, retry=retry, status=503)
        messages.error(request, exc.message)
        return redirect(f"/jobs/{job.pk}/#bid-{bid.pk}")
    messages.success(request, f"Accepted — {_pounds(acceptance.deposit)} deposit held. We've told the tradesperson.")
    return redirect("job-detail", job_id=job.pk)


def _pounds(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


# --- the payment panel (customer and awarded tradesperson) -----------------------------------


def cancellation_preview(job: Job, payment: Payment | None) -> CancellationCharge | None:
    """What cancelling now would cost the customer (the job's window start is the appointment for now)."""
    if payment is None or payment.status != Payment.Status.DEPOSIT_HELD:
        return None
    return cancellation_charge(
        terms=CancellationTerms.from_settings(settings.PAYMENTS),
        deposit=payment.acceptance.deposit,
        accepted_at=payment.acceptance.accepted_at,
        cancelled_at=timezone.now(),
        appointment_start=job.window_start,
        by_customer=True,
    )


def payment_context(job: Job, viewer: User) -> dict[str, Any]:
    payment = selectors.payment_for_job(job=job, viewer=viewer)
    invoice = payment is not None and (
        payment.status in INVOICE_STATUSES or (payment.status == Payment.Status.CANCELLED and payment.cancellation_fee > 0)
    )
    return {
        "payment": payment,
        "acceptance": payment.acceptance if payment else None,
        "invoice_url": f"/jobs/{job.pk}/invoice/" if invoice else "",
        "is_customer": job.customer_id == viewer.pk,
        "payment_url": f"/jobs/{job.pk}/payment/",
    }


@login_required
@require_GET
def payment_fragment(request: HttpRequest, job_id: int) -> HttpResponse:
    """The payment panel (HTML) for the job's customer or awarded tradesperson, refetched on payment.* pushes."""
    user = _user(request)
    job = job_selectors.job_for_viewer(user=user, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    context = payment_context(job, user)
    if context["payment"] is None and job_role(user, job) not in PARTIES:
        raise Http404("No such job.")
    return render(request, "quotes/_payment.html", {"job": job, **context})


# --- the tradesperson: the quote builder and the work -----------------------------------------


@login_required
@require_POST
def quote_preview(request: HttpRequest, job_id: int) -> JsonResponse:
    """The builder's figures, priced by the server's engine, or the errors by field. Writes nothing."""
    own_lead(request, job_id)
    draft = parse_quote(request.POST, today=timezone.localdate())
    options = [{"index": o.index, "tier": o.tier, **figures_json(o.figures)} for o in draft.used_options() if o.figures is not None]
    return JsonResponse({"ok": not draft.errors, "errors": draft.errors, "options": options})


@login_required
@require_POST
def quote_save(request: HttpRequest, job_id: int) -> HttpResponse:
    """Publish the quote: a new bid with version 1 (``quote_submit``), or a new version of the bid (``quote_revise``)."""
    user, lead, job = own_lead(request, job_id)
    draft = parse_quote(request.POST, today=timezone.localdate())
    bid = own_bid(user, job)
    if draft.quote is not None:
        try:
            if bid is None:
                services.quote_submit(job=job, tradesperson=user, quote=draft.quote)
                messages.success(request, "Your quote is in. The customer sees it now.")
            else:
                version = services.quote_revise(bid=bid, actor=user, quote=draft.quote)
                messages.success(request, f"Quote revised: the customer sees version {version.number} now.")
        except ServiceError as exc:
            _quote_error(draft, exc)
        else:
            return redirect("lead-detail", job_id=job.pk)
    return render_lead(request, user, lead, job, draft=draft, status=400)


def _quote_error(draft: QuoteDraft, exc: ServiceError) -> None:
    """A service refusal next to the builder field it is about (pricing errors name an option), else above the form."""
    key = _QUOTE_ERROR_FIELDS.get(_code(exc), "form")
    field_name = str(getattr(exc, "field", "") or "")
    if field_name.startswith("options["):
        key = f"opt-{field_name[len('options[')]}"
    draft.errors[key] = exc.message


WORK_ACTIONS = {"start", "complete", "cancel"}


@login_required
@require_POST
def lead_work(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    """The awarded tradesperson starts the work, marks it completed, or cancels the job."""
    user, _lead, job = own_lead(request, job_id)
    if action not in WORK_ACTIONS:
        raise Http404("No such action.")
    try:
        if action == "start":
            job_services.job_start_work(job=job, actor=user)
            messages.success(request, "Work started. The customer can see it.")
        elif action == "complete":
            job_services.job_complete(job=job, actor=user)
            messages.success(request, "Marked completed. We've asked the customer to approve the work; your payout follows their approval.")
        else:
            job_services.job_cancel(job=job, actor=user, reason=request.POST.get("reason", "")[:500])
            messages.success(request, "Job cancelled. The customer has been told; their deposit is released in full.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("lead-detail", job_id=job.pk)


# --- the job page (customer) and the lead page (tradesperson): they show quotes and payments ---


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    return render_job_detail(request, job_id)


def render_job_detail(request: HttpRequest, job_id: int, *, retry: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    """The customer's job page; ``retry`` re-offers an acceptance the gateway timed out on (same key, same card)."""
    user = page_user(request)
    job = own_job(request, job_id)
    stream = job_stream(job.pk)
    live_positions = positions(stream)  # before the data: see the module docstring
    job = own_job(request, job_id)
    bids = list(job_selectors.bids_for_job(job=job, viewer=user))
    bids.sort(key=lambda b: (b.status in (Bid.Status.WITHDRAWN, Bid.Status.DECLINED), b.amount, b.created_at))
    cards = quote_cards_for_job(job, user, retry=retry)
    payment = payment_context(job, user)
    live = {
        "job_id": job.pk,
        "stream": stream,
        "positions": live_positions,
        "job_url": reverse("api-job-detail", args=[job.pk]),
        "bids_url": reverse("api-job-bids", args=[job.pk]),
        "bids_base": reverse("job-detail", args=[job.pk]) + "bids/",
        "payment_url": payment["payment_url"],
    }
    context = {
        "job": job,
        "rows": [(bid, cards.get(bid.pk)) for bid in bids],
        "bids": bids,
        "live_bid_count": sum(b.status != Bid.Status.WITHDRAWN for b in bids),
        "live": live,
        "test_cards": TEST_CARDS,
        "retry": retry,
        "cancellation": cancellation_preview(job, payment["payment"]),
        **payment,
    }
    return render(request, "jobs/job_detail.html", context, status=status)


def render_lead(
    request: HttpRequest, user: User, lead: Lead, job: Job, *, draft: QuoteDraft | None = None, status: int = 200
) -> HttpResponse:
    """The lead page; ``draft`` is a quote the builder posted that was refused (shown again with its errors)."""
    feed, mine = job_feed_stream(job.pk), user_stream(user.pk)
    feed_positions, user_positions = positions(feed), positions(mine, {job_aggregate(job.pk)})
    job = job_selectors.job_for_viewer(user=user, job_id=job.pk) or job  # re-read after the positions
    bid = own_bid(user, job)
    versions = list(selectors.quote_versions(bid=bid, viewer=user)) if bid else []
    if draft is None:
        draft = draft_from_version(versions[-1] if versions else None, message=bid.message if bid else "", today=timezone.localdate())
    draft.attach_errors()
    live = {
        "job_id": job.pk,
        "feed_stream": feed,
        "user_stream": mine,
        "feed_positions": feed_positions,
        "user_positions": user_positions,
        "job_url": reverse("api-job-detail", args=[job.pk]),
        "bids_url": reverse("api-job-bids", args=[job.pk]),  # a tradesperson sees only their own bid
        "preview_url": reverse("quote-preview", args=[job.pk]),
        "payment_url": reverse("payment-panel", args=[job.pk]),
    }
    won = bid is not None and bid.status == Bid.Status.ACCEPTED
    context = {
        "job": job,
        "lead": lead,
        "bid": bid,
        "draft": draft.with_blank_rows(),
        "line_kinds": LINE_KINDS,
        "versions": versions[::-1],
        "latest": versions[-1] if versions else None,
        "won": won,
        "waits_for_win": bid is not None and not won,  # the appointment section appears live when it wins
        "live": live,
        **payment_context(job, user),
    }
    return render(request, "jobs/lead_detail.html", context, status=status)


@login_required
def lead_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    user, lead, job = own_lead(request, job_id)
    job_services.lead_mark_seen(lead=lead, actor=user)
    return render_lead(request, user, lead, job)
