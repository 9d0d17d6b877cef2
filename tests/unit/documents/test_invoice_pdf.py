"""An invoice's PDF: what it says (worded for its reader, never an internal id) and how it is
drawn, checked the way a reader meets it: the pages rendered to PNG by PDFium, the text read
back, Arabic set against the right margin. The PNGs are kept with the test output."""

from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tenure.documents.invoice_pdf import (
    InvoiceSheet,
    Party,
    _isolate_latin,
    credit_note_sheet,
    invoice_sheet,
    render_pdf,
)
from tenure.domain.credit_notes import CreditNote, CreditReason
from tenure.domain.customers import BillingDetails, Customer
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RefundRecord,
    RefundStatus,
)

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
SELLER = Party("Acme Ltd", "1 Main Street\nDublin", "IE1234567X")


def _invoice(*lines: InvoiceLine, status: InvoiceStatus = InvoiceStatus.PAID) -> Invoice:
    return Invoice(
        id="in_internal_7f3a",
        subscription_id="sub_1",
        customer_id="cus_1",
        kind=InvoiceKind.RENEWAL,
        period_start=MARCH,
        period_end=datetime(2026, 4, 1, tzinfo=UTC),
        currency="USD",
        lines=list(lines)
        or [
            InvoiceLine(LineKind.PLAN, "Pro", 4900),
            InvoiceLine(LineKind.COUPON, "SPRING", -980),
            InvoiceLine(LineKind.TAX, "VAT", 784),
        ],
        status=status,
        created_at=MARCH,
        paid_at=MARCH if status is InvoiceStatus.PAID else None,
    )


