"""Who pays a promo (issue 19, item 3): a platform code never lowers the tradesperson's payout; a business pays
for its own codes; the acceptance records who paid; a cancelled job gives the customer's use back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from payments import services as payments
from payments.models import Payment
from quotes.models import PromoCode, PromoRedemption, QuoteVersion
from quotes.promos import promo_create_for_business
from quotes.serializers import AcceptanceOutputSerializer
from tests.factories import offer, post_job, pro
from tests.helpers import run_payments_executor

from .helpers import accept, submit

pytestmark = pytest.mark.django_db
D = Decimal


def quoted(customer: User, name: str = "bobpromo") -> tuple[Job, User, QuoteVersion]:
    job = post_job(customer)
    bob = pro(name)
    offer(job, bob)
    return job, bob, submit(job, bob)  # net 145.00, fee 10 % = 14.50, payout 130.50, total 174.00


def test_a_platform_code_leaves_the_payout_whole_and_the_platform_pays_it(customer):
    PromoCode.objects.create(code="WELCOME20", kind="fixed", value=D("20.00"))
    job, bob, version = quoted(customer)
    acceptance = accept(version, customer, promo_code="welcome20")

    assert acceptance.promo_funded_by == "platform"
    assert acceptance.promo_amount == D("20.00")
    assert acceptance.net == D("125.00")  # the customer pays less...
    assert acceptance.payout == D("130.50")  # ...the tradesperson is paid as without the code
    assert acceptance.fee_charged == D("14.50")
    assert acceptance.platform_fee == D("-5.50")  # 14.50 fee - 20.00 promo: the platform pays beyond its fee

    # The API says who paid; the fee figures only to the tradesperson (and staff).
    for_pro = AcceptanceOutputSerializer(acceptance, context={"viewer": bob}).data
    assert (for_pro["promo_funded_by"], for_pro["fee_charged"], for_pro["platform_fee"]) == ("platform", "14.50", "-5.50")
    for_customer = AcceptanceOutputSerializer(acceptance, context={"viewer": customer}).data
    assert (for_customer["promo_funded_by"], for_customer["fee_charged"], for_customer["payout"]) == ("platform", None, None)

    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    assert payments.payment_collect(job_id=job.pk) is not None  # the intent...
    run_payments_executor()  # ...and the executor's gateway calls
    payment = Payment.objects.get(job=job)
    assert payment.captured == acceptance.total == D("150.00")  # 125.00 + 20 % VAT
    assert payment.platform_revenue == D("-5.50")
    assert payment.payout_paid + payment.payout_due == D("155.50")  # payout 130.50 + the VAT on 125.00 (25.00)


def test_a_business_code_applies_only_to_its_own_quotes_and_comes_off_its_payout(customer):
    _, bob, version = quoted(customer)
    promo = promo_create_for_business(business=bob, code="bobs10", kind="percent", value=D("10"))
    assert (promo.code, promo.funded_by) == ("BOBS10", "business")

    _, _, other_version = quoted(customer, name="otherpro")
    with pytest.raises(ServiceError) as refused:
        accept(other_version, customer, promo_code="BOBS10")
    assert refused.value.code == "promo_wrong_business"
    assert "Remove it to continue" in refused.value.message

    acceptance = accept(version, customer, promo_code="BOBS10")
    assert acceptance.promo_funded_by == "business"
    assert acceptance.promo_amount == D("14.50")
    assert acceptance.net == D("130.50")
    assert acceptance.platform_fee == acceptance.fee_charged == D("13.05")  # 10 % of 130.50
    assert acceptance.payout == D("117.45")


def test_only_a_tradesperson_can_create_a_business_code(customer):
    with pytest.raises(ServiceError) as refused:
        promo_create_for_business(business=customer, code="MINE", kind="fixed", value=D("5"))
    assert refused.value.code == "forbidden"
    bob = pro("bobcodes")
    promo_create_for_business(business=bob, code="TAKEN1", kind="fixed", value=D("5"))
    with pytest.raises(ServiceError) as taken:
        promo_create_for_business(business=pro("sam"), code="taken1", kind="fixed", value=D("5"))
    assert taken.value.code == "promo_code_taken"


@pytest.mark.parametrize("by", ["customer", "tradesperson"])
def test_cancelling_the_job_gives_the_promo_use_back(customer, by):
    promo = PromoCode.objects.create(code="ONCE", kind="fixed", value=D("10.00"), max_uses=1)
    job, bob, version = quoted(customer)
    acceptance = accept(version, customer, promo_code="ONCE")
    promo.refresh_from_db()
    assert promo.uses == 1 and PromoRedemption.objects.filter(promo=promo).count() == 1

    job_services.job_cancel(job=job, actor=customer if by == "customer" else bob)

    promo.refresh_from_db()
    acceptance.refresh_from_db()
    assert promo.uses == 0 and not PromoRedemption.objects.filter(promo=promo).exists()
    # The acceptance still says what was agreed, for the record.
    assert (acceptance.promo_code, acceptance.promo_amount, acceptance.promo_redemption_id) == ("ONCE", D("10.00"), None)
    # The customer can use it again on their next job.
    _, _, next_version = quoted(customer, name="nextpro")
    assert accept(next_version, customer, promo_code="ONCE").promo_amount == D("10.00")
