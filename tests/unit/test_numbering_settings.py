"""How a container numbers documents, from settings: refused at cold start when unusable."""

import pytest

from tenure import bootstrap
from tenure.domain.numbering import Numbering
from tenure.settings import Settings, SettingsError


def test_the_defaults_number_inv_and_cn_in_one_series() -> None:
    assert bootstrap.numbering(Settings()) == Numbering("INV", "CN", 1, 0)


def test_the_home_series_is_chosen_among_the_series_at_cold_start() -> None:
    asked: list[int] = []

    def choose(count: int) -> int:
        asked.append(count)
        return 5

    settings = Settings(TENURE_INVOICE_SERIES=8, TENURE_INVOICE_PREFIX="ACME")
    assert bootstrap.numbering(settings, choose) == Numbering("ACME", "CN", 8, 5)
    assert asked == [8]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"TENURE_INVOICE_PREFIX": "inv"}, "TENURE_INVOICE_PREFIX"),
        ({"TENURE_INVOICE_PREFIX": "IN-V"}, "TENURE_INVOICE_PREFIX"),
        ({"TENURE_CREDIT_NOTE_PREFIX": ""}, "TENURE_CREDIT_NOTE_PREFIX"),
        ({"TENURE_CREDIT_NOTE_PREFIX": "ABCDEFGHIJK"}, "TENURE_CREDIT_NOTE_PREFIX"),
        ({"TENURE_CREDIT_NOTE_PREFIX": "INV"}, "must differ"),
        ({"TENURE_INVOICE_SERIES": 27}, "TENURE_INVOICE_SERIES"),
    ],
)
def test_settings_that_cannot_number_are_refused_by_name(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        bootstrap.numbering(Settings(**overrides))


def test_no_series_at_all_is_refused_as_a_setting() -> None:
    with pytest.raises(SettingsError, match="TENURE_INVOICE_SERIES"):
        Settings(TENURE_INVOICE_SERIES=0)
