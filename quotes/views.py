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

from jobs import presenters as job_presenters
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.models import Bid, Job, Lead
from jobs.roles import PARTIES, job_role
from jobs.streams import job_feed_stream, job_stream
from jobs.views import job_aggregate, own_bid, own_job, own_lead, page_user
from marketplace import masking
from marketplace.accounts.models import User
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.money import format_money
from marketplace.realtime.push import positions
from marketplace.realtime.streams import user_stream
from payments import services as payment_services
from payments.cancellation import CancellationOutlook, CancellationTerms
from payments.models import Payment
from quotes.models import Invoice, QuoteAcceptance, QuoteOption, QuoteVersion
from scheduling.presenters import dependency_panel
from tracking.models import Visit
from tracking.services import visit_customer_absent

from . import selectors, services, terms
from .forms import LINE_KINDS, QuoteDraft, builder_price_book, draft_from_version, figures_json, parse_quote
from .presenters import CustomerPrice, accepted_price, quote_price

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
    # After a refused acceptance of this option: its panel opens again with what the customer chose,
    # the figures with their promo code, and why it was refused.
    retry: bool = False
    figures: Any = None  # a pricing Breakdown with the promo applied, or None for the option's own
    refusal: str = ""


@dataclass
class QuoteCard:
    """A bid's latest quote as the customer sees it, with what changed since the version before."""

    version: QuoteVersion
    options: list[OptionCard]
    changes: list[str] = field(default_factory=list)
    expired: bool = False
    price: CustomerPrice | None = None  # the bid's headline: "from" the cheapest total, or what was accepted

    @property
    def previous_number(self) -> int:
        return self.version.number - 1


def quote_card(version: QuoteVersion, *, retry: dict[str, Any] | None = None, acceptance: QuoteAcceptance | None = None) -> QuoteCard:
    """``retry`` keeps the idempotency key of an acceptance that failed (a timeout: the same key retries it;
    a declined card: the chosen option stays open); ``acceptance``: the job's, if any (its bid shows what was accepted)."""
    changes: list[str] = []
    if version.number > 1:
        previous = QuoteVersion.objects.filter(bid_id=version.bid_id, number=version.number - 1).prefetch_related("options__lines").first()
        if previous is not None:
            changes = services.version_changes(previous, version)
    options = []
    for option in version.options.all():
        card = OptionCard(option, uuid.uuid4().hex)
        if retry and retry.get("bid") == version.bid_id and retry.get("tier") == option.tier:
            card.retry, card.figures, card.refusal = True, retry.get("figures"), retry.get("message", "")
            card.idempotency_key = retry.get("key") or card.idempotency_key
        options.append(card)
    accepted = acceptance is not None and acceptance.bid_id == version.bid_id
    price = accepted_price(acceptance) if acceptance is not None and accepted else quote_price(list(version.options.all()))
    return QuoteCard(version, options, changes, expired=version.valid_until < timezone.localdate(), price=price)


