"""The price book (issue 21, item 8): a business's saved items and quote templates, its pages and API, and the
quote builder that offers them, while every figure of a quote still comes from the pricing engine."""

from __future__ import annotations

import json
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.test import Client

from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from quotes import terms
from quotes.models import PriceBookItem, QuoteOption, QuoteTemplate
from quotes.pricebook import TemplateLineInput, price_book_item_archive, price_book_item_save, quote_template_save
from quotes.pricing import LineItem, price
from tests.factories import offer, post_job, pro
from tests.helpers import client_for, error_code

D = Decimal
pytestmark = pytest.mark.django_db


def _item(business: Any, **kw: Any) -> PriceBookItem:
    fields: dict[str, Any] = {"name": "Tap cartridge", "description": "Replace tap cartridge", "unit_price": D("18.00"), "unit": "each"}
    return price_book_item_save(business=business, **(fields | kw))


def _page(user: Any) -> Client:
    page = Client()
    page.force_login(user)
    return page


# --- services ------------------------------------------------------------------------------------


def test_an_item_is_saved_changed_and_archived_by_its_business_only_with_an_event_each_time(customer) -> None:
    bob, eve = pro("bob"), pro("eve")
    item = _item(bob, kind="materials")
    assert (item.name, item.unit_price, item.active) == ("Tap cartridge", D("18.00"), True)
    item = price_book_item_save(business=bob, item=item, name="Tap cartridge", description="", unit_price=D("19.5"))
    assert (item.description, item.unit_price) == ("Tap cartridge", D("19.50"))  # an empty text takes the name
    price_book_item_archive(item=item, actor=bob)
    events = OutboxEvent.objects.filter(event_type="price_book.item_changed", key=str(bob.pk)).order_by("sequence")
    assert [e.envelope["data"]["action"] for e in events] == ["added", "changed", "archived"]
    assert events.last().envelope["data"]["unit_price"] == "19.50"  # type: ignore[union-attr]

    for who, kw, code, field in (
        (customer, {}, "not_a_tradesperson", ""),
        (bob, {"name": "  "}, "missing_text", "name"),
        (bob, {"unit_price": D("-1")}, "bad_amount", "unit_price"),
        (bob, {"unit_price": D("1.234")}, "bad_amount", "unit_price"),
        (bob, {"kind": "discount"}, "invalid_kind", "kind"),
        (eve, {"item": item}, "not_found", ""),
    ):
        with pytest.raises(ServiceError) as refused:
            _item(who, **kw)
        assert (refused.value.code, refused.value.field) == (code, field)
    with pytest.raises(ServiceError) as refused:
        price_book_item_archive(item=item, actor=eve)
    assert refused.value.code == "not_found"


def test_a_template_copies_its_items_lines_in_order_and_refuses_another_business_item() -> None:
    bob, eve = pro("bob"), pro("eve")
    cartridge = _item(bob)
    template = quote_template_save(
        business=bob,
        name="Dripping tap",
        lines=[
            TemplateLineInput(item=cartridge),
            TemplateLineInput(description="Labour", quantity=D("1.5"), unit_price=D("45"), kind="labour"),
        ],
    )
    lines = list(template.lines.all())
    assert [(line.position, line.item_id, line.kind, line.description, line.quantity, line.unit_price) for line in lines] == [
        (0, cartridge.pk, "materials", "Replace tap cartridge", D("1.00"), D("18.00")),
        (1, None, "labour", "Labour", D("1.50"), D("45.00")),
    ]
    # Editing the item later does not change the template's copy.
    cartridge = price_book_item_save(business=bob, item=cartridge, name="Tap cartridge", description="Cartridge", unit_price=D("25"))
    assert template.lines.get(position=0).unit_price == D("18.00")
    # Saving replaces the lines.
    quote_template_save(business=bob, template=template, name="Dripping tap", lines=[TemplateLineInput(item=cartridge, quantity=D(2))])
    assert [(line.description, line.quantity) for line in template.lines.all()] == [("Cartridge", D("2.00"))]
    assert OutboxEvent.objects.filter(event_type="price_book.template_changed", key=str(bob.pk)).count() == 2

    for who, kw, code, field in (
        (eve, {"lines": [TemplateLineInput(item=cartridge)]}, "not_your_item", "lines[0].item"),
        (bob, {"lines": []}, "no_lines", "lines"),
        (bob, {"lines": [TemplateLineInput(description="Labour")]}, "missing_price", "lines[0].unit_price"),
        (bob, {"lines": [TemplateLineInput(description="Labour", unit_price=D(1), quantity=D("0"))]}, "bad_quantity", "lines[0].quantity"),
        (eve, {"template": template, "lines": [TemplateLineInput(description="X", unit_price=D(1))]}, "not_found", ""),
    ):
        with pytest.raises(ServiceError) as refused:
            quote_template_save(business=who, name="T", **kw)
        assert (refused.value.code, refused.value.field) == (code, field)


