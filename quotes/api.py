"""Quotes and payments API: thin views over ``quotes.services``, ``payments.services`` and ``quotes.selectors``.

Visibility follows the jobs API: a bid or job you may not see is 404 (its selectors), an action
you may not take is the service's 403, "not now" is a 409. Money moves only in the services;
every figure shown comes from the pricing engine or from the stored contract. A card number is
refused before it reaches anything (400 ``card_number_sent``) and is never repeated in an error.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.api import IDEMPOTENCY_KEY_MAX, job_or_404
from jobs.models import Bid, Job
from jobs.serializers import BidDeclineInputSerializer, JobOutputSerializer
from marketplace.accounts.models import User
from marketplace.api import ErrorSerializer, IsStaff, IsTradesperson, errors, found, request_user, valid
from marketplace.errors import Refusal, ServiceError
from payments import approval
from payments import services as payments
from payments.models import Payment
from payments.webhooks import WebhookRejected
from quotes.models import PriceBookItem, QuoteAcceptance, QuoteTemplate, ServiceAgreement
from scheduling.serializers import utc_iso
from scheduling.services import SlotUnavailable

from . import agreements, offerings, pricebook, selectors, services
from .serializers import (
    AcceptInputSerializer,
    AcceptOutputSerializer,
    ApproveInputSerializer,
    AwardInputSerializer,
    BookInputSerializer,
    DisputeInputSerializer,
    PayBalanceInputSerializer,
    PaymentOutputSerializer,
    PlanAcceptInputSerializer,
    PlanOfferInputSerializer,
    PlanOutputSerializer,
    PriceBookItemInputSerializer,
    PriceBookItemOutputSerializer,
    PromoPriceInputSerializer,
    PromoPriceOutputSerializer,
    QuotedBidOutputSerializer,
    QuoteHistorySerializer,
    QuoteInputSerializer,
    QuotePriceOutputSerializer,
    QuoteTemplateInputSerializer,
    QuoteTemplateOutputSerializer,
    RefundInputSerializer,
    ServiceOfferingOutputSerializer,
    WebhookOutputSerializer,
    field_error,
    locate_quote_error,
    priced_option,
    quote_input,
)


def idempotency_parameter(*, required: bool, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        required=required,
        description=f"Any unique string up to {IDEMPOTENCY_KEY_MAX} characters (e.g. a UUID per click); "
        f"repeating a request with the same key {what} once.",
    )


def _idempotency_key(request: Request, *, required: bool = False) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise field_error(f"At most {IDEMPOTENCY_KEY_MAX} characters.", code="validation_error", field="Idempotency-Key")
    if required and not key:
        raise field_error(
            "Send an Idempotency-Key header (e.g. a UUID), so a retried request cannot act twice.",
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    return key


def _payment_response(payment: Payment, viewer: User, status_code: int = status.HTTP_200_OK) -> Response:
    context = {"viewer": viewer, "operations": list(selectors.payment_operations(payment=payment))}
    return Response(PaymentOutputSerializer(payment, context=context).data, status=status_code)


def _payment_or_404(request: Request, job_id: int) -> Payment:
    viewer = request_user(request)
    payment = selectors.payment_for_job(
        job=job_or_404(request, job_id),
        viewer=viewer,
    )
    if payment is None:
        raise exceptions.NotFound("This job has no payment (no quote was accepted), or it is not one you can see.")
    return payment


def _bid_or_404(request: Request, bid_id: int) -> Bid:
    return found(job_selectors.bid_for_viewer(user=request_user(request), bid_id=bid_id), "No such bid, or not one you can see.")


def _bid_response(request: Request, bid: Bid, status_code: int = status.HTTP_200_OK) -> Response:
    """A bid with its latest quote, if the viewer may see it."""
    viewer = request_user(request)
    bid = Bid.objects.select_related("job", "tradesperson", "tradesperson__pro_profile").get(pk=bid.pk)
    version = selectors.latest_quote(bid=bid, viewer=viewer)
    context = {
        "viewer": viewer,
        "quotes": {bid.pk: version} if version else {},
        "previous_amounts": selectors.previous_amounts(bids=[bid]),
    }
    return Response(QuotedBidOutputSerializer(bid, context=context).data, status=status_code)


def _quote_from(request: Request) -> tuple[dict[str, Any], services.QuoteInput]:
    data = valid(QuoteInputSerializer, request.data)
    try:
        return data, quote_input(data)
    except ServiceError as exc:
        raise locate_quote_error(exc, data) from exc


# --- bids (a bid is a tradesperson's quote for a job) -------------------------------------------------------------------------------


class JobBidsApi(APIView):
    @extend_schema(
        tags=["bids"],
        summary="Bids on a job",
        description="The job's customer (and staff) see every bid; a tradesperson sees only their own. "
        "Each bid carries its latest quote; the platform fee and payout are shown to the bidder and staff only.",
        responses={200: QuotedBidOutputSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        viewer = request_user(request)
        bids = list(job_selectors.bids_for_job(job=job, viewer=viewer))
        context = {
            "viewer": viewer,
            "quotes": selectors.latest_quotes_for_job(job=job, viewer=viewer),
            "previous_amounts": selectors.previous_amounts(bids=bids),
        }
        return Response(QuotedBidOutputSerializer(bids, many=True, context=context).data)

    @extend_schema(
        tags=["bids"],
        summary="Bid on a job offered to you as a lead, with a quote",
        description="Send a plain `amount` (a one-line quote), or `lines` (one option), or `options` (good / better / best). "
        "Numbers are decimal strings; totals are computed by the server (any you send are ignored). A pricing refusal "
        'is a 400 with the pricing code and the field, e.g. `fields: {"options[0].lines[3].unit_price": [...]}`.',
        request=QuoteInputSerializer,
        responses={201: QuotedBidOutputSerializer, **errors(400, 403, 404, 409, 429)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data, quote = _quote_from(request)
        try:
            version = services.quote_submit(job=job, tradesperson=request_user(request), quote=quote)
        except ServiceError as exc:
            raise locate_quote_error(exc, data) from exc
        return _bid_response(request, version.bid, status.HTTP_201_CREATED)


class BidDetailApi(APIView):
    @extend_schema(
        tags=["bids"],
        summary="Revise your bid's quote before the customer decides",
        description="A new version of the quote, in the same shape as when bidding (the whole quote, not a patch of it). "
        "`message` keeps its value when omitted. The customer sees what changed.",
        request=QuoteInputSerializer,
        responses={200: QuotedBidOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        data, quote = _quote_from(request)
        try:
            version = services.quote_revise(bid=bid, actor=request_user(request), quote=quote)
        except ServiceError as exc:
            raise locate_quote_error(exc, data) from exc
        return _bid_response(request, version.bid)


class BidWithdrawApi(APIView):
    @extend_schema(
        tags=["bids"], summary="Withdraw your bid", request=None, responses={200: QuotedBidOutputSerializer, **errors(403, 404, 409)}
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        return _bid_response(request, job_services.bid_withdraw(bid=bid, actor=request_user(request)))


class BidShortlistApi(APIView):
    @extend_schema(
        tags=["bids"],
        summary="Shortlist a bid (the job's customer)",
        request=None,
        responses={200: QuotedBidOutputSerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        return _bid_response(request, job_services.bid_shortlist(bid=bid, actor=request_user(request)))


class BidDeclineApi(APIView):
    @extend_schema(
        tags=["bids"],
        summary="Decline a bid (the job's customer)",
        request=BidDeclineInputSerializer,
        responses={200: QuotedBidOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        data = valid(BidDeclineInputSerializer, request.data)
        return _bid_response(request, job_services.bid_decline(bid=bid, actor=request_user(request), reason=data["reason"]))


# --- quotes -----------------------------------------------------------------------------------


class QuotePriceApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["quotes"],
        summary="Price a draft quote (tradespeople)",
        description="Runs the pricing engine on a quote in the bidding shape and returns every figure per option. "
        "Nothing is stored. Use it for live totals while writing a quote.",
        request=QuoteInputSerializer,
        responses={200: QuotePriceOutputSerializer, **errors(400, 403)},
    )
    def post(self, request: Request) -> Response:
        data, quote = _quote_from(request)
        try:
            # The same checks and engine run as when publishing (tiers, option count, validity, every figure).
            breakdowns = services.quote_price(quote, tradesperson=request_user(request))
        except ServiceError as exc:
            raise locate_quote_error(exc, data) from exc
        options = [priced_option(option, figures) for option, figures in zip(quote.options, breakdowns, strict=True)]
        return Response(QuotePriceOutputSerializer({"options": options}).data)


class BidQuoteApi(APIView):
    @extend_schema(
        tags=["quotes"],
        summary="Every version of a bid's quote",
        description="Oldest first, with options, lines, figures and what changed since the previous version. "
        "For the bid's tradesperson, the job's customer and staff (others: 404). The platform fee and payout are null for the customer.",
        responses={200: QuoteHistorySerializer, **errors(403, 404)},
    )
    def get(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        viewer = request_user(request)
        versions = list(selectors.quote_versions(bid=bid, viewer=viewer))
        changes = {new.pk: services.version_changes(old, new) for old, new in pairwise(versions)}
        show_fees = viewer.is_staff or viewer.pk == bid.tradesperson_id
        context = {"changes": changes, "show_fees": show_fees}
        return Response(QuoteHistorySerializer({"bid_id": bid.pk, "versions": versions}, context=context).data)


class BidQuotePriceApi(APIView):
    @extend_schema(
        tags=["quotes"],
        summary="Price an option of the latest quote with a promo code (the job's customer)",
        description="The figures the customer would accept, computed by the server's pricing engine; or the promo's refusal "
        "(promo_unknown, promo_expired, promo_below_min_spend, ...). Nothing is reserved: the code is checked again on acceptance.",
        request=PromoPriceInputSerializer,
        responses={200: PromoPriceOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        viewer = request_user(request)
        data = valid(PromoPriceInputSerializer, request.data)
        if bid.job.customer_id != viewer.pk:
            raise ServiceError(
                "Only the customer who posted this job can price its quotes with a promo code.", code="forbidden", kind=Refusal.FORBIDDEN
            )
        version = selectors.latest_quote(bid=bid, viewer=viewer)
        if version is None:
            raise ServiceError("This bid has no itemised quote.", code="no_quote")
        option = next((o for o in version.options.all() if o.tier == data["tier"]), None)
        if option is None:
            raise field_error("That option is not part of this quote.", code="no_such_option", field="tier")
        job = Job.objects.select_related("trade").get(pk=bid.job_id)
        try:
            figures, code = services.option_price(option, customer=viewer, trade=job.trade, promo_code=data["promo_code"])
        except ServiceError as exc:
            raise _named(exc, "promo_code") from exc
        body = {
            "version": version.number,
            "tier": option.tier,
            "title": option.label,
            "promo_code": code,
            **{name: getattr(figures, name) for name in ("subtotal", "discounts_total", "promo_amount", "net", "tax", "total")},
            "deposit": figures.deposit,
            "balance": figures.balance,
        }
        return Response(PromoPriceOutputSerializer(body).data)


def _named(error: ServiceError, field: str) -> ServiceError:
    error.field = field
    return error


# --- acceptance -------------------------------------------------------------------------------

ACCEPT_DESCRIPTION = (
    "Accepts one option of the bid's latest quote version: the deposit is held on the card, then the job is awarded "
    "(the other bids are declined) and the payment opens. 201 the first time; a repeat (same bid, version and option) "
    "returns 200 with the same body and holds nothing again. 402 card_declined leaves the job open. 409: quote_changed "
    "(a newer version exists), quote_expired, already_accepted, total_changed (expected_total differs), job_closed. "
    "400: card_number_sent (send a token, never a card number), promo_*."
)
ACCEPT_RESPONSES: dict[int, Any] = {
    201: AcceptOutputSerializer,
    200: OpenApiResponse(AcceptOutputSerializer, description="Already accepted: the same acceptance and payment."),
    **errors(400, 402, 403, 404, 409, 503),
}


def _accept(request: Request, job: Job, bid: Bid, data: dict[str, Any]) -> Response:
    viewer = request_user(request)
    key = _idempotency_key(request)
    before = selectors.acceptance_for_job(job=job, viewer=viewer)
    acceptance = services.quote_accept(
        job=job,
        bid=bid,
        actor=viewer,
        version_number=data["version"],
        tier=data["tier"],
        card_token=data["card_token"],
        promo_code=data["promo_code"],
        expected_total=data["expected_total"],
        idempotency_key=key,
    )
    acceptance = QuoteAcceptance.objects.select_related("version", "option").get(pk=acceptance.pk)
    payment = selectors.payment_for_job(job=job, viewer=viewer)
    assert payment is not None  # the acceptance's transaction opened it
    context = {"viewer": viewer, "operations": list(selectors.payment_operations(payment=payment))}
    body = AcceptOutputSerializer({"acceptance": acceptance, "payment": payment}, context=context).data
    repeat = before is not None and before.pk == acceptance.pk
    return Response(body, status=status.HTTP_200_OK if repeat else status.HTTP_201_CREATED)


class BidAcceptApi(APIView):
    @extend_schema(
        tags=["quotes"],
        summary="Accept a quote and pay the deposit (the job's customer)",
        description=ACCEPT_DESCRIPTION,
        request=AcceptInputSerializer,
        responses=ACCEPT_RESPONSES,
        parameters=[idempotency_parameter(required=False, what="holds the deposit")],
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = _bid_or_404(request, bid_id)
        data = valid(AcceptInputSerializer, request.data)
        return _accept(request, bid.job, bid, data)


class JobAwardApi(APIView):
    @extend_schema(
        tags=["jobs"],
        summary="Accept a bid's quote (the job's customer); same as POST /api/bids/{bid_id}/accept/",
        description="Kept for older clients: a job is never awarded without a held deposit, so this takes the same fields "
        "as accepting (plus `bid_id`) and answers the same way. " + ACCEPT_DESCRIPTION,
        request=AwardInputSerializer,
        responses=ACCEPT_RESPONSES,
        parameters=[idempotency_parameter(required=False, what="holds the deposit")],
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(AwardInputSerializer, request.data)
        bid = job_selectors.bids_for_job(job=job, viewer=request_user(request)).filter(pk=data["bid_id"]).first()
        if bid is None:
            raise exceptions.ValidationError({"bid_id": ["No such bid on this job."]})
        return _accept(request, job, bid, data)


# --- payments ---------------------------------------------------------------------------------


class JobPaymentApi(APIView):
    @extend_schema(
        tags=["payments"],
        summary="A job's payment (its customer, the tradesperson doing it, staff)",
        description="Status, figures and the history of gateway operations. The platform fee and payout are shown to the "
        "tradesperson and staff only; card tokens and gateway ids to staff only. `invoice_url` once paid.",
        responses={200: PaymentOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return _payment_response(_payment_or_404(request, job_id), request_user(request))


class JobPayBalanceApi(APIView):
    @extend_schema(
        tags=["payments"],
        summary="Pay the balance with another card after it failed (the job's customer)",
        request=PayBalanceInputSerializer,
        responses={200: PaymentOutputSerializer, **errors(400, 402, 403, 404, 409, 503)},
        parameters=[idempotency_parameter(required=False, what="charges the card")],
    )
    def post(self, request: Request, job_id: int) -> Response:
        payment = _payment_or_404(request, job_id)
        data = valid(PayBalanceInputSerializer, request.data)
        viewer = request_user(request)
        key = _idempotency_key(request)
        payment = payments.payment_pay_balance(payment=payment, actor=viewer, card_token=data["card_token"], idempotency_key=key)
        return _payment_response(payment, viewer)


class JobPaymentApproveApi(APIView):
    @extend_schema(
        tags=["payments"],
        summary="Approve the finished work, optionally with a tip (the job's customer)",
        description="Allowed while the payment is `awaiting_approval` (after the work is marked completed, until "
        "`approval_due_at`, when it is approved automatically). The balance plus the tip is then charged in the "
        "background; the payment moves to `completing`, then `paid`. Approving again with the same tip changes nothing.",
        request=ApproveInputSerializer,
        responses={200: PaymentOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        payment = _payment_or_404(request, job_id)
        data = valid(ApproveInputSerializer, request.data)
        viewer = request_user(request)
        payment = approval.payment_approve(payment=payment, actor=viewer, tip=data["tip"])
        return _payment_response(payment, viewer)


class JobPaymentDisputeApi(APIView):
    @extend_schema(
        tags=["payments"],
        summary="Report a problem with the finished work instead of approving it (the job's customer)",
        description="Allowed while the payment is `awaiting_approval` and before `approval_due_at`. Nothing more is "
        "charged until staff resolve it (pay in full, refund part or refund everything). 201 with the payment (`disputed`).",
        request=DisputeInputSerializer,
        responses={201: PaymentOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        payment = _payment_or_404(request, job_id)
        data = valid(DisputeInputSerializer, request.data)
        viewer = request_user(request)
        dispute = approval.payment_dispute(payment=payment, actor=viewer, description=data["description"])
        return _payment_response(dispute.payment, viewer, status.HTTP_201_CREATED)


class PaymentRefundsApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        tags=["payments"],
        summary="Refund part or all of a payment (staff)",
        description="From the latest charge first. The Idempotency-Key header is required: the same key again refunds nothing more.",
        request=RefundInputSerializer,
        responses={200: PaymentOutputSerializer, **errors(400, 403, 404, 409, 503)},
        parameters=[idempotency_parameter(required=True, what="refunds")],
    )
    def post(self, request: Request, payment_id: int) -> Response:
        key = _idempotency_key(request, required=True)
        # Staff only (the permission), so no per-viewer scoping: the payment by its id.
        payment = Payment.objects.filter(pk=payment_id).first()
        if payment is None:
            raise exceptions.NotFound("No such payment.")
        data = valid(RefundInputSerializer, request.data)
        viewer = request_user(request)
        payment = payments.payment_refund(payment=payment, actor=viewer, amount=data["amount"], reason=data["reason"], idempotency_key=key)
        return _payment_response(payment, viewer)


class SimulatedWebhookApi(APIView):
    # The gateway signs its webhooks (Gateway-Signature); there is no user, session, CSRF token or throttle.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        tags=["payments"],
        summary="Webhooks from the SIMULATED payment gateway",
        description="The raw JSON body, signed in the `Gateway-Signature` header as `t=<unix seconds>,v1=<hex HMAC-SHA256>`. "
        "Recorded once per event id (a duplicate changes nothing). 400: forged, stale or malformed (do not retry); "
        "409: about a charge not recorded yet (retry later).",
        request={"application/json": {"type": "object", "additionalProperties": True}},
        responses={
            200: WebhookOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Rejected: bad_header, bad_signature, too_old, from_the_future, bad_json."),
            409: OpenApiResponse(ErrorSerializer, description="not_ready: send it again later."),
        },
        parameters=[OpenApiParameter("Gateway-Signature", str, OpenApiParameter.HEADER, required=True)],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        signature = request.headers.get("Gateway-Signature", "")
        try:
            outcome = payments.webhook_receive(body=request.body, signature=signature, gateway_name="simulated")
        except WebhookRejected as exc:
            raise ServiceError(str(exc), code=exc.code, kind=Refusal.INVALID) from exc
        except payments.WebhookNotReady as exc:
            raise ServiceError(f"Not ready ({exc}); send it again later.", code="not_ready", kind=Refusal.CONFLICT) from exc
        return Response(WebhookOutputSerializer({"outcome": outcome}).data)


# --- fixed-price services ------------------------------------------------------------------------


class ProServicesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["services"],
        summary="A tradesperson's bookable fixed-price services, with their next free starts",
        responses={200: ServiceOfferingOutputSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, pro_id: int) -> Response:
        found(job_selectors.public_profile(user_id=pro_id), "No such tradesperson.")
        offerings = selectors.offerings_of(pro_id=pro_id)
        return Response(ServiceOfferingOutputSerializer(offerings, many=True).data)


class ServiceBookApi(APIView):
    @extend_schema(
        tags=["services"],
        summary="Book a fixed-price service (a customer): hold the deposit and book the start",
        description="Posts the job to the tradesperson, holds the deposit as accepting a quote does, and books the appointment, "
        "all or nothing. A start that is no longer free is 409 `slot_taken` (or `outside_working_hours`, `time_off`) with "
        "`error.suggestions`: the next free starts (UTC). A declined card is 402 `card_declined`. Nothing stays open after "
        "a refusal.",
        request=BookInputSerializer,
        responses={201: JobOutputSerializer, **errors(400, 402, 403, 404, 409)},
        parameters=[idempotency_parameter(required=False, what="books")],
    )
    def post(self, request: Request, pro_id: int, offering_id: int) -> Response:
        offering = found(selectors.bookable_offering(pro_id=pro_id, offering_id=offering_id), "No such service.")
        data = valid(BookInputSerializer, request.data)
        try:
            job = offerings.service_book(
                offering=offering,
                customer=request_user(request),
                starts_at=data["starts_at"],
                card_token=data["card_token"],
                where=offerings.Where(data["latitude"], data["longitude"], data["place"]),
                notes=data["notes"],
                idempotency_key=_idempotency_key(request),
            )
        except SlotUnavailable as exc:
            response = self.handle_exception(exc)
            response.data["error"]["suggestions"] = [utc_iso(s) for s in exc.suggestions]
            return response
        return Response(JobOutputSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)


# --- the price book: a business's own items and templates (another business's are 404) ----------


def _own_item_or_404(request: Request, item_id: int) -> PriceBookItem:
    return found(selectors.price_book_item(business_id=request_user(request).pk, item_id=item_id), "No such price book item.")


def _own_template_or_404(request: Request, template_id: int) -> QuoteTemplate:
    return found(selectors.quote_template(business_id=request_user(request).pk, template_id=template_id), "No such template.")


def _item_save(request: Request, data: dict[str, Any], item: PriceBookItem | None = None) -> PriceBookItem:
    return pricebook.price_book_item_save(business=request_user(request), item=item, **data)


def _template_lines(request: Request, lines: list[dict[str, Any]]) -> list[pricebook.TemplateLineInput]:
    """The lines as service inputs; an item id that is not one of the business's own is refused on its field."""
    business = request_user(request)
    result = []
    for index, line in enumerate(lines):
        item = None
        if line["item"] is not None:
            item = selectors.price_book_item(business_id=business.pk, item_id=line["item"])
            if item is None:
                raise ServiceError(
                    "Choose an item from your own price book.", code="not_your_item", kind=Refusal.INVALID, field=f"lines[{index}].item"
                )
        result.append(
            pricebook.TemplateLineInput(
                description=line["description"], quantity=line["quantity"], unit_price=line["unit_price"], kind=line["kind"], item=item
            )
        )
    return result


class PriceBookItemsApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["price book"],
        summary="Your price book's items (archived ones too, with active false)",
        responses={200: PriceBookItemOutputSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request) -> Response:
        items = selectors.price_book_items(business_id=request_user(request).pk, include_archived=True)
        return Response(PriceBookItemOutputSerializer(items, many=True).data)

    @extend_schema(
        tags=["price book"],
        summary="Add an item to your price book",
        description="`unit_price` is before VAT, as on a quote line: the pricing engine adds VAT when a quote is priced.",
        request=PriceBookItemInputSerializer,
        responses={201: PriceBookItemOutputSerializer, **errors(400, 403)},
    )
    def post(self, request: Request) -> Response:
        item = _item_save(request, valid(PriceBookItemInputSerializer, request.data))
        return Response(PriceBookItemOutputSerializer(item).data, status=status.HTTP_201_CREATED)


class PriceBookItemApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["price book"], summary="One of your price book items", responses={200: PriceBookItemOutputSerializer, **errors(403, 404)}
    )
    def get(self, request: Request, item_id: int) -> Response:
        return Response(PriceBookItemOutputSerializer(_own_item_or_404(request, item_id)).data)

    @extend_schema(
        tags=["price book"],
        summary="Change one of your price book items (fields not sent keep their values; active true restores it)",
        request=PriceBookItemInputSerializer(partial=True),
        responses={200: PriceBookItemOutputSerializer, **errors(400, 403, 404)},
    )
    def patch(self, request: Request, item_id: int) -> Response:
        item = _own_item_or_404(request, item_id)
        current: dict[str, Any] = {"name": item.name, "description": item.description, "kind": item.kind, "unit": item.unit}
        current |= {"unit_price": item.unit_price, "active": item.active}
        data = current | valid(PriceBookItemInputSerializer, request.data, partial=True)
        return Response(PriceBookItemOutputSerializer(_item_save(request, data, item)).data)

    @extend_schema(
        tags=["price book"],
        summary="Archive one of your price book items (quotes and templates keep their copies)",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, item_id: int) -> Response:
        pricebook.price_book_item_archive(item=_own_item_or_404(request, item_id), actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class QuoteTemplatesApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["price book"],
        summary="Your quote templates with their lines (archived ones too, with active false)",
        responses={200: QuoteTemplateOutputSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request) -> Response:
        templates = selectors.quote_templates(business_id=request_user(request).pk, include_archived=True)
        return Response(QuoteTemplateOutputSerializer(templates, many=True).data)

    @extend_schema(
        tags=["price book"],
        summary="Add a quote template",
        description="Each line is typed, or names one of your price book `item`s and may leave `description`, `kind` and "
        "`unit_price` empty to copy the item's. Prices are before VAT. A refusal names the line: `lines[1].unit_price`.",
        request=QuoteTemplateInputSerializer,
        responses={201: QuoteTemplateOutputSerializer, **errors(400, 403)},
    )
    def post(self, request: Request) -> Response:
        data = valid(QuoteTemplateInputSerializer, request.data)
        template = pricebook.quote_template_save(
            business=request_user(request),
            name=data["name"],
            trade=data["trade"],
            active=data["active"],
            lines=_template_lines(request, data["lines"]),
        )
        template = _own_template_or_404(request, template.pk)
        return Response(QuoteTemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class QuoteTemplateApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["price book"], summary="One of your quote templates", responses={200: QuoteTemplateOutputSerializer, **errors(403, 404)}
    )
    def get(self, request: Request, template_id: int) -> Response:
        return Response(QuoteTemplateOutputSerializer(_own_template_or_404(request, template_id)).data)

    @extend_schema(
        tags=["price book"],
        summary="Change one of your quote templates (fields not sent keep their values; `lines`, when sent, replace them all)",
        request=QuoteTemplateInputSerializer(partial=True),
        responses={200: QuoteTemplateOutputSerializer, **errors(400, 403, 404)},
    )
    def patch(self, request: Request, template_id: int) -> Response:
        template = _own_template_or_404(request, template_id)
        data = valid(QuoteTemplateInputSerializer, request.data, partial=True)
        if "lines" in data:
            lines = _template_lines(request, data["lines"])
        else:
            lines = [
                pricebook.TemplateLineInput(line.description, line.quantity, line.unit_price, line.kind, line.item)
                for line in template.lines.all()
            ]
        pricebook.quote_template_save(
            business=request_user(request),
            template=template,
            name=data.get("name", template.name),
            trade=data.get("trade", template.trade),
            active=data.get("active", template.active),
            lines=lines,
        )
        return Response(QuoteTemplateOutputSerializer(_own_template_or_404(request, template_id)).data)

    @extend_schema(tags=["price book"], summary="Archive one of your quote templates", responses={204: None, **errors(403, 404)})
    def delete(self, request: Request, template_id: int) -> Response:
        pricebook.quote_template_archive(template=_own_template_or_404(request, template_id), actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- service plans (quotes.agreements) ---------------------------------------------------------------


def _plan_or_404(request: Request, plan_id: int) -> ServiceAgreement:
    return found(selectors.plan_for(user=request_user(request), plan_id=plan_id), "No such service plan.")


class PlansApi(APIView):
    @extend_schema(
        tags=["plans"],
        summary="Your service plans (as the customer or the business), newest first, with their visits",
        responses={200: PlanOutputSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request) -> Response:
        return Response(PlanOutputSerializer(selectors.plans_for(user=request_user(request)), many=True).data)

    @extend_schema(
        tags=["plans"],
        summary="Offer the customer of a completed job a service plan (the business)",
        description="The same job every `interval_months` (default 12) at `price` (VAT included). Nothing is booked until the "
        "customer accepts. Not your job: 403 `forbidden`; not completed: 409 `job_not_completed`; one already offered or "
        "running: 409 `plan_exists`; a price VAT cannot split exactly: 400 `price_not_exact`.",
        request=PlanOfferInputSerializer,
        responses={201: PlanOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        data = valid(PlanOfferInputSerializer, request.data)
        user = request_user(request)
        job = found(job_selectors.job_for_viewer(user=user, job_id=data["job_id"]), "No such job.")
        plan = agreements.agreement_offer(
            job=job,
            actor=user,
            price=data["price"],
            interval_months=data.get("interval_months"),
            duration_minutes=data["duration_minutes"],
        )
        return Response(PlanOutputSerializer(_plan_or_404(request, plan.pk)).data, status=status.HTTP_201_CREATED)


class PlanAcceptApi(APIView):
    @extend_schema(
        tags=["plans"],
        summary="Accept an offered service plan (its customer), naming the card each visit's deposit is held on",
        description="Idempotent. Nothing is charged now: each visit's deposit is held when the visit is booked. A cancelled "
        "plan is 409 `plan_cancelled`.",
        request=PlanAcceptInputSerializer,
        responses={200: PlanOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, plan_id: int) -> Response:
        plan = _plan_or_404(request, plan_id)
        data = valid(PlanAcceptInputSerializer, request.data)
        agreements.agreement_accept(agreement=plan, actor=request_user(request), card_token=data["card_token"])
        return Response(PlanOutputSerializer(_plan_or_404(request, plan_id)).data)


class PlanCancelApi(APIView):
    @extend_schema(
        tags=["plans"],
        summary="Cancel a service plan (either side), or decline an offered one (the customer)",
        description="Idempotent. No further visit is booked; a visit already booked stays on its job.",
        request=None,
        responses={200: PlanOutputSerializer, **errors(403, 404)},
    )
    def post(self, request: Request, plan_id: int) -> Response:
        plan = _plan_or_404(request, plan_id)
        agreements.agreement_cancel(agreement=plan, actor=request_user(request))
        return Response(PlanOutputSerializer(_plan_or_404(request, plan_id)).data)
