"""The one list of currencies Tenure charges in: every entry point asks `charged_currency`,
which takes Stripe's presentment currencies and refuses, saying why, the ISO codes no provider
charges (four-decimal units of account, fund codes, metals, testing codes)."""

import pytest

from tenure.domain.money import (
    CHARGED_CURRENCIES,
    CURRENCY_EXPONENTS,
    Money,
    UnchargedCurrencyError,
    UnknownCurrencyError,
    charged_currency,
    exponent,
)

FOUR_DECIMALS = ["CLF", "UYW"]
FUNDS = ["BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI"]
NO_MONEY = ["XDR", "XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XSU", "XUA", "XBA", "XBB", "XBC"]
NO_MONEY += ["XBD"]


@pytest.mark.parametrize("code", FOUR_DECIMALS + FUNDS)
def test_a_fund_code_is_refused_as_a_fund(code: str) -> None:
    with pytest.raises(UnchargedCurrencyError, match=f"^{code} \\(an ISO 4217 fund code\\)"):
        charged_currency(code.lower())


@pytest.mark.parametrize("code", NO_MONEY)
def test_a_code_for_no_money_is_refused_saying_so(code: str) -> None:
    with pytest.raises(UnchargedCurrencyError, match=f"^{code} \\(an ISO 4217 code for a metal"):
        charged_currency(code)


@pytest.mark.parametrize("code", ["IQD", "LYD", "IRR", "KPW", "HRK", "VEF", "ZWL"])
def test_a_currency_no_provider_takes_is_refused(code: str) -> None:
    with pytest.raises(UnchargedCurrencyError, match="not a currency Tenure charges in"):
        charged_currency(code)


def test_an_uncharged_currency_is_an_unknown_one_to_the_callers_that_catch_those() -> None:
    # Entry points that map UnknownCurrencyError to a field error keep doing so.
    with pytest.raises(UnknownCurrencyError):
        charged_currency("CLF")


@pytest.mark.parametrize("code", ["ABC", "", "US"])
def test_a_code_that_is_no_iso_code_is_still_unknown(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match="unknown currency") as refused:
        charged_currency(code)
    assert not isinstance(refused.value, UnchargedCurrencyError)


@pytest.mark.parametrize("code", sorted(CHARGED_CURRENCIES))
def test_every_charged_currency_is_known_with_at_most_three_decimals(code: str) -> None:
    assert charged_currency(code.lower()) == code
    assert exponent(code) in (0, 2, 3)


def test_the_three_decimal_currencies_charged_are_stripes_five() -> None:
    three = {c for c in CHARGED_CURRENCIES if CURRENCY_EXPONENTS[c] == 3}
    assert three == {"BHD", "JOD", "KWD", "OMR", "TND"}


def test_money_already_stored_in_an_uncharged_currency_stays_readable() -> None:
    # A record is shown as it is; only new plans, prices and coupons are refused.
    assert str(Money(12345, "CLF")) == "CLF 1.2345"
