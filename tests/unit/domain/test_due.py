"""Due work's vocabulary: one kind for every piece of work, and charge attempts named by a
parsed reference rather than by text split wherever it is read."""

import pytest

from tenure.domain.due import ChargeRef, DueKind, DueSubject, InvalidChargeRefError


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        (DueKind.RENEWAL, DueSubject.SUBSCRIPTION),
        (DueKind.PAUSE_END, DueSubject.SUBSCRIPTION),
        (DueKind.EXPIRE, DueSubject.SUBSCRIPTION),
        (DueKind.RETRY, DueSubject.INVOICE),
        (DueKind.DUNNING_END, DueSubject.INVOICE),
        (DueKind.CREDIT, DueSubject.INVOICE),
        (DueKind.RECONCILE, DueSubject.CHARGE),
        (DueKind.PROVIDER_ERASE, DueSubject.CUSTOMER),
        (DueKind.PRICE_NOTICES, DueSubject.PRICE_CHANGE),
        (DueKind.PROVIDER_PHONE, DueSubject.CUSTOMER),
        (DueKind.REGISTRATION_REFUND, DueSubject.CUSTOMER),
        (DueKind.PROVIDER_CUSTOMER, DueSubject.CUSTOMER),
    ],
)
def test_each_kind_of_due_work_says_what_its_id_names(kind: DueKind, subject: DueSubject) -> None:
    assert kind.subject is subject


def test_the_kinds_keep_the_values_deployed_tables_and_queues_hold() -> None:
    assert sorted(str(kind) for kind in DueKind) == [
        "credit",
        "dunning_end",
        "expire",
        "installment",
        "pause_end",
        "price_notices",
        "provider_customer",
        "provider_erase",
        "provider_phone",
        "reconcile",
        "refund",
        "registration_refund",
        "renewal",
        "retry",
    ]


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("in_sub-1_renewal_20260228T090000Z:3", ChargeRef("in_sub-1_renewal_20260228T090000Z", 3)),
        ("a:b:12", ChargeRef("a:b", 12)),  # the attempt follows the last colon
    ],
)
def test_a_charge_reference_reads_back_as_it_was_written(text: str, ref: ChargeRef) -> None:
    assert ChargeRef.parse(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    ["in-1", "in-1:", ":3", "in-1:three", "in-1:-1", "in-1: 3", "in-1:٣", ""],
)
def test_text_that_names_no_charge_attempt_is_refused_clearly(text: str) -> None:
    with pytest.raises(InvalidChargeRefError, match="not a charge reference"):
        ChargeRef.parse(text)
