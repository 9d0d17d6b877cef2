"""An invoice as a PDF the customer can keep: the receipt page's words (the same strings, the
same amounts, the same names of lines) on an A4 page.

Two steps, so that what the document says is tested apart from how it is drawn:
`invoice_sheet` words an invoice for one customer (everything already in their language,
dates in their time zone, amounts as the emails write them), and `render_pdf` lays a sheet
out with fpdf2. Arabic is shaped by HarfBuzz (fpdf2's text shaping) and laid out right to
left: the columns swap sides and the text is aligned to the right margin.

The bytes depend only on the sheet: the document's creation date is the invoice's, never
the clock's, so the same invoice always downloads as the same file.
"""

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tenure.domain.credit_notes import refund_failed
from tenure.domain.invoices import Invoice, LineKind
from tenure.notify.pages import RTL, day, invoice_name, locale_of, money, strings

if TYPE_CHECKING:
    from fpdf import FPDF

    from tenure.domain.credit_notes import CreditNote
    from tenure.domain.customers import Customer

FONTS_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"  # DejaVu Sans: Latin, Cyrillic and Arabic in one face (see fonts/LICENSE)
PDF_CONTENT_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class Party:
    """Who a document is from or made out to, as it prints them."""

    name: str
    address: str | None = None  # lines separated by line breaks
    tax_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceSheet:
    """What an invoice's (or a credit note's) PDF says, already worded for its reader."""

    locale: str
    title: str  # "Invoice INV-2026-000001", or "Invoice — Basic, March 1 – 31, 2026"
    subtitle: str  # what it is for, when the title is a number; else ""
    facts: tuple[tuple[str, str], ...]  # (label, value): issued, status, paid on
    seller: tuple[str, ...]
    buyer_heading: str
    buyer: tuple[str, ...]
    item_heading: str
    amount_heading: str
    lines: tuple[tuple[str, str], ...]  # (what, amount), tax last
    total: tuple[str, str]
    notes: tuple[str, ...]
    issued_at: datetime
    filename: str

    @property
    def right_to_left(self) -> bool:
        return self.locale in RTL


def buyer_of(customer: "Customer") -> Party:
    """The customer as an invoice prints them: the legal name and address they gave for
    invoices (docs/invoices.md) when they gave one, else the name they go by."""
    billing = customer.billing
    name = (billing.name if billing and billing.name else None) or customer.name
    return Party(
        name=name,
        address=billing.address if billing else None,
        tax_id=billing.tax_id if billing else None,
        email=customer.email,
    )


def invoice_sheet(invoice: Invoice, customer: "Customer", seller: Party) -> InvoiceSheet:
    """Word `invoice` for `customer` as the receipt page does: the invoice is named by its
    legal number (or, before it has one, by what it is for), never by its internal id."""
    from tenure.notify.render import worded_lines  # Babel: paid by documents and pages only

    locale, tz = locale_of(customer.locale), customer.timezone or "UTC"
    t = strings(locale)
    named = invoice_name(invoice, locale, tz)
    facts = [(t["invoice_issued"], day(invoice.created_at, locale, tz))]
    facts.append((t["status"], t["invoice_status_" + invoice.status.value]))
    if invoice.paid_at is not None:
        facts.append((t["invoice_paid_on"], day(invoice.paid_at, locale, tz)))
    worded = worded_lines(invoice.lines, invoice.period_start, invoice.period_end, locale, tz)
    lines = [(label, money(amount, invoice.currency, locale)) for label, amount in worded]
    tax = sum(line.amount for line in invoice.lines if line.kind is LineKind.TAX)
    if tax:
        lines.append((t["invoice_tax"], money(tax, invoice.currency, locale)))
    notes = []
    if invoice.amount_refunded:
        refunded = money(invoice.amount_refunded, invoice.currency, locale)
        notes.append(t["invoice_refunded"].format(amount=refunded))
    title, subtitle = (
        (f"{t['invoice']} {invoice.number}", named)
        if invoice.number
        else (f"{t['invoice']} — {named}", "")
    )
    return InvoiceSheet(
        locale=locale,
        title=title,
        subtitle=subtitle,
        facts=tuple(facts),
        seller=_party_lines(seller, t),
        buyer_heading=t["invoice_billed_to"],
        buyer=_party_lines(buyer_of(customer), t),
        item_heading=t["invoice_item"],
        amount_heading=t["amount"],
        lines=tuple(lines),
        total=(t["invoice_total"], money(invoice.total, invoice.currency, locale)),
        notes=tuple(notes),
        issued_at=invoice.created_at,
        filename=f"{invoice.number or f'invoice-{invoice.created_at:%Y-%m-%d}'}.pdf",
    )