def quote_cards_for_job(job: Job, viewer: User, *, retry: dict[str, Any] | None = None) -> dict[int, QuoteCard]:
    acceptance = selectors.acceptance_for_job(job=job, viewer=viewer)
    latest = selectors.latest_quotes_for_job(job=job, viewer=viewer)
    return {bid_id: quote_card(v, retry=retry, acceptance=acceptance) for bid_id, v in latest.items()}


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
    card = quote_card(version, acceptance=selectors.acceptance_for_job(job=job, viewer=user)) if version else None
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
        services.quote_accept(
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
        promo = post.get("promo_code", "").strip()[:32]
        retry = {"bid": bid.pk, "tier": tier, "token": token, "promo": promo, "figures": _promo_figures(job, bid, user, tier, promo)}
        if _code(exc) == "gateway_unavailable":
            # Same key on the next press: the gateway then answers the same request, it never holds twice.
            message = "The payment provider didn't answer in time. Nothing is held yet: press Accept again to retry."
            retry["key"] = key
        elif _code(exc) == "already_accepted":
            # Accepted meanwhile, in another tab or window: not an error to the person who did it, and never two
            # stories on one page (the payment panel and its banner say where it stands).
            messages.info(request, "You've already accepted a quote for this job (in another tab or window): nothing more was held.")
            return redirect("job-detail", job_id=job.pk)
        elif _code(exc) in _START_AGAIN:
            messages.error(request, exc.message)
            return redirect(f"/jobs/{job.pk}/#bid-{bid.pk}")
        else:
            # A declined card, a promo that doesn't apply, a total that moved: the same form again, as the
            # customer filled it in (option, promo code, card), with the reason inside it.
            message = exc.message
        messages.error(request, message, extra_tags="payment")
        retry["message"] = message
        return render_job_detail(request, job.pk, retry=retry, status=status_for(exc))
    # Tagged "payment": the page drops it once the payment moves on (job-detail.js), so it never contradicts the panel.
    messages.success(request, "Accepted. We've told the tradesperson; your deposit is held until the work is done.", extra_tags="payment")
    return redirect("job-detail", job_id=job.pk)


# Refusals after which the form as filled in is no use (the quote or the job moved on): the page, fresh.
_START_AGAIN = {"quote_changed", "no_such_option", "already_accepted"}


def _promo_figures(job: Job, bid: Bid, user: User, tier: str, promo: str) -> Any:
    """The option's figures with the typed promo code, to show the form again as it was; None if either doesn't apply."""
    if not promo:
        return None
    version = selectors.latest_quote(bid=bid, viewer=user)
    option = next((o for o in version.options.all() if o.tier == tier), None) if version else None
    if option is None:
        return None
    try:
        figures, _code_used = services.option_price(option, customer=user, trade=job.trade, promo_code=promo)
    except ServiceError:
        return None
    return figures


# --- the payment panel (customer and awarded tradesperson) -----------------------------------


def cancellation_preview(job: Job, payment: Payment | None) -> CancellationOutlook | None:
    """What cancelling now would cost the customer, until when it is free and what it costs after (the booking history counts)."""
    if payment is None or payment.status != Payment.Status.DEPOSIT_HELD:
        return None
    return payment_services.cancellation_outlook_for(job)


def cancellation_rules() -> dict[str, Any]:
    """The cancellation and no-show figures (settings.PAYMENTS), for the sentences both sides read before they act."""
    terms = CancellationTerms.from_settings(settings.PAYMENTS)
    return {
        "free_minutes": terms.free_minutes,
        "late_hours": terms.late_hours,
        "late_fee_percent": terms.late_fee_percent.normalize(),
        "pro_late_minutes": terms.pro_late_minutes,
        "customer_wait_minutes": terms.customer_wait_minutes,
        "call_out_fee": terms.call_out_fee,
    }


def customer_absent_context(job: Job) -> dict[str, Any]:
    """For the tradesperson: whether they may report the customer absent now, from when, and the fee it charges."""
    visit = Visit.objects.filter(job_id=job.pk).first()
    allowed_from = visit.customer_absent_from() if visit is not None and job.status == Job.Status.SCHEDULED else None
    payment = Payment.objects.filter(job_id=job.pk).only("held", "status").first()
    held = payment.held if payment is not None and payment.status == Payment.Status.DEPOSIT_HELD else Decimal("0.00")
    return {
        "absent_from": allowed_from,
        "absent_now": allowed_from is not None and allowed_from <= timezone.now(),
        "absent_fee": CancellationTerms.from_settings(settings.PAYMENTS).call_out(held),
    }


def payment_context(job: Job, viewer: User) -> dict[str, Any]:
    payment = selectors.payment_for_job(job=job, viewer=viewer)
    invoice = payment is not None and (
        payment.status in INVOICE_STATUSES or (payment.status == Payment.Status.CANCELLED and payment.cancellation_fee > 0)
    )
    return {
        "payment": payment,
        "acceptance": payment.acceptance if payment else None,
        "invoice_url": reverse("job-invoice", args=[job.pk]) if invoice else "",
        "invoice_pdf_url": reverse("job-invoice-pdf", args=[job.pk]) if Invoice.objects.filter(job=job).exists() else "",
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
    user, _, _ = own_lead(request, job_id)
    draft = parse_quote(request.POST, today=timezone.localdate(), tax_rate=terms.business_tax_rate(user.pk))
    options = [{"index": o.index, "tier": o.tier, **figures_json(o.figures)} for o in draft.used_options() if o.figures is not None]
    return JsonResponse({"ok": not draft.errors, "errors": draft.errors, "options": options})


def _quote_texts(quote: services.QuoteInput) -> list[str]:
    """What the tradesperson typed into a quote that the customer reads (masked when stored)."""
    options = [[option.title, *(getattr(line, "description", "") for line in option.lines)] for option in quote.options]
    return [quote.notes, quote.message, *(text for texts in options for text in texts)]


@login_required
@require_POST
def quote_save(request: HttpRequest, job_id: int) -> HttpResponse:
    """Publish the quote: a new bid with version 1 (``quote_submit``), or a new version of the bid (``quote_revise``)."""
    user, lead, job = own_lead(request, job_id)
    draft = parse_quote(request.POST, today=timezone.localdate(), tax_rate=terms.business_tax_rate(user.pk))
    bid = own_bid(user, job)
    if draft.quote is not None:
        try:
            if bid is None:
                services.quote_submit(job=job, tradesperson=user, quote=draft.quote)
                messages.success(request, "Your quote is in. The customer sees it now.")
            else:
                version = services.quote_revise(bid=bid, actor=user, quote=draft.quote)
                messages.success(request, f"Quote revised: the customer sees version {version.number} now.")
            if masking.hidden_in(*_quote_texts(draft.quote)):
                messages.info(request, masking.HIDDEN_NOTICE)
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


WORK_ACTIONS = {"start", "complete", "cancel", "absent"}


@login_required
@require_POST
def lead_work(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    """The awarded tradesperson starts the work, marks it completed, cancels the job, or reports the customer absent."""
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
        elif action == "absent":
            fee = customer_absent_context(job)["absent_fee"]
            visit_customer_absent(job=job, actor=user)
            messages.success(request, f"Job cancelled: the customer was not there. They are charged a {format_money(fee)} call-out fee.")
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
        "invited": job_selectors.invited_count(job=job),
        "live": live,
        "test_cards": TEST_CARDS,
        "retry": retry,
        "cancellation": cancellation_preview(job, payment["payment"]),
        "rules": cancellation_rules(),
        "dependencies": dependency_panel(job=job, zone=user.time_zone),
        "plan": selectors.plan_for_job(job=job, viewer=user),
        "direct_request_note": job_presenters.direct_request_note(job, job_selectors.business_name(user_id=job.requested_pro_id))
        if job.requested_pro_id
        else "",
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
    book_items = list(selectors.price_book_items(business_id=user.pk))
    book_templates = list(selectors.quote_templates(business_id=user.pk))
    context = {
        "job": job,
        "lead": lead,
        "bid": bid,
        "draft": draft.with_blank_rows(),
        "line_kinds": LINE_KINDS,
        "price_book_items": book_items,
        "price_book_templates": book_templates,
        "price_book": builder_price_book(book_items, book_templates),
        "versions": versions[::-1],
        "latest": versions[-1] if versions else None,
        "won": won,
        "waits_for_win": bid is not None and not won,  # the appointment section appears live when it wins
        "rules": cancellation_rules(),
        **(customer_absent_context(job) if won else {}),
        **(_plan_context(job, user) if won and job.status == Job.Status.COMPLETED else {}),
        "live": live,
        **payment_context(job, user),
    }
    return render(request, "jobs/lead_detail.html", context, status=status)


def _plan_context(job: Job, user: User) -> dict[str, Any]:
    """The completed job's service plan (if one is offered or running), and the offer form's suggested figures."""
    acceptance = selectors.acceptance_for_job(job=job, viewer=user)
    return {
        "plan": selectors.plan_for_job(job=job, viewer=user),
        "plan_price": acceptance.total if acceptance else job.budget_max,
        "plan_months": settings.SERVICE_PLANS["DEFAULT_INTERVAL_MONTHS"],
        "plan_lead_days": settings.SERVICE_PLANS["LEAD_DAYS"],
        "plan_max_months": settings.SERVICE_PLANS["MAX_INTERVAL_MONTHS"],
    }


@login_required
def lead_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    user, lead, job = own_lead(request, job_id)
    job_services.lead_mark_seen(lead=lead, actor=user)
    return render_lead(request, user, lead, job)
