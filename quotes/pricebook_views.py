"""Pages of the price book (``/price-book/``): a business's saved line items and quote templates.

Thin: ``quotes/forms.py`` reads what was typed, ``quotes/pricebook.py`` decides and writes, refusals are shown
next to the field they are about. Another business's item or template is a 404, never a hint that it exists.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobs.models import Trade
from marketplace.accounts.models import User
from marketplace.errors import ServiceError

from . import pricebook, selectors
from .bookings import _own_trades, _tradesperson
from .forms import PRICE_BOOK_KINDS, PriceBookItemForm, TemplateDraft, draft_from_template, parse_template, template_error_key
from .models import PriceBookItem, QuoteTemplate


def _own_item(user: User, item_id: int) -> PriceBookItem:
    item = selectors.price_book_item(business_id=user.pk, item_id=item_id)
    if item is None:
        raise Http404("No such price book item.")
    return item


def _own_template(user: User, template_id: int) -> QuoteTemplate:
    template = selectors.quote_template(business_id=user.pk, template_id=template_id)
    if template is None:
        raise Http404("No such template.")
    return template


def _save_item(form: PriceBookItemForm, user: User, item: PriceBookItem | None = None) -> PriceBookItem | None:
    data = form.cleaned_data
    try:
        return pricebook.price_book_item_save(
            business=user,
            item=item,
            name=data["name"],
            description=data["description"],
            kind=data["kind"],
            unit=data["unit"],
            unit_price=data["unit_price"],
            active=item.active if item is not None else True,
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@login_required
def price_book(request: HttpRequest) -> HttpResponse:
    """The business's items (add one here) and templates."""
    user = _tradesperson(request)
    form = PriceBookItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and (item := _save_item(form, user)) is not None:
        messages.success(request, f"“{item.name}” is in your price book. Add it to a quote from the quote builder.")
        return redirect("price-book")
    context = {
        "form": form,
        "items": selectors.price_book_items(business_id=user.pk, include_archived=True),
        "templates": selectors.quote_templates(business_id=user.pk, include_archived=True),
        "example_price": Decimal("18"),
    }
    return render(request, "quotes/price_book.html", context, status=400 if form.errors else 200)


@login_required
def price_book_item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    user = _tradesperson(request)
    item = _own_item(user, item_id)
    initial = {"name": item.name, "description": item.description, "kind": item.kind, "unit": item.unit, "unit_price": item.unit_price}
    form = PriceBookItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save_item(form, user, item) is not None:
        messages.success(request, "Item saved. Quotes already sent keep their prices.")
        return redirect("price-book")
    return render(request, "quotes/price_book_item.html", {"form": form, "item": item}, status=400 if form.errors else 200)


@login_required
@require_POST
def price_book_item_active(request: HttpRequest, item_id: int) -> HttpResponse:
    """Archive or restore an item ("active" = "0" or "1")."""
    user = _tradesperson(request)
    item = pricebook.price_book_item_archive(item=_own_item(user, item_id), actor=user, active=request.POST.get("active") == "1")
    messages.success(request, f"“{item.name}” is {'back in the quote builder' if item.active else 'archived'}.")
    return redirect("price-book")


def _render_template_form(
    request: HttpRequest, user: User, draft: TemplateDraft, template: QuoteTemplate | None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "draft": draft.attach_errors().with_blank_rows(),
        "template": template,
        "items": selectors.price_book_items(business_id=user.pk),
        "trades": _own_trades(user) or Trade.objects.none(),
        "kinds": PRICE_BOOK_KINDS,
    }
    return render(request, "quotes/quote_template_form.html", context, status=status)


@login_required
def quote_template_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    """Add a template (no ``template_id``) or change one: a name, an optional trade, lines in order."""
    user = _tradesperson(request)
    template = _own_template(user, template_id) if template_id is not None else None
    if request.method != "POST":
        return _render_template_form(request, user, draft_from_template(template), template)
    items = {i.pk: i for i in selectors.price_book_items(business_id=user.pk, include_archived=True)}
    draft = parse_template(request.POST, items=items)
    trades = _own_trades(user)
    trade = trades.filter(pk=draft.trade).first() if trades is not None and draft.trade.isdigit() else None
    if draft.trade and trade is None:
        draft.errors["trade"] = "Choose one of your own trades, or none."
    if draft.parsed is not None and not draft.errors:
        try:
            saved = pricebook.quote_template_save(
                business=user,
                template=template,
                name=draft.name,
                trade=trade,
                lines=draft.parsed,
                active=template.active if template is not None else True,
            )
        except ServiceError as exc:
            draft.errors[template_error_key(exc, draft)] = exc.message
        else:
            messages.success(request, f"Template “{saved.name}” saved. Start a quote from it in the quote builder.")
            return redirect("price-book")
    return _render_template_form(request, user, draft, template, status=400)


@login_required
@require_POST
def quote_template_active(request: HttpRequest, template_id: int) -> HttpResponse:
    """Archive or restore a template ("active" = "0" or "1")."""
    user = _tradesperson(request)
    template = pricebook.quote_template_archive(
        template=_own_template(user, template_id), actor=user, active=request.POST.get("active") == "1"
    )
    messages.success(request, f"Template “{template.name}” is {'back in the quote builder' if template.active else 'archived'}.")
    return redirect("price-book")