def credit_note_sheet(
    note: "CreditNote", invoice: Invoice, customer: "Customer", seller: Party
) -> InvoiceSheet:
    """A credit note: what it takes back of which invoice, and why. When the refund it
    credits failed (or was canceled) at the provider, the note stays issued and says so
    plainly: the money did not go back, whatever its reason says."""
    locale, tz = locale_of(customer.locale), customer.timezone or "UTC"
    t = strings(locale)
    credited = invoice.number or invoice_name(invoice, locale, tz)
    amount = money(-note.amount, note.currency, locale)
    facts = [
        (t["invoice_issued"], day(note.created_at, locale, tz)),
        (t["credit_note_reason"], t["credit_reason_" + note.reason.value]),
    ]
    line = t["credit_note_line"].format(invoice=credited)
    notes: tuple[str, ...] = ()
    failed = refund_failed(note, invoice)
    if failed is not None:
        # Some locales' usual line reads "refunded on invoice ...": not for money kept.
        line = t["credit_note_line_not_refunded"].format(invoice=credited)
        facts.append((t["credit_note_refund"], t[f"credit_note_refund_{failed.value}"]))
        notes = (t[f"credit_note_refund_{failed.value}_note"],)
    return InvoiceSheet(
        locale=locale,
        title=f"{t['credit_note']} {note.number or ''}".rstrip(),
        subtitle=t["credit_note_for"].format(invoice=credited),
        facts=tuple(facts),
        seller=_party_lines(seller, t),
        buyer_heading=t["invoice_billed_to"],
        buyer=_party_lines(buyer_of(customer), t),
        item_heading=t["invoice_item"],
        amount_heading=t["amount"],
        lines=((line, amount),),
        total=(t["invoice_total"], amount),
        notes=notes,
        issued_at=note.created_at,
        filename=f"{note.number or note.id}.pdf",
    )


def _party_lines(party: Party, t: dict[str, str]) -> tuple[str, ...]:
    lines = [party.name, *(party.address or "").splitlines()]
    if party.tax_id:
        lines.append(t["tax_id"].format(tax_id=party.tax_id))
    if party.email:
        lines.append(party.email)
    return tuple(line for line in lines if line.strip())


def render_pdf(sheet: InvoiceSheet) -> bytes:
    """The sheet on A4 pages (a long invoice flows onto more, the table's head repeated), as
    PDF bytes."""
    pdf = _document(sheet)
    start, end = ("R", "L") if sheet.right_to_left else ("L", "R")
    width = pdf.epw

    for n, line in enumerate(sheet.seller):
        pdf.set_font(FONT, "B" if n == 0 else "", 11 if n == 0 else 10)
        _write(pdf, sheet, width, line, start)
    pdf.ln(6)

    pdf.set_font(FONT, "B", 16)
    _write(pdf, sheet, width, sheet.title, start, height=8)
    if sheet.subtitle:
        pdf.set_font(FONT, "", 11)
        _write(pdf, sheet, width, sheet.subtitle, start)
    pdf.ln(3)

    pdf.set_font(FONT, "", 10)
    for label, value in sheet.facts:
        _row(pdf, sheet, f"{label}:", value, rule=False, label_share=0.3, value_align=start)
    pdf.ln(3)
    pdf.set_font(FONT, "B", 10)
    _write(pdf, sheet, width, sheet.buyer_heading, start)
    pdf.set_font(FONT, "", 10)
    for line in sheet.buyer:
        _write(pdf, sheet, width, line, start)
    pdf.ln(6)

    def head() -> None:
        pdf.set_font(FONT, "B", 10)
        _row(pdf, sheet, sheet.item_heading, sheet.amount_heading, rule=True, value_align=end)
        pdf.set_font(FONT, "", 10)

    head()
    for label, amount in sheet.lines:
        if pdf.will_page_break(_ROOM):
            pdf.add_page()
            head()
        _row(pdf, sheet, label, amount, rule=False, value_align=end)
    pdf.set_font(FONT, "B", 11)
    _row(pdf, sheet, *sheet.total, rule=True, value_align=end)

    pdf.set_font(FONT, "", 10)
    for note in sheet.notes:
        pdf.ln(2)
        _write(pdf, sheet, width, note, start)
    return bytes(pdf.output())


