"""A buyer's details as invoices print them: optional, trimmed, bounded and plain text."""

import pytest

from tenure.domain.customers import BillingDetails, billing_details
from tenure.domain.errors import ValidationFailedError


def test_no_details_or_only_blank_ones_are_none() -> None:
    assert billing_details() is None
    assert billing_details(" ", "", None) is None


def test_details_are_trimmed_and_blank_ones_left_out() -> None:
    assert billing_details("  ACME GmbH ", "", "de 123/45-6.7") == BillingDetails(
        "ACME GmbH", None, "de 123/45-6.7"
    )


def test_an_address_keeps_its_line_breaks() -> None:
    found = billing_details(address="Hauptstraße 1\n10115 Berlin")
    assert found is not None and found.address == "Hauptstraße 1\n10115 Berlin"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "A\tB"}, "billing_name"),
        ({"address": "a\u2066b"}, "billing_address"),
        ({"tax_id": "-123"}, "tax_id"),
        ({"tax_id": "DE<1>"}, "tax_id"),
        ({"name": "n" * 201}, "billing_name"),
    ],
)
def test_details_that_an_invoice_cannot_print_are_refused(
    kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        billing_details(**kwargs)
    assert refused.value.field == field
