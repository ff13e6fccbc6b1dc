"""An issued invoice as a PDF (fpdf2, pure Python): the same facts as the invoice page.

The font is a TrueType file from settings ``INVOICES['PDF_FONT']`` (Debian's DejaVu Sans by
default, embedded so £, accents and any name print); when it is missing the PDF falls back to
the built-in Helvetica and writes "GBP" for "£" and plain ASCII for the rest. Nothing is
fetched from the network.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from marketplace.money import format_money

from .models import Invoice

FAMILY = "InvoiceSans"


class _Pdf(FPDF):
    unicode_font = False

    def setup_fonts(self) -> None:
        regular = Path(settings.INVOICES["PDF_FONT"])
        bold = Path(settings.INVOICES["PDF_FONT_BOLD"])
        if regular.is_file():
            self.add_font(FAMILY, "", str(regular))
            self.add_font(FAMILY, "B", str(bold if bold.is_file() else regular))
            self.unicode_font = True

    def use(self, size: float, *, bold: bool = False) -> None:
        self.set_font(FAMILY if self.unicode_font else "helvetica", "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        """What the current font can draw: everything with the TrueType font, Latin-1 with Helvetica."""
        if self.unicode_font:
            return value
        value = value.replace("£", "GBP ").replace("−", "-").replace("·", "-").replace("–", "-").replace("—", "-")
        value = unicodedata.normalize("NFKD", value)
        return value.encode("latin-1", "ignore").decode("latin-1")

    def line_text(self, value: str, *, size: float = 10, bold: bool = False, height: float = 5) -> None:
        self.use(size, bold=bold)
        self.multi_cell(0, height, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def money(value: Decimal | str) -> str:
    return format_money(Decimal(value))


def percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as PDF bytes (A4). Pure: reads only the frozen invoice row."""
    pdf = _Pdf(format="A4")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(invoice.supplier_name)
    pdf.set_creator("TradeLink")
    pdf.setup_fonts()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    pdf.line_text("VAT invoice" if invoice.supplier_vat_registered else "Invoice", size=20, bold=True, height=10)
    pdf.line_text(f"Invoice number {invoice.number}", size=12, bold=True, height=7)
    pdf.line_text(f"Date of issue {invoice.issued_at:%d %B %Y}   ·   Tax point {invoice.tax_point:%d %B %Y}")
    pdf.ln(4)

    left = pdf.l_margin
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    top = pdf.get_y()
    pdf.use(9, bold=True)
    pdf.cell(width, 5, "FROM")
    pdf.cell(width, 5, "TO", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    supplier = [invoice.supplier_name, *invoice.supplier_address.splitlines()]
    if invoice.supplier_vat_registered:
        supplier.append(f"VAT number {invoice.supplier_vat_number or 'not given'}")
    else:
        supplier.append("Not VAT registered")
    customer = [invoice.customer_name, *invoice.customer_address.splitlines()]
    pdf.use(10)
    y = pdf.get_y()
    pdf.set_xy(left, y)
    pdf.multi_cell(width - 4, 5, pdf.text_of("\n".join(supplier)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_xy(left + width, y)
    pdf.multi_cell(width, 5, pdf.text_of("\n".join(customer)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(bottom, pdf.get_y(), top) + 4)
    pdf.line_text(f"For: {invoice.job_title} (job #{invoice.job_id})")
    pdf.ln(3)

    pdf.use(9)
    with pdf.table(col_widths=(60, 14, 18, 18), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"), line_height=6) as table:
        header = table.row()
        for title in ("Description", "Qty", "Unit price", "Amount"):
            header.cell(title)
        for line in invoice.lines:
            row = table.row()
            row.cell(pdf.text_of(f"{line['description']} ({line['kind']})"))
            row.cell(f"{Decimal(str(line['quantity'])).normalize():f}")
            row.cell(pdf.text_of(money(str(line["unit_price"]))))
            sign = "-" if line.get("is_discount") else ""
            row.cell(pdf.text_of(sign + money(str(line["amount"]))))
    pdf.ln(3)

    totals: list[tuple[str, str]] = [("Subtotal", money(invoice.subtotal))]
    if invoice.discounts:
        totals.append(("Discounts", "-" + money(invoice.discounts)))
    if invoice.promo_code:
        funder = invoice.get_promo_funded_by_display()
        totals.append((f"Promo code {invoice.promo_code} (paid for by {funder})", "-" + money(invoice.promo_amount)))
    totals.append(("Net", money(invoice.net)))
    if invoice.supplier_vat_registered:
        totals.append((f"VAT at {percent(invoice.vat_rate)}", money(invoice.vat)))
    else:
        totals.append(("VAT", "none (not VAT registered)"))
    totals.append(("Total", money(invoice.total)))
    # Charged on sign-off beside the quoted total (as on the invoice page): what a dispute took off, and a tip.
    if invoice.payment.reduction:
        totals.append(("Taken off after a reported problem (agreed by TradeLink)", "-" + money(invoice.payment.reduction)))
    if invoice.payment.tip:
        totals.append(("Tip (all to the tradesperson; no VAT)", money(invoice.payment.tip)))
    totals.append(("Amount paid", money(invoice.amount_paid)))
    label_width = pdf.w - pdf.l_margin - pdf.r_margin - 45
    for label, figure in totals:
        strong = label in ("Total", "Amount paid")
        pdf.use(10, bold=strong)
        pdf.cell(label_width, 6, pdf.text_of(label), align="R")
        pdf.cell(45, 6, pdf.text_of(figure), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.line_text(
        f"Paid by card through TradeLink on behalf of {invoice.supplier_name}. "
        f"Payments are processed by {invoice.gateway_name or 'our payment provider'}; card details are never stored by TradeLink. "
        "Any refund is shown as a credit on the invoice page.",
        size=8,
        height=4,
    )
    return bytes(pdf.output())