# --- the API -------------------------------------------------------------------------------------


def test_the_api_keeps_each_business_to_its_own_price_book(customer) -> None:
    bob, eve = pro("bob"), pro("eve")
    api = client_for(bob)
    created = api.post("/api/price-book/items/", {"name": "Call-out", "kind": "callout", "unit_price": "30.00"}, format="json")
    assert created.status_code == 201, created.json()
    item = created.json()
    assert (item["description"], item["unit_price"], item["active"]) == ("Call-out", "30.00", True)
    url = f"/api/price-book/items/{item['id']}/"
    assert api.patch(url, {"unit_price": "32.50"}, format="json").json()["unit_price"] == "32.50"

    bad = api.post("/api/price-book/items/", {"name": "X", "unit_price": "-2"}, format="json")
    assert bad.status_code == 400 and error_code(bad) == "validation_error" and "unit_price" in bad.json()["error"]["fields"]

    template = api.post(
        "/api/price-book/templates/",
        {
            "name": "Visit",
            "lines": [{"item": item["id"]}, {"description": "Labour", "kind": "labour", "quantity": "2", "unit_price": "45"}],
        },
        format="json",
    )
    assert template.status_code == 201, template.json()
    assert [(line["description"], line["unit_price"]) for line in template.json()["lines"]] == [("Call-out", "32.50"), ("Labour", "45.00")]
    template_url = f"/api/price-book/templates/{template.json()['id']}/"
    assert api.patch(template_url, {"name": "Standard visit"}, format="json").json()["lines"][1]["quantity"] == "2.00"

    # Another business: 404 for every one of bob's, and bob's item cannot go in its template.
    other = client_for(eve)
    assert other.get("/api/price-book/items/").json() == []
    for response in (other.get(url), other.patch(url, {"name": "Mine"}, format="json"), other.delete(url), other.get(template_url)):
        assert response.status_code == 404 and error_code(response) == "not_found"
    stolen = other.post("/api/price-book/templates/", {"name": "T", "lines": [{"item": item["id"]}]}, format="json")
    assert stolen.status_code == 400 and stolen.json()["error"]["fields"] == {"lines[0].item": ["Choose an item from your own price book."]}
    # A customer is turned away; the owner archives.
    assert client_for(customer).get("/api/price-book/items/").status_code == 403
    assert api.delete(url).status_code == 204 and api.delete(template_url).status_code == 204
    assert api.get(url).json()["active"] is False and QuoteTemplate.objects.get().active is False


# --- pages and the quote builder -----------------------------------------------------------------


