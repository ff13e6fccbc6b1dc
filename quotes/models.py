"""Promo codes and their redemptions.

Codes are managed in Django admin; they are checked and redeemed only through
``quotes/promos.py``, which holds the row lock that keeps ``uses`` honest.  The check
constraints below are the last line of defence: whatever the code does, the database
never holds a promo used more often than ``max_uses``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from jobs.models import Trade
from marketplace.money import money_field

CODE_FORMAT = RegexValidator(r"^[A-Za-z0-9_-]{3,32}$", "Use 3 to 32 letters, digits, dashes or underscores (no spaces).")


class PromoCode(models.Model):
    """A code worth a percentage or a fixed amount off a quote, within a time window and usage limits."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    code = models.CharField(
        max_length=32, unique=True, validators=[CODE_FORMAT], help_text="Stored upper-case; customers may type any case."
    )
    description = models.CharField(max_length=200, blank=True, help_text="Internal note: what the campaign is for.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))], help_text="Percent (0 to 100) or pounds."
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Leave empty for no end date.")
    min_spend = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))], help_text="In pounds."
    )
    trade = models.ForeignKey(
        Trade, null=True, blank=True, on_delete=models.PROTECT, related_name="promo_codes", help_text="Leave empty for every trade."
    )
    max_uses = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)], help_text="Leave empty for no limit.")
    max_uses_per_customer = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    # Who pays the discount: empty, the platform (a campaign; the tradesperson's payout is untouched);
    # a tradesperson, their business (the code applies only to their quotes and comes off their payout).
    business = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="business_promo_codes",
        limit_choices_to={"role": "tradesperson"},
        help_text="Leave empty for a platform code (the platform pays the discount). "
        "A tradesperson here makes it their business's code: only for their quotes, paid from their payout.",
    )
    # Changed only by quotes.promos, under a row lock, with F() expressions.
    uses = models.IntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code=Upper("code")), name="promo_code_upper_case", violation_error_message="Codes are stored upper-case."
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["percent", "fixed"]),
                name="promo_kind_valid",
                violation_error_message="Choose percent or fixed.",
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="promo_value_not_negative", violation_error_message="The value cannot be negative."
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100),
                name="promo_percent_at_most_100",
                violation_error_message="A percentage must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_spend__gte=0),
                name="promo_min_spend_not_negative",
                violation_error_message="The minimum spend cannot be negative.",
            ),
            models.CheckConstraint(condition=models.Q(uses__gte=0), name="promo_uses_not_negative"),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses__lte=models.F("max_uses")), name="promo_uses_within_max"
            ),
            models.CheckConstraint(
                condition=models.Q(max_uses_per_customer__gte=1),
                name="promo_per_customer_at_least_one",
                violation_error_message="Each customer must be allowed at least one use.",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=models.F("valid_from")),
                name="promo_window_order",
                violation_error_message="The end of the validity window must be after its start.",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def funded_by(self) -> str:
        """``platform`` or ``business``: who pays the discount (``quotes.pricing.Promo.funded_by``)."""
        return "business" if self.business_id is not None else "platform"

    def clean(self) -> None:
        # Admin forms: normalise before the unique check, so "spring10" clashes with "SPRING10".
        self.code = (self.code or "").strip().upper()
        # The uses <= max_uses constraint is skipped by form validation (uses is not a form field).
        if self.max_uses is not None and self.max_uses < self.uses:
            raise ValidationError({"max_uses": f"This code has already been used {self.uses} times; the limit cannot be lower than that."})


class PromoRedemption(models.Model):
    """One use of a promo code by a customer for one thing (``reference``, e.g. ``quote:7:v2``).

    Unique per (promo, customer, reference): redeeming the same thing again is a no-op.
    """

    promo = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promo_redemptions")
    reference = models.CharField(max_length=64, help_text='What the code was used on, e.g. "job:42" or "quote:7:v2".')
    amount = models.DecimalField(max_digits=10, decimal_places=2, help_text="The discount given, in pounds.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["promo", "customer", "reference"], name="promo_redemption_once_per_reference"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="promo_redemption_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.promo} for {self.customer} on {self.reference}: £{self.amount}"


# --- quotes -----------------------------------------------------------------------------------


