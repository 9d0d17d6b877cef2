"""A receipt notice's copy of its invoice (notices.invoice_copy) shares nothing the invoice's
owner can change: the change that planned the notice goes on changing its invoice."""

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta
from enum import Enum

from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    OwedRefund,
    RefundRecord,
    RefundStatus,
)
from tenure.domain.notices import invoice_copy

T0 = datetime(2026, 3, 1, tzinfo=UTC)
# The fields invoice_copy gives containers of their own; every other field must hold a value
# that cannot change (the copy shares it with the invoice).
COPIED = {"lines", "refunds", "metadata"}


def _invoice() -> Invoice:
    return Invoice(
        id="inv_1",
        subscription_id="sub_1",
        customer_id="cus_1",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=31),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000), InvoiceLine(LineKind.TAX, "Tax", 100)],
        status=InvoiceStatus.PAID,
        created_at=T0,
        version=3,
        metadata={"provider_payment_id": "pi_1"},
        refunds={"re_1": RefundRecord(100, RefundStatus.SUCCEEDED, T0)},
    )


def test_the_copy_is_the_invoice_at_the_version_given_without_its_metadata() -> None:
    invoice = _invoice()
    copied = invoice_copy(invoice, 4)
    assert copied == dataclasses.replace(invoice, version=4, metadata={})
    assert invoice.version == 3 and invoice.metadata == {"provider_payment_id": "pi_1"}


def test_changing_the_invoice_after_changes_nothing_in_its_copy() -> None:
    invoice = _invoice()
    copied = invoice_copy(invoice, 4)
    kept = dataclasses.replace(copied, lines=list(copied.lines), refunds=dict(copied.refunds))
    invoice.lines.append(InvoiceLine(LineKind.CREDIT, "Credit", -50))
    invoice.refunds["re_2"] = RefundRecord(5, RefundStatus.PENDING, T0)
    invoice.metadata["more"] = "x"
    invoice.status = InvoiceStatus.VOID
    assert copied == kept


def _unchangeable(hint: object) -> bool:
    """Whether every value a field of this type can hold is one nobody can change."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_unchangeable(arg) for arg in typing.get_args(hint))
    if origin is tuple:
        return all(_unchangeable(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)
    if hint in (str, int, bool, float, datetime, type(None)):
        return True
    if isinstance(hint, type) and issubclass(hint, Enum):
        return True
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        frozen = hint.__dataclass_params__.frozen  # type: ignore[attr-defined]
        hints = typing.get_type_hints(hint)
        return frozen and all(_unchangeable(hints[f.name]) for f in dataclasses.fields(hint))
    return False


def test_every_field_the_copy_shares_holds_values_nobody_can_change() -> None:
    """A field added to Invoice that holds a list, dict or mutable object must be copied by
    invoice_copy (and named in COPIED) or the receipt's copy would change with the invoice."""
    hints = typing.get_type_hints(Invoice)
    shared = [f.name for f in dataclasses.fields(Invoice) if f.name not in COPIED]
    assert [name for name in shared if not _unchangeable(hints[name])] == []
    line_hints = typing.get_type_hints(Invoice)["lines"]
    assert typing.get_args(line_hints) == (InvoiceLine,) and _unchangeable(InvoiceLine)
    assert typing.get_args(hints["refunds"])[1] is RefundRecord and _unchangeable(RefundRecord)
    assert _unchangeable(OwedRefund)