def _customer(locale: str, name: str) -> Customer:
    return Customer(
        "cus_1", "layla@example.com", MARCH, name=name, locale=locale, timezone="Asia/Dubai"
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("invoice-pdf-pages")
    print(f"invoice PDF pages: {folder}")
    return folder


def _pages(pdf: bytes) -> list[pdfium.PdfPage]:
    document = pdfium.PdfDocument(pdf)
    return [document[i] for i in range(len(document))]


def _text(page: pdfium.PdfPage) -> str:
    """The page's text as PDFium reads it back, spaces and line ends dropped (PDFium splits
    shaped runs at its own places)."""
    return "".join(str(page.get_textpage().get_text_range()).split())


def _has(page: pdfium.PdfPage, words: str) -> bool:
    return "".join(words.split()) in _text(page)


def _ink_columns(page: pdfium.PdfPage, shots: Path, name: str, top: float, bottom: float) -> range:
    """The leftmost and rightmost columns with ink between two heights (fractions of the
    page), from the page rendered to PNG as a reader would see it."""
    image = page.render(scale=1).to_pil().convert("L")
    image.save(shots / f"{name}.png")
    width, height = image.size
    band = image.crop((0, int(height * top), width, int(height * bottom)))
    inked = [
        x for x in range(width) if any(band.getpixel((x, y)) < 128 for y in range(band.size[1]))
    ]
    assert inked, f"nothing drawn between {top} and {bottom} of the page"
    return range(inked[0], inked[-1] + 1)


def test_the_sheet_words_the_invoice_as_the_receipt_page_does() -> None:
    sheet = invoice_sheet(_invoice(), _customer("en", "Jane Doe"), SELLER)
    period = "March 1\u2009–\u2009April 1, 2026"  # Babel's interval: thin spaces
    assert sheet.title == f"Invoice — Pro, {period}"
    assert sheet.facts == (
        ("Issued", "March 1, 2026"),
        ("Status", "Paid"),
        ("Paid on", "March 1, 2026"),
    )
    assert sheet.lines == (
        (f"Pro, {period}", "$49.00"),
        ("SPRING", "-$9.80"),
        ("Tax", "$7.84"),
    )
    assert sheet.total == ("Total", "$47.04")
    assert sheet.seller == ("Acme Ltd", "1 Main Street", "Dublin", "Tax ID: IE1234567X")
    assert sheet.buyer == ("Jane Doe", "layla@example.com")
    assert sheet.subtitle == "" and sheet.filename == "invoice-2026-03-01.pdf"
    assert sheet.notes == ()


def test_dates_are_the_customers_own_days_not_utc_ones() -> None:
    late = _invoice()
    late.created_at = datetime(2026, 2, 28, 21, 30, tzinfo=UTC)  # March 1 in Dubai (UTC+4)
    sheet = invoice_sheet(late, _customer("en", "Jane"), SELLER)
    assert sheet.facts[0] == ("Issued", "March 1, 2026")


def test_a_refund_is_noted_under_the_lines() -> None:
    refunded = _invoice()
    refunded.amount_refunded = 500
    sheet = invoice_sheet(refunded, _customer("en", "Jane"), SELLER)
    assert sheet.notes == ("Refunded: $5.00",)


def test_the_pdf_says_what_the_sheet_says_and_never_the_internal_id(shots: Path) -> None:
    sheet = invoice_sheet(_invoice(), _customer("en", "Jane Doe"), SELLER)
    pdf = render_pdf(sheet)
    assert pdf.startswith(b"%PDF-")
    [page] = _pages(pdf)
    for words in (sheet.title, "Acme Ltd", "Jane Doe", "SPRING", "-$9.80", "$47.04"):
        assert _has(page, words), words
    assert "in_internal_7f3a" not in _text(page) and b"in_internal_7f3a" not in pdf
    _ink_columns(page, shots, "invoice-en", 0.0, 1.0)


def test_arabic_is_shaped_and_set_against_the_right_margin(shots: Path) -> None:
    english = render_pdf(invoice_sheet(_invoice(), _customer("en", "Jane Doe"), SELLER))
    arabic_sheet = invoice_sheet(_invoice(), _customer("ar", "ليلى أحمد"), SELLER)
    arabic = render_pdf(arabic_sheet)
    assert arabic_sheet.right_to_left and arabic_sheet.total[0] == "الإجمالي"
    [en_page], [ar_page] = _pages(english), _pages(arabic)
    # The seller's name heads the page: flush left in English, flush right in Arabic.
    en_ink = _ink_columns(en_page, shots, "invoice-en-page", 0.0, 0.08)
    ar_ink = _ink_columns(ar_page, shots, "invoice-ar-page", 0.0, 0.08)
    middle = en_page.get_size()[0] / 2
    assert en_ink.start < middle / 2 and en_ink.stop < middle
    assert ar_ink.start > middle and ar_ink.stop > middle * 1.5
    # The text read back is the Arabic in its logical order: shaped glyphs that map back to
    # their letters (PDFium splits the lam-alef ligature, so words without one are read).
    assert _has(ar_page, "ليلى أحمد") and _has(ar_page, "الضريبة")


def test_a_latin_plan_name_in_an_arabic_sentence_is_set_apart_with_its_brackets() -> None:
    isolated = _isolate_latin("الفاتورة — Pro plan (monthly)، 1 مارس")
    assert isolated == "الفاتورة — \u2066Pro plan (monthly)\u2069، 1 مارس"
    assert _isolate_latin("قسيمة SPRING20 فقط") == "قسيمة \u2066SPRING20\u2069 فقط"
    assert _isolate_latin("الضريبة") == "الضريبة"
    assert _isolate_latin("إشعار CN-2026-000007") == "إشعار \u2066CN-2026-000007\u2069"
    assert _isolate_latin("على INV-2026-42، 1 مارس") == "على \u2066INV-2026-42\u2069، 1 مارس"


def test_russian_uses_the_same_font_without_missing_glyphs() -> None:
    sheet = invoice_sheet(_invoice(), _customer("ru", "Иван Петров"), SELLER)
    [page] = _pages(render_pdf(sheet))
    assert _has(page, "Иван Петров") and _has(page, "Итого")


def test_the_same_invoice_always_downloads_as_the_same_bytes() -> None:
    sheet = invoice_sheet(_invoice(), _customer("ar", "ليلى"), SELLER)
    assert render_pdf(sheet) == render_pdf(sheet)


def test_a_long_invoice_flows_onto_more_pages_with_the_total_on_the_last(shots: Path) -> None:
    lines = [InvoiceLine(LineKind.PLAN, f"Seat {n}", 100) for n in range(90)]
    sheet = invoice_sheet(_invoice(*lines), _customer("en", "Jane"), SELLER)
    pages = _pages(render_pdf(sheet))
    assert len(pages) >= 2
    assert _has(pages[-1], "Total$90.00") and not _has(pages[0], "Total")
    assert all(_has(page, "ItemAmount") for page in pages)  # the table's head on each page
    _ink_columns(pages[-1], shots, "invoice-long-last", 0.0, 1.0)


def test_a_hostile_name_is_drawn_as_text() -> None:
    hostile = "<script>alert(1)</script> ) Tj /JavaScript"
    sheet = invoice_sheet(_invoice(), _customer("en", hostile), SELLER)
    [page] = _pages(render_pdf(sheet))
    assert _has(page, hostile)


def test_a_sheet_with_a_bare_seller_and_a_nameless_buyer_still_renders() -> None:
    sheet: InvoiceSheet = invoice_sheet(_invoice(), _customer("en", ""), Party("Shop"))
    assert (sheet.seller, sheet.buyer) == (("Shop",), ("layla@example.com",))
    assert _pages(render_pdf(sheet))


def test_a_numbered_invoice_is_titled_by_its_number_and_made_out_to_the_legal_buyer() -> None:
    invoice = _invoice()
    invoice.number = "INV-2026-000042"
    customer = _customer("en", "Jane")
    customer.billing = BillingDetails("Doe Holdings Ltd", "5 Quay Road\nCork", "IE9876543Y")
    sheet = invoice_sheet(invoice, customer, SELLER)
    assert sheet.title == "Invoice INV-2026-000042"
    assert sheet.subtitle.startswith("Pro, March 1") and sheet.filename == "INV-2026-000042.pdf"
    assert sheet.buyer == (
        "Doe Holdings Ltd",
        "5 Quay Road",
        "Cork",
        "Tax ID: IE9876543Y",
        "layla@example.com",
    )
    [page] = _pages(render_pdf(sheet))
    for words in ("Invoice INV-2026-000042", "Doe Holdings Ltd", "Tax ID: IE1234567X"):
        assert _has(page, words), words


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_a_credit_note_names_what_it_credits_in_the_customers_language(
    locale: str, shots: Path
) -> None:
    invoice = _invoice()
    invoice.number = "INV-2026-000042"
    note = CreditNote(
        "cn_in_internal_7f3a_1",
        "in_internal_7f3a",
        "cus_1",
        500,
        "USD",
        CreditReason.REFUND,
        datetime(2026, 3, 10, tzinfo=UTC),
        "CN-2026-000007",
        "INV-2026-000042",
    )
    sheet = credit_note_sheet(note, invoice, _customer(locale, "Layla"), SELLER)
    assert sheet.filename == "CN-2026-000007.pdf" and "CN-2026-000007" in sheet.title
    assert "INV-2026-000042" in sheet.subtitle and len(sheet.lines) == 1
    assert sheet.total[1] == sheet.lines[0][1] and "5" in sheet.total[1]
    [page] = _pages(render_pdf(sheet))
    # PDFium reads an isolated number back in its own order on an Arabic page (the order on
    # the page is checked by the isolation test above): look for its parts there.
    parts = ("CN-2026-000007", "INV-2026-000042") if locale != "ar" else ("000007", "000042")
    assert all(_has(page, part) for part in parts)
    assert "in_internal_7f3a" not in _text(page)
    _ink_columns(page, shots, f"credit-note-{locale}", 0.0, 1.0)


def _refunded_note(status: RefundStatus) -> tuple[CreditNote, Invoice]:
    """INV-2026-000042's credit note of a 500 refund, which the provider reported `status`."""
    invoice = _invoice()
    invoice.number = "INV-2026-000042"
    invoice.refunds["re_1"] = RefundRecord(500, status, MARCH)
    note = CreditNote(
        "cn_in_internal_7f3a_1",
        "in_internal_7f3a",
        "cus_1",
        500,
        "USD",
        CreditReason.REFUND,
        datetime(2026, 3, 10, tzinfo=UTC),
        "CN-2026-000007",
        "INV-2026-000042",
        refund_id="rf_in_internal_7f3a_1",
        provider_refund_id="re_1",
    )
    return note, invoice


def test_a_credit_note_whose_refund_failed_says_the_money_did_not_go_back() -> None:
    note, invoice = _refunded_note(RefundStatus.FAILED)
    sheet = credit_note_sheet(note, invoice, _customer("en", "Layla"), SELLER)
    said = "Refund failed: the amount was not returned to your card or account."
    assert sheet.notes == (said,)
    assert ("Refund", "Failed") in sheet.facts
    [page] = _pages(render_pdf(sheet))
    assert _has(page, said) and _has(page, "Refund: Failed") and _has(page, "-$5.00")
    assert "in_internal_7f3a" not in _text(page) and "re_1" not in _text(page)


def test_a_credit_note_whose_refund_succeeded_says_nothing_of_a_failure() -> None:
    note, invoice = _refunded_note(RefundStatus.SUCCEEDED)
    sheet = credit_note_sheet(note, invoice, _customer("en", "Layla"), SELLER)
    assert sheet.notes == () and [label for label, _ in sheet.facts] == ["Issued", "Reason"]
    assert not _has(_pages(render_pdf(sheet))[0], "failed")


def test_a_credit_note_whose_refund_was_canceled_says_canceled() -> None:
    note, invoice = _refunded_note(RefundStatus.CANCELED)
    sheet = credit_note_sheet(note, invoice, _customer("en", "Layla"), SELLER)
    assert sheet.notes == ("Refund canceled: the amount was not returned to your card or account.",)
    assert _has(_pages(render_pdf(sheet))[0], "Refund canceled")


def test_an_arabic_credit_note_whose_refund_failed_says_so_and_not_refunded() -> None:
    note, invoice = _refunded_note(RefundStatus.FAILED)
    succeeded, paid_back = _refunded_note(RefundStatus.SUCCEEDED)
    sheet = credit_note_sheet(note, invoice, _customer("ar", "ليلى"), SELLER)
    assert sheet.notes == ("فشل الاسترداد: لم يُرَدّ المبلغ إلى بطاقتك أو حسابك.",)
    # The usual Arabic line says the amount was returned ("مُعاد"): not on this note.
    [(line, _)] = sheet.lines
    assert "مُعاد" not in line and line.startswith("قيد دائن")
    [page] = _pages(render_pdf(sheet))
    # Words without a lam-alef (PDFium splits that ligature when reading back).
    for words in ("فشل", "بطاقتك", "حسابك", "قيد دائن"):
        assert _has(page, words), words
    usual_sheet = credit_note_sheet(succeeded, paid_back, _customer("ar", "ليلى"), SELLER)
    [usual] = _pages(render_pdf(usual_sheet))
    assert not _has(usual, "فشل") and not _has(usual, "بطاقتك")


def test_a_russian_credit_note_whose_refund_failed_says_so() -> None:
    note, invoice = _refunded_note(RefundStatus.FAILED)
    sheet = credit_note_sheet(note, invoice, _customer("ru", "Иван"), SELLER)
    [(line, _)] = sheet.lines
    assert not line.startswith("Возврат")  # the usual line: "Возврат по счёту ..."
    [page] = _pages(render_pdf(sheet))
    assert _has(page, "Возврат не выполнен: деньги не вернулись на вашу карту или счёт.")