class QuoteVersion(models.Model):
    """One version of a bid's itemised quote. Versions are append-only: a revision is a new row.

    Once accepted (``accepted_at`` set) a version is frozen; a database trigger refuses any other
    change to a version, its options or its lines (migration 0002).
    """

    class DiscountKind(models.TextChoices):
        NONE = "", "No discount"
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    bid = models.ForeignKey("jobs.Bid", on_delete=models.CASCADE, related_name="quote_versions")
    number = models.PositiveIntegerField()
    notes = models.TextField(max_length=2000, blank=True)
    valid_until = models.DateField(help_text="The last day the customer can accept this version.")
    discount_kind = models.CharField(max_length=10, choices=DiscountKind.choices, blank=True, default="")
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    # The VAT rate of the business when it published this version (0: not VAT registered);
    # null for versions from before per-business VAT, which were priced at the standard rate.
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bid_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["bid", "number"], name="quote_version_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="quote_version_number_positive"),
            models.CheckConstraint(condition=models.Q(discount_value__gte=0), name="quote_version_discount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Quote v{self.number} for bid {self.bid_id}"


class QuoteOption(models.Model):
    """One priced alternative of a quote version (a plain quote has one, "standard").

    The figures are the pricing engine's (``quotes.pricing.price``) for this option without a
    promo code; the customer's promo is applied on acceptance (``QuoteAcceptance``).
    """

    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        GOOD = "good", "Good"
        BETTER = "better", "Better"
        BEST = "best", "Best"

    version = models.ForeignKey(QuoteVersion, on_delete=models.CASCADE, related_name="options")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    title = models.CharField(max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    subtotal = money_field()
    discounts_total = money_field()
    net = money_field()
    tax = money_field()
    total = money_field()
    platform_fee = money_field()
    payout = money_field()
    deposit = money_field()
    balance = money_field()

    class Meta:
        ordering = ["version_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "tier"], name="quote_option_tier_unique"),
            models.CheckConstraint(condition=models.Q(total=models.F("net") + models.F("tax")), name="quote_option_total_is_net_plus_tax"),
            models.CheckConstraint(
                condition=models.Q(total=models.F("deposit") + models.F("balance")), name="quote_option_deposit_plus_balance"
            ),
            models.CheckConstraint(condition=models.Q(net=models.F("payout") + models.F("platform_fee")), name="quote_option_net_split"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} option of {self.version}"

    @property
    def label(self) -> str:
        return self.title or self.get_tier_display()


class QuoteLine(models.Model):
    """A line of an option: quantity x unit price, rounded once (see quotes.pricing)."""

    class Kind(models.TextChoices):
        LABOUR = "labour", "Labour (hours x rate)"
        MATERIALS = "materials", "Materials"
        CALLOUT = "callout", "Call-out fee"
        OTHER = "other", "Other"
        DISCOUNT = "discount", "Discount"

    option = models.ForeignKey(QuoteOption, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    unit_price = money_field()
    amount = money_field()

    class Meta:
        ordering = ["option_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["option", "position"], name="quote_line_position_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="quote_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="quote_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.quantity} x £{self.unit_price}"


class QuoteAcceptance(models.Model):
    """The contract: the one option of one quote version the customer accepted, with the promo applied.

    Every figure the invoice and the payment use comes from here (computed by the pricing
    engine at acceptance, never by the client). One per job.
    """

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="acceptance")
    bid = models.OneToOneField("jobs.Bid", on_delete=models.PROTECT, related_name="acceptance")
    version = models.OneToOneField(QuoteVersion, on_delete=models.PROTECT, related_name="acceptance")
    option = models.ForeignKey(QuoteOption, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quote_acceptances")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="won_acceptances")
    promo_redemption = models.OneToOneField(PromoRedemption, null=True, blank=True, on_delete=models.PROTECT, related_name="acceptance")
    promo_code = models.CharField(max_length=32, blank=True)

    class PromoFunder(models.TextChoices):
        NONE = "", "No promo"
        PLATFORM = "platform", "The platform"
        BUSINESS = "business", "The tradesperson's business"

    # Who paid promo_amount: the platform (from its fee and beyond: platform_fee = fee_charged - promo,
    # payout unchanged) or the business (it came off the net, so off the payout).
    promo_funded_by = models.CharField(max_length=10, choices=PromoFunder.choices, blank=True, default="")
    subtotal = money_field()
    discounts_total = money_field()
    promo_amount = money_field()
    net = money_field()
    tax = money_field()
    total = money_field()
    # platform_fee is the platform's revenue (negative when its promo is bigger than its fee);
    # fee_charged is the fee the tradesperson was charged (payout = net before a platform promo - fee_charged).
    platform_fee = money_field()
    fee_charged = money_field(default=Decimal("0.00"))
    payout = money_field()
    deposit = money_field()
    balance = money_field()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    platform_fee_rate = models.DecimalField(max_digits=5, decimal_places=4)
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total=models.F("net") + models.F("tax")), name="acceptance_total_is_net_plus_tax"),
            models.CheckConstraint(
                condition=models.Q(total=models.F("deposit") + models.F("balance")), name="acceptance_deposit_plus_balance"
            ),
            models.CheckConstraint(condition=models.Q(net=models.F("payout") + models.F("platform_fee")), name="acceptance_net_split"),
        ]

    def __str__(self) -> str:
        return f"Job {self.job_id}: {self.option} at £{self.total}"


class InvoiceSequence(models.Model):
    """The last invoice number one supplier (a trade business) issued.

    Each business issues its own invoices (TradeLink collects on its behalf), so each has its own
    gapless series. ``quotes.invoicing.invoice_issue`` locks this row (SELECT ... FOR UPDATE) and
    inserts the invoice in the same transaction: a rollback undoes the increment too, so a
    number is never skipped, and two payments settling at once queue on the lock.
    """

    supplier = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoice_sequence")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Invoices of {self.supplier_id}: last {self.last_number}"


class Invoice(models.Model):
    """A job's VAT invoice (or, for a business that is not VAT registered, its plain invoice).

    Issued once, when the job's payment first becomes paid, and never changed afterwards: every
    figure, name and address is copied here as it was at the tax point, so editing a profile or
    the job later does not rewrite an issued invoice. Refunds after issue are shown beside it as
    credits (from the payment's operations), not by changing it.
    """

    class PromoFunder(models.TextChoices):
        NONE = "", "No promotion"
        PLATFORM = "platform", "TradeLink"
        TRADESPERSON = "tradesperson", "The tradesperson"

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="invoice")
    payment = models.OneToOneField("payments.Payment", on_delete=models.PROTECT, related_name="invoice")
    supplier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices_issued")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices_received")
    sequence_number = models.PositiveIntegerField(help_text="The supplier's own series: 1, 2, 3 ... without gaps.")
    number = models.CharField(max_length=40, unique=True, help_text="As printed: TL<supplier>-<sequence>.")
    issued_at = models.DateTimeField()
    tax_point = models.DateField(help_text="The date the payment was taken (UTC).")
    supplier_name = models.CharField(max_length=160)
    supplier_address = models.TextField(blank=True)
    supplier_vat_registered = models.BooleanField()
    supplier_vat_number = models.CharField(max_length=14, blank=True)
    customer_name = models.CharField(max_length=160)
    customer_address = models.TextField(blank=True)
    job_title = models.CharField(max_length=120)
    lines = models.JSONField(help_text="[{description, kind, quantity, unit_price, amount, is_discount}] as accepted.")
    currency = models.CharField(max_length=3, default="GBP")
    subtotal = money_field()
    discounts = money_field(help_text="The tradesperson's own discounts (not the promo).")
    promo_code = models.CharField(max_length=32, blank=True)
    promo_amount = money_field(default=Decimal("0.00"))
    promo_funded_by = models.CharField(max_length=20, choices=PromoFunder.choices, blank=True, default="")
    net = money_field()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4)
    vat = money_field()
    total = money_field()
    amount_paid = money_field(help_text="Taken from the card by the tax point.")
    gateway_name = models.CharField(max_length=80, blank=True, help_text="Who processed the payment, as shown to people.")

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sequence_number"], name="invoice_number_once_per_supplier"),
            models.CheckConstraint(condition=models.Q(total=models.F("net") + models.F("vat")), name="invoice_total_is_net_plus_vat"),
            models.CheckConstraint(
                condition=models.Q(supplier_vat_registered=True) | models.Q(vat=0), name="invoice_no_vat_unless_registered"
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"


class InvoiceEmail(models.Model):
    """The invoice emailed to the customer with its PDF: one row, sent after commit (``marketplace.deliveries``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="email")
    to = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="invoice_email_due_idx")]

    def __str__(self) -> str:
        return f"Invoice {self.invoice_id} to {self.to}: {self.status}"


class ServiceOffering(models.Model):
    """A fixed-price service a tradesperson publishes ("Boiler service, £85, 1 h") that customers book
    straight into a free slot of their calendar (``quotes.offerings.service_book``).

    ``price`` is what the customer pays, VAT included at the business's rate when it is VAT registered;
    booking turns it into a one-line quote priced by the one pricing engine, so the deposit, fee and
    payout follow the same rules as any accepted quote.
    """

    pro = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_offerings")
    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=2000, blank=True)
    price = money_field(help_text="What the customer pays, VAT included.")
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(15)])
    active = models.BooleanField(default=True, help_text="Inactive services are not shown or bookable.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pro", "title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offering_price_positive"),
            models.CheckConstraint(condition=models.Q(duration_minutes__gte=15), name="offering_duration_min"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.pro_id})"


def interval_label(months: int) -> str:
    """How a plan's interval reads to a person: "every year", "every 6 months", "every 2 years"."""
    if months == 12:
        return "every year"
    if months % 12 == 0:
        return f"every {months // 12} years"
    return "every month" if months == 1 else f"every {months} months"


class ServiceAgreement(models.Model):
    """A service plan: the business does the same job for the customer every ``interval_months`` (an annual
    boiler service), at the agreed ``price`` (VAT included), and the clock books each visit by itself.

    The business offers it (usually after a completed job, ``created_from``); nothing is booked until the
    customer accepts it, naming the card the deposits are held on (the gateway's token, never a card
    number). Either side may cancel. Written only by ``quotes/agreements.py``.
    """

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_plans")
    pro = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_plans_given")
    offering = models.ForeignKey(ServiceOffering, null=True, blank=True, on_delete=models.SET_NULL, related_name="agreements")
    created_from = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    price = money_field(help_text="What the customer pays for each visit, VAT included.")
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(15)])
    interval_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    next_due = models.DateField(help_text="The date the next visit is due; the clock books it LEAD_DAYS before.")
    latitude = models.DecimalField(max_digits=8, decimal_places=5)
    longitude = models.DecimalField(max_digits=8, decimal_places=5)
    place = models.CharField(max_length=120, blank=True)
    card_token = models.CharField(max_length=64, blank=True, help_text="The gateway's token for the customer's card (never a card number).")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFERED)
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "service plan"
        ordering = ["next_due", "id"]
        indexes = [models.Index(fields=["status", "next_due"], name="agreement_due")]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="agreement_price_positive"),
            models.CheckConstraint(condition=models.Q(interval_months__gte=1), name="agreement_interval_min"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.every} ({self.customer_id} with {self.pro_id})"

    @property
    def every(self) -> str:
        return interval_label(self.interval_months)