_ROOM = 12  # mm a row needs at the bottom of a page before it goes to the next


def _document(sheet: InvoiceSheet) -> "FPDF":
    from fpdf import FPDF  # fpdf2 and HarfBuzz load only where a PDF is made

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(sheet.issued_at)
    pdf.set_title(sheet.title)
    pdf.set_lang(sheet.locale)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font(FONT, "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    return pdf


def _write(
    pdf: "FPDF", sheet: InvoiceSheet, width: float, text: str, align: str, height: float = 6
) -> None:
    """One piece of text, wrapped to `width`, in the direction its own first letter gives it
    (as HTML's dir="auto": a Latin address stays left to right on an Arabic page), set
    against the side `align` names; the cursor goes to the next line."""
    direction = _direction(text, sheet.right_to_left)
    if direction == "rtl":
        text = _isolate_latin(text)
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab")
    else:
        pdf.set_text_shaping(use_shaping_engine=True, direction="ltr")
    pdf.multi_cell(width, height, text, align=align, new_x="LMARGIN", new_y="NEXT")


def _direction(text: str, right_to_left: bool) -> str:
    """On an Arabic sheet, a text with any Arabic letter is an Arabic sentence (which may
    begin with a Latin plan name) and anything else (an address, a coupon code) reads left to
    right; on other sheets a text goes the way its first letter does (HTML's dir="auto")."""
    kinds = [unicodedata.bidirectional(ch) for ch in text]
    if right_to_left:
        return "rtl" if any(kind in _STRONG_RTL for kind in kinds) else "ltr"
    for kind in kinds:
        if kind == "L":
            return "ltr"
        if kind in _STRONG_RTL:
            return "rtl"
    return "ltr"


_LRI, _PDI = "\u2066", "\u2069"
_STRONG_RTL = frozenset({"R", "AL"})
_NUMBER_PARTS = frozenset({"EN", "ES", "ET", "CS"})


def _isolate_latin(text: str) -> str:
    """Set each Latin stretch of a right-to-left text apart (Unicode's isolates), so that
    the neutral marks and numbers beside it belong to the Arabic around it: "Pro، 1 مارس"
    keeps its "1" with "مارس". A stretch runs from a Latin letter to the last Latin letter
    before the next Arabic one, with the number and closing brackets that touch its end."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if unicodedata.bidirectional(text[i]) != "L":
            out.append(text[i])
            i += 1
            continue
        last = i
        j = i + 1
        while j < n and unicodedata.bidirectional(text[j]) not in _STRONG_RTL:
            if unicodedata.bidirectional(text[j]) == "L":
                last = j
            j += 1
        end = scan = last + 1
        # Digits and the signs between them that touch the stretch's end belong to it
        # ("SPRING20", "(monthly)", "INV-2026-000042"); a sign with no digit after it does
        # not ("(monthly)،" keeps its Arabic comma).
        while scan < n and (
            unicodedata.bidirectional(text[scan]) in _NUMBER_PARTS or text[scan] in ")]}"
        ):
            if unicodedata.bidirectional(text[scan]) == "EN" or text[scan] in ")]}":
                end = scan + 1
            scan += 1
        out.append(_LRI + text[i:end] + _PDI)
        i = end
    return "".join(out)


def _row(
    pdf: "FPDF",
    sheet: InvoiceSheet,
    label: str,
    value: str,
    *,
    rule: bool,
    value_align: str,
    label_share: float = 0.7,
) -> None:
    """A label and its value side by side (the value on the reading side's far end), the
    label wrapping when it is long; a rule under header and total rows."""
    label_width = pdf.epw * label_share
    value_width = pdf.epw - label_width
    label_align = "R" if sheet.right_to_left else "L"
    if pdf.will_page_break(_ROOM):  # both cells of a row start on the same page
        pdf.add_page()
    top = pdf.get_y()
    left = pdf.l_margin
    label_x, value_x = (
        (left + value_width, left) if sheet.right_to_left else (left, left + label_width)
    )
    pdf.set_xy(label_x, top)
    _write(pdf, sheet, label_width, label, label_align)
    bottom = pdf.get_y()
    pdf.set_xy(value_x, top)
    _write(pdf, sheet, value_width, value, value_align)
    pdf.set_y(max(bottom, pdf.get_y()))
    if rule:
        pdf.line(left, pdf.get_y(), left + pdf.epw, pdf.get_y())
        pdf.ln(1)
