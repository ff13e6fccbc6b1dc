"""The pricing engine: worked examples checked by hand, properties over random quotes, and every refusal.

Pure: no database, no Django models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields, replace
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction
from typing import Any, get_args

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from quotes.pricing import Breakdown, Change, Discount, LineItem, PricingError, PricingErrorCode, PricingPolicy, Promo, diff, price

D = Decimal
FIGURES = tuple(f.name for f in fields(Breakdown) if f.name not in {"lines", "promo_applied", "promo_reason", "promo_funded_by"})
# 10 % platform fee, 20 % VAT, 25 % deposit: the example policy throughout.
POLICY = PricingPolicy(platform_fee_rate=D("0.10"), tax_rate=D("0.20"), deposit_kind="percent", deposit_value=D("25"))
PROPERTY = settings(max_examples=300, deadline=None, database=None)


def figures(breakdown: Breakdown) -> dict[str, Decimal]:
    return {name: getattr(breakdown, name) for name in FIGURES}


# --- worked examples (figures computed by hand) ---------------------------------------------


def test_worked_example() -> None:
    items = [
        LineItem("labour", "Fit new radiator valve", D("2.5"), D("45.00")),  # 2.5 x 45.00 = 112.50
        LineItem("materials", "Thermostatic valve", D("1"), D("38.99")),  # 38.99
        LineItem("callout", "Call-out", D("1"), D("60")),  # 60.00
    ]
    breakdown = price(
        items,
        policy=POLICY,
        discount=Discount("percent", D("10")),
        promo=Promo("SAVE15", "fixed", D("15"), min_spend=D("100"), funded_by="business"),
    )

    assert [line.amount for line in breakdown.lines] == [D("112.50"), D("38.99"), D("60.00")]
    assert figures(breakdown) == {
        "subtotal": D("211.49"),  # 112.50 + 38.99 + 60.00
        "line_discounts": D("0.00"),
        "discount_amount": D("21.15"),  # 10 % of 211.49 = 21.149 -> 21.15
        "promo_amount": D("15.00"),  # 211.49 - 21.15 = 190.34 >= 100 min spend
        "discounts_total": D("36.15"),  # 21.15 + 15.00
        "net": D("175.34"),  # 211.49 - 36.15
        "tax": D("35.07"),  # 20 % of 175.34 = 35.068 -> 35.07
        "total": D("210.41"),  # 175.34 + 35.07
        "platform_fee": D("17.53"),  # 10 % of 175.34 = 17.534 -> 17.53
        "payout": D("157.81"),  # 175.34 - 17.53
        "deposit": D("52.60"),  # 25 % of 210.41 = 52.6025 -> 52.60
        "balance": D("157.81"),  # 210.41 - 52.60
        "platform_promo": D("0.00"),  # the business funds this code
        "fee_charged": D("17.53"),
    }
    assert breakdown.promo_funded_by == "business"
    assert breakdown.promo_applied is True
    assert breakdown.promo_reason == ""
    assert all(amount.as_tuple().exponent == -2 for amount in figures(breakdown).values())


def test_a_platform_promo_leaves_the_payout_as_it_was_and_comes_out_of_the_platforms_fee() -> None:
    items = [LineItem("labour", "Rewire", D("1"), D("144.50"))]
    without = price(items, policy=POLICY)
    with_promo = price(items, policy=POLICY, promo=Promo("WELCOME", "percent", D("10"), funded_by="platform"))

    assert (without.net, without.platform_fee, without.payout) == (D("144.50"), D("14.45"), D("130.05"))
    assert with_promo.promo_amount == D("14.45")  # 10 % of 144.50 = 14.45
    assert with_promo.net == D("130.05")  # the customer pays less...
    assert with_promo.payout == D("130.05")  # ...and the tradesperson gets exactly what they would have
    assert with_promo.fee_charged == D("14.45")  # the fee is on the work, not on the discounted net
    assert with_promo.platform_promo == D("14.45")
    assert with_promo.platform_fee == D("0.00")  # 14.45 fee - 14.45 promo
    assert with_promo.payout + with_promo.platform_fee == with_promo.net
    assert with_promo.promo_funded_by == "platform"


def test_a_platform_promo_bigger_than_the_fee_leaves_the_platform_out_of_pocket() -> None:
    items = [LineItem("labour", "Rewire", D("1"), D("144.50"))]
    breakdown = price(items, policy=POLICY, promo=Promo("BIG", "fixed", D("40.00"), funded_by="platform"))

    assert breakdown.net == D("104.50")
    assert breakdown.payout == D("130.05")  # unchanged
    assert breakdown.platform_fee == D("-25.55")  # 14.45 fee - 40.00 promo: the platform pays from its fee and beyond
    assert breakdown.payout + breakdown.platform_fee == breakdown.net


def test_a_business_promo_comes_off_the_payout() -> None:
    items = [LineItem("labour", "Rewire", D("1"), D("144.50"))]
    breakdown = price(items, policy=POLICY, promo=Promo("BOBS10", "percent", D("10"), funded_by="business"))

    assert breakdown.net == D("130.05")
    assert breakdown.fee_charged == breakdown.platform_fee == D("13.01")  # 10 % of 130.05 = 13.005 -> 13.01
    assert breakdown.payout == D("117.04")  # 130.05 - 13.01
    assert breakdown.platform_promo == D("0.00")
    assert breakdown.promo_funded_by == "business"


def test_an_unapplied_promo_has_no_funder() -> None:
    items = [LineItem("labour", "Labour", D("1"), D("50.00"))]
    breakdown = price(items, policy=POLICY, promo=Promo("SAVE15", "fixed", D("15"), min_spend=D("100")))
    assert (breakdown.promo_funded_by, breakdown.platform_promo, breakdown.fee_charged) == ("", D("0.00"), D("5.00"))


def test_half_up_rounding_where_half_even_would_differ() -> None:
    policy = replace(POLICY, deposit_kind="fixed", deposit_value=D("50"))
    items = [
        LineItem("labour", "Advice", D("0.5"), D("0.05")),  # 0.025 -> 0.03 (half-even would give 0.02)
        LineItem("materials", "Parts", D("1"), D("175.22")),
    ]
    breakdown = price(items, policy=policy)

    assert breakdown.lines[0].amount == D("0.03")
    assert figures(breakdown) == {
        "subtotal": D("175.25"),  # 0.03 + 175.22
        "line_discounts": D("0.00"),
        "discount_amount": D("0.00"),
        "promo_amount": D("0.00"),
        "discounts_total": D("0.00"),
        "net": D("175.25"),
        "tax": D("35.05"),  # 20 % of 175.25 = 35.05 exactly
        "total": D("210.30"),
        "platform_fee": D("17.53"),  # 10 % of 175.25 = 17.525 -> 17.53 (half-even would give 17.52)
        "payout": D("157.72"),  # 175.25 - 17.53
        "deposit": D("50.00"),  # fixed
        "balance": D("160.30"),  # 210.30 - 50.00
        "platform_promo": D("0.00"),
        "fee_charged": D("17.53"),
    }
    assert breakdown.promo_applied is False


def test_percent_deposit_rounds_half_up() -> None:
    breakdown = price([LineItem("other", "Gutter clear", D("1"), D("10.10"))], policy=replace(POLICY, tax_rate=D("0")))

    assert breakdown.total == D("10.10")
    assert breakdown.deposit == D("2.53")  # 25 % of 10.10 = 2.525 -> 2.53
    assert breakdown.balance == D("7.57")


def test_discount_lines_and_discounts_are_capped_so_nothing_goes_negative() -> None:
    items = [
        LineItem("materials", "Sealant", D("1"), D("50.00")),
        LineItem("discount", "Loyalty", D("1"), D("80.00")),  # more than the subtotal: capped at 50.00
    ]
    breakdown = price(items, policy=POLICY, discount=Discount("fixed", D("10")), promo=Promo("TENOFF", "percent", D("10")))

    assert breakdown.lines[1].amount == D("80.00")
    assert (breakdown.subtotal, breakdown.line_discounts, breakdown.discount_amount, breakdown.promo_amount) == (
        D("50.00"),
        D("50.00"),
        D("0.00"),
        D("0.00"),
    )
    assert (breakdown.net, breakdown.tax, breakdown.total, breakdown.deposit, breakdown.balance) == (D("0.00"),) * 5
    assert (breakdown.platform_fee, breakdown.payout) == (D("0.00"), D("0.00"))


def test_fixed_discount_larger_than_what_remains_is_capped() -> None:
    items = [LineItem("materials", "Tiles", D("1"), D("100.00")), LineItem("discount", "Trade price", D("1"), D("30.00"))]
    breakdown = price(items, policy=POLICY, discount=Discount("fixed", D("100")))

    assert (breakdown.line_discounts, breakdown.discount_amount, breakdown.net) == (D("30.00"), D("70.00"), D("0.00"))


def test_promo_below_min_spend_is_not_applied_and_says_why() -> None:
    items = [LineItem("labour", "Labour", D("2"), D("40.00"))]  # 80.00
    breakdown = price(items, policy=POLICY, promo=Promo("SAVE15", "fixed", D("15"), min_spend=D("100")))

    assert breakdown.promo_applied is False
    assert breakdown.promo_amount == D("0.00")
    assert breakdown.net == D("80.00")
    assert "SAVE15" in breakdown.promo_reason
    assert "£100.00" in breakdown.promo_reason
    assert "£80.00" in breakdown.promo_reason


def test_promo_min_spend_is_measured_after_the_other_discounts() -> None:
    items = [LineItem("labour", "Labour", D("1"), D("105.00"))]
    breakdown = price(items, policy=POLICY, discount=Discount("percent", D("10")), promo=Promo("SAVE15", "fixed", D("15"), D("100")))

    assert breakdown.discount_amount == D("10.50")  # leaves 94.50, under the 100.00 min spend
    assert breakdown.promo_applied is False
    assert breakdown.net == D("94.50")


def test_fixed_deposit_is_capped_at_the_total() -> None:
    policy = replace(POLICY, deposit_kind="fixed", deposit_value=D("50"))
    breakdown = price([LineItem("callout", "Call-out", D("1"), D("10.00"))], policy=policy)

    assert (breakdown.total, breakdown.deposit, breakdown.balance) == (D("12.00"), D("12.00"), D("0.00"))


def test_the_callers_decimal_context_changes_nothing() -> None:
    items = [LineItem("labour", "Labour", D("2.5"), D("45.00")), LineItem("materials", "Valve", D("1"), D("38.99"))]
    expected = price(items, policy=POLICY, discount=Discount("percent", D("12.5")))
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = ROUND_DOWN
        assert price(items, policy=POLICY, discount=Discount("percent", D("12.5"))) == expected


def test_diff_lists_line_and_total_changes_for_the_customer() -> None:
    discount, promo = Discount("percent", D("10")), Promo("SAVE15", "fixed", D("15"), D("100"))
    old = price(
        [
            LineItem("labour", "Labour", D("2.5"), D("45.00")),
            LineItem("materials", "Valve", D("1"), D("38.99")),
            LineItem("callout", "Call-out", D("1"), D("60.00")),
        ],
        policy=POLICY,
        discount=discount,
        promo=promo,
    )
    new = price(
        [
            LineItem("labour", "Labour", D("3"), D("45.00")),  # 135.00
            LineItem("materials", "Valve", D("1"), D("38.99")),
            LineItem("other", "Skip hire", D("1"), D("20.00")),
        ],
        policy=POLICY,
        discount=discount,
        promo=promo,
    )

    changes = diff(old, new)

    assert [(c.kind, c.subject, c.old, c.new) for c in changes] == [
        ("line_changed", "Labour", D("112.50"), D("135.00")),
        ("line_added", "Skip hire", None, D("20.00")),
        ("line_removed", "Call-out", D("60.00"), None),
        ("figure_changed", "subtotal", D("211.49"), D("193.99")),  # 135.00 + 38.99 + 20.00
        ("figure_changed", "discount_amount", D("21.15"), D("19.40")),  # 10 % of 193.99 = 19.399 -> 19.40
        ("figure_changed", "net", D("175.34"), D("159.59")),  # 193.99 - 19.40 - 15.00
        ("figure_changed", "tax", D("35.07"), D("31.92")),  # 20 % of 159.59 = 31.918 -> 31.92
        ("figure_changed", "total", D("210.41"), D("191.51")),
        ("figure_changed", "deposit", D("52.60"), D("47.88")),  # 25 % of 191.51 = 47.8775 -> 47.88
        ("figure_changed", "balance", D("157.81"), D("143.63")),
    ]
    assert changes[0].summary == "Changed Labour: 2.5 × £45.00 = £112.50 → 3 × £45.00 = £135.00."
    assert changes[7].summary == "Total: £210.41 → £191.51 (down £18.90)."
    # The marketplace's margin is not the customer's business.
    assert not any(c.subject in {"platform_fee", "payout"} for c in changes)


def test_diff_matches_duplicate_lines_in_order() -> None:
    old = price([LineItem("other", "Visit", D("1"), D("30.00")), LineItem("other", "Visit", D("1"), D("30.00"))], policy=POLICY)
    new = price([LineItem("other", "Visit", D("1"), D("30.00"))], policy=POLICY)

    changes = diff(old, new)

    assert changes[0] == Change("line_removed", "Visit", D("30.00"), None, "Removed Visit: 1 × £30.00 = £30.00.")
    assert [c.kind for c in changes[1:]] == ["figure_changed"] * (len(changes) - 1)


# --- properties over random quotes -------------------------------------------------------------


def as_decimal(units: int, places: int, normalise: bool) -> Decimal:
    """``units`` x 10^-places; sometimes written without trailing zeros (1E+2, 60) to show outputs still get two places."""
    value = Decimal(units).scaleb(-places)
    return value.normalize() if normalise else value


def decimals(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.builds(as_decimal, st.integers(low, high), st.just(places), st.booleans())


CHARGEABLE = st.sampled_from(["labour", "materials", "callout", "other"])
DESCRIPTIONS = st.sampled_from(["Labour", "Materials", "Call-out", "Skip hire", "Parts", "Trade discount"])
# Lines stay under £50,000 and quotes under eight lines, so even 100 % tax stays below the £1,000,000 limit.
QUANTITIES = decimals(1, 5_000)  # 0.01 .. 50.00
PRICES = decimals(0, 100_000)  # £0.00 .. £1,000.00
ANY_LINE = st.builds(LineItem, st.sampled_from(["labour", "materials", "callout", "other", "discount"]), DESCRIPTIONS, QUANTITIES, PRICES)
# At least £1.00: every quote has a chargeable line.
PAYING_LINE = st.builds(LineItem, CHARGEABLE, DESCRIPTIONS, decimals(100, 5_000), decimals(100, 100_000))
ITEMS = st.builds(
    lambda paying, others, at: [*others[:at], paying, *others[at:]],  # the paying line at any position
    PAYING_LINE,
    st.lists(ANY_LINE, max_size=7),
    st.integers(0, 7),
)
PERCENTS = decimals(0, 10_000)  # 0.00 .. 100.00
RATES = decimals(0, 10_000, places=4)  # 0.0000 .. 1.0000
AMOUNTS = decimals(0, 50_000)  # £0.00 .. £500.00
DISCOUNTS = st.none() | st.builds(Discount, st.just("percent"), PERCENTS) | st.builds(Discount, st.just("fixed"), AMOUNTS)
FUNDERS = st.sampled_from(["platform", "business"])
PROMOS = (
    st.none()
    | st.builds(Promo, st.just("SAVE"), st.just("percent"), PERCENTS, AMOUNTS, FUNDERS)
    | st.builds(Promo, st.just("SAVE"), st.just("fixed"), AMOUNTS, AMOUNTS, FUNDERS)
)
PLATFORM_PROMOS = st.builds(Promo, st.just("SAVE"), st.sampled_from(["percent", "fixed"]), PERCENTS, AMOUNTS, st.just("platform"))
BUSINESS_PROMOS = st.builds(Promo, st.just("SAVE"), st.sampled_from(["percent", "fixed"]), PERCENTS, AMOUNTS, st.just("business"))
POLICIES = (
    st.builds(PricingPolicy, RATES, RATES, st.just("percent"), PERCENTS)  # fee rate, tax rate, percent deposit
    | st.builds(PricingPolicy, RATES, RATES, st.just("fixed"), AMOUNTS)
)


def half_up(pennies: Fraction) -> int:
    return math.floor(pennies + Fraction(1, 2))


def model(items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo | None) -> dict[str, Decimal]:
    """The same rules worked in whole pennies with exact fractions: an independent check of every figure."""

    def pennies(value: Decimal) -> Fraction:
        return Fraction(value) * 100

    def adjust(kind: str, value: Decimal, base: int) -> int:
        return min(half_up(base * Fraction(value) / 100) if kind == "percent" else int(pennies(value)), base)

    lines = [(item.kind, half_up(pennies(item.quantity) * Fraction(item.unit_price))) for item in items]
    subtotal = sum(amount for kind, amount in lines if kind != "discount")
    line_discounts = min(sum(amount for kind, amount in lines if kind == "discount"), subtotal)
    remaining = subtotal - line_discounts
    discount_amount = adjust(discount.kind, discount.value, remaining) if discount else 0
    remaining -= discount_amount
    promo_amount = adjust(promo.kind, promo.value, remaining) if promo and remaining >= pennies(promo.min_spend) else 0
    net = remaining - promo_amount
    tax = half_up(net * Fraction(policy.tax_rate))
    platform_promo = promo_amount if promo and promo.funded_by == "platform" else 0
    earned = net + platform_promo
    fee = half_up(earned * Fraction(policy.platform_fee_rate))
    deposit = adjust(policy.deposit_kind, policy.deposit_value, net + tax)
    result = {
        "subtotal": subtotal,
        "line_discounts": line_discounts,
        "discount_amount": discount_amount,
        "promo_amount": promo_amount,
        "discounts_total": line_discounts + discount_amount + promo_amount,
        "net": net,
        "tax": tax,
        "total": net + tax,
        "platform_fee": fee - platform_promo,
        "payout": earned - fee,
        "deposit": deposit,
        "balance": net + tax - deposit,
        "platform_promo": platform_promo,
        "fee_charged": fee,
    }
    return {name: Decimal(value).scaleb(-2) for name, value in result.items()}


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=PROMOS)
def test_every_figure_matches_an_independent_whole_penny_model(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo | None
) -> None:
    assert figures(price(items, policy=policy, discount=discount, promo=promo)) == model(items, policy, discount, promo)


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=PROMOS)
def test_sums_caps_signs_and_places_hold_for_every_quote(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo | None
) -> None:
    b = price(items, policy=policy, discount=discount, promo=promo)

    # Totals are the sums of their parts, exactly.
    assert b.subtotal == sum(line.amount for line in b.lines if line.kind != "discount")
    assert b.line_discounts == min(sum((line.amount for line in b.lines if line.kind == "discount"), D(0)), b.subtotal)
    assert b.discounts_total == b.line_discounts + b.discount_amount + b.promo_amount
    assert b.net == b.subtotal - b.discounts_total
    assert b.total == b.net + b.tax
    assert b.payout + b.platform_fee == b.net
    assert b.fee_charged - b.platform_fee == b.platform_promo
    assert b.deposit + b.balance == b.total

    # No deduction exceeds what it applies to.
    assert b.line_discounts <= b.subtotal
    assert b.discount_amount <= b.subtotal - b.line_discounts
    assert b.promo_amount <= b.subtotal - b.line_discounts - b.discount_amount
    assert b.platform_fee <= b.net
    assert b.platform_promo <= b.promo_amount
    assert b.deposit <= b.total

    # Nothing is negative (not even -0.00) but the platform's revenue under its own promo; no floats; exactly two places.
    for name, amount in [*figures(b).items(), *(("line", line.amount) for line in b.lines), *(("unit", li.unit_price) for li in b.lines)]:
        assert isinstance(amount, Decimal)
        assert amount.as_tuple().exponent == -2
        if name == "platform_fee" and b.promo_funded_by == "platform":
            continue
        assert amount >= 0
        assert not amount.is_signed()


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=PLATFORM_PROMOS)
def test_a_platform_funded_promo_never_changes_the_payout(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo
) -> None:
    without = price(items, policy=policy, discount=discount)
    b = price(items, policy=policy, discount=discount, promo=promo)

    assert b.payout == without.payout
    assert b.fee_charged == without.platform_fee
    assert b.platform_fee == without.platform_fee - b.promo_amount  # may be negative: the platform pays
    assert b.total == b.net + b.tax and b.net == without.net - b.promo_amount


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=BUSINESS_PROMOS)
def test_a_business_funded_promo_is_priced_like_a_discount_off_the_payout(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo
) -> None:
    without = price(items, policy=policy, discount=discount)
    b = price(items, policy=policy, discount=discount, promo=promo)

    assert b.platform_promo == D("0.00")
    assert b.platform_fee == b.fee_charged >= D("0.00")
    assert b.payout <= without.payout
    assert b.payout + b.platform_fee == b.net == without.net - b.promo_amount


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=PROMOS, data=st.data())
def test_deterministic_and_line_order_changes_no_total(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo | None, data: st.DataObject
) -> None:
    first = price(items, policy=policy, discount=discount, promo=promo)
    shuffled = data.draw(st.permutations(items))
    reordered = price(shuffled, policy=policy, discount=discount, promo=promo)

    assert price(items, policy=policy, discount=discount, promo=promo) == first
    assert replace(reordered, lines=()) == replace(first, lines=())
    assert sorted(reordered.lines, key=repr) == sorted(first.lines, key=repr)


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS, promo=PROMOS, data=st.data())
def test_raising_a_chargeable_price_never_lowers_the_total(
    items: list[LineItem], policy: PricingPolicy, discount: Discount | None, promo: Promo | None, data: st.DataObject
) -> None:
    chargeable = [index for index, item in enumerate(items) if item.kind != "discount"]
    index = data.draw(st.sampled_from(chargeable))
    raised = list(items)
    raised[index] = replace(items[index], unit_price=items[index].unit_price + data.draw(decimals(1, 100_000)))

    before = price(items, policy=policy, discount=discount, promo=promo)
    after = price(raised, policy=policy, discount=discount, promo=promo)
    assume(before.promo_applied == after.promo_applied)  # crossing a promo's min spend may take its saving off

    assert after.subtotal >= before.subtotal  # not always more: 0.01 x £0.01 more still rounds to the same line amount
    assert after.net >= before.net
    assert after.total >= before.total
    assert after.payout >= before.payout


@PROPERTY
@given(items=ITEMS, policy=POLICIES, discount=DISCOUNTS)
def test_a_zero_percent_promo_changes_nothing(items: list[LineItem], policy: PricingPolicy, discount: Discount | None) -> None:
    without = price(items, policy=policy, discount=discount)
    with_promo = price(items, policy=policy, discount=discount, promo=Promo("NOTHING", "percent", D("0")))

    assert with_promo.promo_applied is True
    assert with_promo.promo_funded_by == "platform"
    assert replace(with_promo, promo_applied=False, promo_funded_by="") == without


@PROPERTY
@given(old_items=ITEMS, new_items=ITEMS, policy=POLICIES)
def test_diff_reports_exactly_the_customer_figures_that_changed(
    old_items: list[LineItem], new_items: list[LineItem], policy: PricingPolicy
) -> None:
    old, new = price(old_items, policy=policy), price(new_items, policy=policy)
    changed = {c.subject for c in diff(old, new) if c.kind == "figure_changed"}

    assert diff(old, old) == []
    for name in ("subtotal", "net", "tax", "total", "deposit", "balance"):
        assert (name in changed) == (getattr(old, name) != getattr(new, name))


# --- refusals ---------------------------------------------------------------------------------


def line(quantity: str = "1", unit_price: str = "10.00", kind: Any = "labour", description: str = "Labour") -> LineItem:
    return LineItem(kind, description, D(quantity), D(unit_price))


def priced(*items: LineItem, policy: PricingPolicy = POLICY) -> Callable[[], object]:
    return lambda: price(items, policy=policy)


BAD_INPUT: list[tuple[PricingErrorCode, Callable[[], object]]] = [
    ("not_finite", lambda: line(quantity="NaN")),
    ("not_finite", lambda: line(unit_price="Infinity")),
    ("invalid_kind", lambda: line(kind="plumbing")),
    ("invalid_kind", lambda: Discount("half", D("50"))),  # type: ignore[arg-type]
    ("invalid_kind", lambda: replace(POLICY, deposit_kind="all")),  # type: ignore[arg-type]
    ("invalid_kind", lambda: Promo("SAVE", "fixed", D("5"), funded_by="customer")),  # type: ignore[arg-type]
    ("missing_text", lambda: line(description="  ")),
    ("missing_text", lambda: Promo("", "fixed", D("5"))),
    ("bad_quantity", lambda: line(quantity="0")),
    ("bad_quantity", lambda: line(quantity="-1")),
    ("quantity_too_large", lambda: line(quantity="1000000.01", unit_price="0.00")),
    ("too_precise", lambda: line(quantity="1.255")),
    ("too_precise", lambda: Discount("percent", D("12.345"))),
    ("too_precise", lambda: replace(POLICY, tax_rate=D("0.12345"))),
    ("negative_price", lambda: line(unit_price="-0.01")),
    ("sub_penny", lambda: line(unit_price="45.001")),
    ("sub_penny", lambda: Discount("fixed", D("1.005"))),
    ("sub_penny", lambda: Promo("SAVE", "fixed", D("5"), min_spend=D("99.999"))),
    ("sub_penny", lambda: replace(POLICY, deposit_kind="fixed", deposit_value=D("0.001"))),
    ("percent_out_of_range", lambda: Discount("percent", D("100.01"))),
    ("percent_out_of_range", lambda: Discount("percent", D("-1"))),
    ("percent_out_of_range", lambda: Promo("SAVE", "percent", D("150"))),
    ("percent_out_of_range", lambda: replace(POLICY, deposit_value=D("101"))),
    ("rate_out_of_range", lambda: replace(POLICY, tax_rate=D("1.01"))),
    ("rate_out_of_range", lambda: replace(POLICY, platform_fee_rate=D("-0.01"))),
    ("negative_value", lambda: Discount("fixed", D("-5.00"))),
    ("negative_value", lambda: Promo("SAVE", "fixed", D("-1.00"))),
    ("negative_value", lambda: Promo("SAVE", "fixed", D("5.00"), min_spend=D("-1.00"))),
    ("negative_value", lambda: replace(POLICY, deposit_kind="fixed", deposit_value=D("-1.00"))),
    ("amount_too_large", priced(line(unit_price="1000000.01"))),
    ("amount_too_large", priced(line(quantity="1.5", unit_price="800000.00"))),  # the line: 1,200,000.00
    ("amount_too_large", priced(line(unit_price="600000.00"), line(unit_price="600000.00"))),  # the subtotal
    ("amount_too_large", priced(line(unit_price="900000.00"))),  # the total, with 20 % VAT: 1,080,000.00
    ("amount_too_large", priced(line(unit_price="100.00"), policy=replace(POLICY, max_amount=D("50")))),
    ("too_many_lines", priced(*[line()] * 51)),
    ("too_many_lines", priced(line(), line(), line(), policy=replace(POLICY, max_line_items=2))),
    ("no_chargeable_line", priced()),
    ("no_chargeable_line", priced(line(kind="discount"))),
    ("no_chargeable_line", priced(line(quantity="0.01", unit_price="0.00"), line(quantity="0.01", unit_price="0.49"))),  # rounds to 0.00
    ("invalid_policy", lambda: replace(POLICY, max_line_items=0)),
    ("invalid_policy", lambda: replace(POLICY, max_amount=D("0"))),
    ("invalid_policy", lambda: replace(POLICY, max_amount=D("1000000000000.01"))),
]


@pytest.mark.parametrize(("code", "make"), BAD_INPUT, ids=[f"{code}-{n}" for n, (code, _) in enumerate(BAD_INPUT)])
def test_bad_input_is_refused_with_a_stable_code(code: PricingErrorCode, make: Callable[[], object]) -> None:
    with pytest.raises(PricingError) as caught:
        make()

    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)  # says what was wrong and what to do


def test_every_error_code_is_exercised() -> None:
    assert {code for code, _ in BAD_INPUT} == set(get_args(PricingErrorCode))


def test_error_messages_name_the_problem_and_the_fix() -> None:
    with pytest.raises(PricingError, match=r"45\.001.*at most two decimal places") as caught:
        line(unit_price="45.001")
    assert caught.value.field == "unit_price"
    with pytest.raises(PricingError, match=r"cannot be negative\. Use a 'discount' line"):
        line(unit_price="-5.00")


@pytest.mark.parametrize(
    "make",
    [
        lambda: LineItem("labour", "Labour", 1.5, D("45.00")),  # type: ignore[arg-type]
        lambda: LineItem("labour", "Labour", D("1.5"), 45.0),  # type: ignore[arg-type]
        lambda: LineItem("labour", "Labour", D("1.5"), 45),  # type: ignore[arg-type]  # ints are refused too: say Decimal
        lambda: Discount("percent", 10.0),  # type: ignore[arg-type]
        lambda: Promo("SAVE", "fixed", 15.0),  # type: ignore[arg-type]
        lambda: Promo("SAVE", "fixed", D("15"), min_spend=100.0),  # type: ignore[arg-type]
        lambda: replace(POLICY, tax_rate=0.2),  # type: ignore[arg-type]
        lambda: replace(POLICY, platform_fee_rate=0.1),  # type: ignore[arg-type]
        lambda: replace(POLICY, deposit_value=25.0),  # type: ignore[arg-type]
        lambda: replace(POLICY, max_amount=1e6),  # type: ignore[arg-type]
        lambda: price([{"kind": "labour"}], policy=POLICY),  # type: ignore[list-item]
    ],
)
def test_floats_and_other_non_decimals_raise_type_error(make: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        make()