class AgreementOccurrence(models.Model):
    """One visit of a service plan: the job the clock posted for the visit due on ``due_date``.

    ``(agreement, due_date)`` is unique, so two clocks, or one clock run twice, book a visit once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being booked"
        BOOKED = "booked", "Booked"
        AWARDED = "awarded", "Waiting for a time"
        NEEDS_PAYMENT = "needs_payment", "Waiting for the customer's card"

    agreement = models.ForeignKey(ServiceAgreement, on_delete=models.CASCADE, related_name="occurrences")
    due_date = models.DateField()
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="plan_visit")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "service plan visit"
        ordering = ["agreement", "due_date"]
        constraints = [models.UniqueConstraint(fields=["agreement", "due_date"], name="one_visit_per_due_date")]

    def __str__(self) -> str:
        return f"visit of plan {self.agreement_id} due {self.due_date}"


# --- the price book: a business's saved lines and quote templates ------------------------------


class PriceBookItem(models.Model):
    """A line a business quotes often ("Replace tap cartridge", materials, £18 each), saved to reuse.

    ``unit_price`` follows :class:`QuoteLine`: before VAT (the pricing engine adds VAT at the business's
    rate when the quote is priced, so an item has no rate of its own). Adding it to a quote copies its
    text and price into an ordinary line the tradesperson can still edit; nothing in a quote points back
    here, so changing or archiving an item never rewrites a quote already sent.
    """

    class Kind(models.TextChoices):
        LABOUR = "labour", "Labour (hours x rate)"
        MATERIALS = "materials", "Materials"
        CALLOUT = "callout", "Call-out fee"
        OTHER = "other", "Other"

    business = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_book_items")
    name = models.CharField(max_length=120, help_text="What the business calls it; shown in the quote builder's picker.")
    description = models.CharField(max_length=200, help_text="The text of the quote line the customer reads.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MATERIALS)
    unit = models.CharField(max_length=20, blank=True, help_text='e.g. "hour", "each", "metre".')
    unit_price = money_field(help_text="Before VAT, as on a quote line.")
    active = models.BooleanField(default=True, help_text="Archived items are not offered in the quote builder.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["business_id", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="price_book_item_price_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["labour", "materials", "callout", "other"]), name="price_book_item_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: £{self.unit_price}"


class QuoteTemplate(models.Model):
    """A business's ready-made set of lines ("Boiler service visit") that fills the quote builder in one go."""

    business = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quote_templates")
    name = models.CharField(max_length=120)
    trade = models.ForeignKey(Trade, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Optional.")
    active = models.BooleanField(default=True, help_text="Archived templates are not offered in the quote builder.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["business_id", "name", "id"]

    def __str__(self) -> str:
        return self.name


class QuoteTemplateLine(models.Model):
    """One line of a template, in order: copied from a price book item when it was added, or typed freely.

    ``item`` only records where the line came from; the line keeps its own text and price (before VAT),
    so editing the item later does not change the template silently.
    """

    template = models.ForeignKey(QuoteTemplate, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    item = models.ForeignKey(PriceBookItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=PriceBookItem.Kind.choices, default=PriceBookItem.Kind.MATERIALS)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("1"))
    unit_price = money_field(help_text="Before VAT, as on a quote line.")

    class Meta:
        ordering = ["template_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="quote_template_line_position_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="quote_template_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="quote_template_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.quantity} x £{self.unit_price}"