def test_the_price_book_page_says_what_is_wrong_next_to_the_field(customer) -> None:
    bob = pro("bob")
    page = _page(bob)
    refused = page.post("/price-book/", {"name": "", "kind": "materials", "unit_price": "abc"})
    text = unescape(refused.content.decode())
    assert refused.status_code == 400
    assert "Give the item a name, e.g. Tap cartridge." in text and "Enter a price in pounds and pence, e.g. 18 or 18.50." in text
    assert page.post("/price-book/", {"name": "Cartridge", "kind": "callout", "unit_price": "18"}).status_code == 302
    item = PriceBookItem.objects.get(business=bob)

    bad_line = page.post("/price-book/templates/new/", {"name": "Visit", "line-0-description": "Labour", "line-0-unit_price": "4x"})
    assert bad_line.status_code == 400 and "Enter a number, e.g. 2 or 45.50." in unescape(bad_line.content.decode())
    no_lines = page.post("/price-book/templates/new/", {"name": "Visit"})
    assert no_lines.status_code == 400 and "Add at least one line." in unescape(no_lines.content.decode())
    saved = page.post(
        "/price-book/templates/new/", {"name": "Visit", "line-0-item": str(item.pk), "line-0-kind": "", "line-0-quantity": "2"}
    )
    assert saved.status_code == 302
    lines = QuoteTemplate.objects.get().lines.all()
    assert [(line.description, line.kind, line.quantity) for line in lines] == [("Cartridge", "callout", D("2.00"))]  # the item's kind

    # Another business sees none of it; a customer is not let in.
    eve = _page(pro("eve"))
    assert eve.get(f"/price-book/items/{item.pk}/edit/").status_code == 404
    assert eve.post(f"/price-book/items/{item.pk}/active/", {"active": "0"}).status_code == 404
    assert _page(customer).get("/price-book/").status_code == 403


def test_a_quote_started_from_a_template_has_the_engines_figures(customer) -> None:
    bob = pro("bob")
    job = post_job(customer)
    offer(job, bob)
    cartridge = _item(bob)
    template = quote_template_save(
        business=bob,
        name="Dripping tap",
        lines=[
            TemplateLineInput(item=cartridge),
            TemplateLineInput(description="Labour", quantity=D("1.5"), unit_price=D("45"), kind="labour"),
        ],
    )
    page = _page(bob)
    builder = page.get(f"/leads/{job.pk}/").content.decode()
    assert 'id="price-book-data"' in builder and "Add from price book" in builder and "Start from template" in builder
    offered = json.loads(unescape(builder.split('id="price-book-data" type="application/json">')[1].split("</script>")[0]))
    assert offered["templates"][0]["lines"][1] == {"kind": "labour", "description": "Labour", "quantity": "1.50", "unit_price": "45.00"}

    # What the script puts in the form from the template, with a made-up total the server must ignore.
    form: dict[str, str] = {"total": "1.00", "opt-0-total": "1.00"}
    for n, line in enumerate(offered["templates"][0]["lines"]):
        form |= {f"opt-0-line-{n}-{key}": value for key, value in line.items()}
    assert page.post(f"/leads/{job.pk}/quote/", form).status_code == 302

    option = QuoteOption.objects.get(version__bid__job=job)
    expected = price(
        [LineItem(line.kind, line.description, line.quantity, line.unit_price) for line in template.lines.all()],  # type: ignore[arg-type]
        policy=terms.policy(tax_rate=terms.business_tax_rate(bob.pk)),
    )
    assert (option.subtotal, option.tax, option.total, option.deposit) == (
        expected.subtotal,
        expected.tax,
        expected.total,
        expected.deposit,
    )
    assert option.subtotal == D("85.50")  # 18 + 1.5 x 45


def test_staff_archive_an_item_through_the_service_and_cannot_edit_it(django_user_model) -> None:
    bob = pro("bob")
    item = _item(bob)
    staff = _page(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x"))
    changelist = "/admin/quotes/pricebookitem/"
    assert staff.post(changelist, {"action": "archive", "_selected_action": [item.pk]}).status_code == 302
    item.refresh_from_db()
    assert item.active is False
    assert OutboxEvent.objects.filter(event_type="price_book.item_changed").latest("id").envelope["data"]["action"] == "archived"
    assert staff.post(f"{changelist}{item.pk}/change/", {"name": "Staff edit"}).status_code == 403
