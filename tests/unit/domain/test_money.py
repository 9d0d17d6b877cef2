"""Money is exact: minor units, one rounding rule, exact allocation and Stripe's amount rules."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.money import (
    CURRENCY_EXPONENTS,
    CurrencyMismatchError,
    InvalidAmountError,
    Money,
    ProviderAmountError,
    UnknownCurrencyError,
    exponent,
    from_stripe_amount,
    normalize_currency,
    round_half_up,
    stripe_payout_safe,
    to_stripe_amount,
)

ZERO_DECIMAL = ["JPY", "KRW", "ISK", "UGX", "CLP", "VND", "XAF", "XOF", "XPF", "BIF", "DJF"]
ZERO_DECIMAL += ["GNF", "KMF", "MGA", "PYG", "RWF", "VUV"]
THREE_DECIMAL = ["BHD", "JOD", "KWD", "OMR", "TND", "IQD", "LYD"]
TWO_DECIMAL = ["USD", "EUR", "GBP", "INR", "RUB", "AED", "SAR", "HUF", "TWD", "CAD", "AUD"]
# Currencies Stripe has accepted for charges (including codes ISO has since withdrawn).
# fmt: off
STRIPE_CURRENCIES = [
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "bzd", "cad", "cdf", "chf",
    "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur",
    "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "hrk", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
    "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mnt",
    "mop", "mro", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
    "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
    "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sll", "sos", "srd", "std", "svc", "szl",
    "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs",
    "vef", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
]
# fmt: on


# --- currencies -----------------------------------------------------------------------


@pytest.mark.parametrize("code", ZERO_DECIMAL)
def test_zero_decimal_currencies_have_no_minor_unit(code: str) -> None:
    assert exponent(code) == 0


@pytest.mark.parametrize("code", THREE_DECIMAL)
def test_three_decimal_currencies_count_thousandths(code: str) -> None:
    assert exponent(code) == 3


@pytest.mark.parametrize("code", TWO_DECIMAL)
def test_two_decimal_currencies_count_hundredths(code: str) -> None:
    assert exponent(code) == 2


@pytest.mark.parametrize("code", STRIPE_CURRENCIES)
def test_every_currency_stripe_charges_in_is_known(code: str) -> None:
    assert normalize_currency(code) == code.upper()


def test_every_exponent_in_the_table_is_zero_two_three_or_four() -> None:
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3, 4}
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_EXPONENTS)


def test_lower_case_codes_are_normalised_to_upper_case() -> None:
    assert normalize_currency("usd") == "USD"
    assert exponent("jpy") == 0


@pytest.mark.parametrize("code", ["XYZ", "US", "USDD", "", " usd", "dollar"])
def test_an_unknown_currency_code_is_rejected(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match="unknown currency"):
        normalize_currency(code)


def test_a_currency_that_is_not_a_string_is_rejected() -> None:
    with pytest.raises(UnknownCurrencyError, match="must be a string"):
        normalize_currency(840)  # type: ignore[arg-type]


def test_exponent_of_an_unknown_currency_is_an_error() -> None:
    with pytest.raises(UnknownCurrencyError):
        exponent("ABC")


# --- construction ---------------------------------------------------------------------


def test_money_stores_the_currency_upper_case() -> None:
    assert Money(1000, "usd") == Money(1000, "USD")
    assert Money(1000, "usd").currency == "USD"


def test_negative_amounts_are_allowed_as_credits() -> None:
    assert Money(-500, "EUR").amount_minor == -500


def test_a_bool_amount_is_rejected() -> None:
    with pytest.raises(InvalidAmountError, match="bool"):
        Money(True, "USD")


@pytest.mark.parametrize("amount", [10.0, Decimal("10"), "10", None, Fraction(1, 2)])
def test_an_amount_that_is_not_an_int_is_rejected(amount: object) -> None:
    with pytest.raises(InvalidAmountError):
        Money(amount, "USD")  # type: ignore[arg-type]


def test_money_in_an_unknown_currency_is_rejected() -> None:
    with pytest.raises(UnknownCurrencyError):
        Money(100, "ZZZ")


def test_money_is_immutable_and_hashable() -> None:
    price = Money(100, "USD")
    with pytest.raises(AttributeError):
        price.amount_minor = 5  # type: ignore[misc]
    assert len({Money(100, "USD"), Money(100, "usd"), Money(100, "EUR")}) == 2


def test_zero_is_zero_in_the_requested_currency() -> None:
    assert Money.zero("jpy") == Money(0, "JPY")
    assert Money.zero("JPY").is_zero()


# --- arithmetic -----------------------------------------------------------------------


def test_amounts_in_one_currency_add_and_subtract() -> None:
    assert Money(1050, "USD") + Money(250, "USD") == Money(1300, "USD")
    assert Money(1050, "USD") - Money(2000, "USD") == Money(-950, "USD")


def test_negation_and_absolute_value_keep_the_currency() -> None:
    assert -Money(300, "GBP") == Money(-300, "GBP")
    assert abs(Money(-300, "GBP")) == Money(300, "GBP")


def test_adding_different_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatchError, match="USD with EUR"):
        Money(1, "USD") + Money(1, "EUR")


def test_subtracting_different_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") - Money(1, "JPY")


def test_adding_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(1, "USD") + 1
    with pytest.raises(TypeError):
        Money(1, "USD") - 1


def test_amounts_in_one_currency_are_ordered() -> None:
    small, large = Money(100, "USD"), Money(200, "USD")
    assert small < large
    assert small <= large
    assert small <= Money(100, "USD")
    assert large > small
    assert large >= small
    assert large >= Money(200, "USD")
    assert max([small, large]) == large


@pytest.mark.parametrize(
    "compare",
    [
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_ordering_different_currencies_is_an_error(compare: object) -> None:
    with pytest.raises(CurrencyMismatchError):
        compare(Money(1, "USD"), Money(2, "EUR"))  # type: ignore[operator]


def test_ordering_against_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        assert Money(1, "USD") < 2
    with pytest.raises(TypeError):
        assert Money(1, "USD") <= 2
    with pytest.raises(TypeError):
        assert Money(1, "USD") > 2
    with pytest.raises(TypeError):
        assert Money(1, "USD") >= 2


def test_equal_amounts_in_different_currencies_are_simply_not_equal() -> None:
    assert Money(100, "USD") != Money(100, "EUR")


def test_sign_predicates_describe_the_amount() -> None:
    assert Money(0, "USD").is_zero()
    assert not Money(0, "USD").is_positive()
    assert not Money(0, "USD").is_negative()
    assert Money(-1, "USD").is_negative()
    assert Money(1, "USD").is_positive()


def test_sum_of_lines_is_their_exact_total() -> None:
    lines = [Money(999, "USD"), Money(1, "USD"), Money(-250, "USD")]
    assert Money.sum(lines, "USD") == Money(750, "USD")


def test_sum_of_no_lines_is_zero_in_the_given_currency() -> None:
    assert Money.sum([], "kwd") == Money(0, "KWD")


def test_sum_of_mixed_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money.sum([Money(1, "USD"), Money(1, "EUR")], "USD")


def test_sum_in_a_currency_other_than_the_lines_is_an_error() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money.sum([Money(1, "EUR")], "USD")


# --- the one rounding rule --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("3.5"), 4),
        (Decimal("-3.5"), -4),
        (Decimal("2.4999"), 2),
        (Decimal("-2.4999"), -2),
        (Decimal("2.5001"), 3),
        (Decimal("0.5"), 1),
        (Decimal("-0.5"), -1),
        (Decimal("-0.4"), 0),
        (Decimal("0"), 0),
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(5, 3), 2),
        (Fraction(-5, 3), -2),
        (Fraction(4, 3), 1),
        (7, 7),
    ],
)
def test_rounding_is_half_up_away_from_zero_for_both_signs(
    value: Decimal | Fraction, expected: int
) -> None:
    assert round_half_up(value) == expected


def test_rounding_is_exact_beyond_decimal_context_precision() -> None:
    huge = Decimal("12345678901234567890123456789012345678.5")
    assert round_half_up(huge) == 12345678901234567890123456789012345679


@pytest.mark.parametrize("value", [2.5, True, "2.5", None])
def test_rounding_rejects_floats_bools_and_strings(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        round_half_up(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_rounding_rejects_non_finite_decimals(value: Decimal) -> None:
    with pytest.raises(InvalidAmountError, match="finite"):
        round_half_up(value)


# --- scaling --------------------------------------------------------------------------


def test_scaling_by_a_decimal_ratio_rounds_half_up() -> None:
    # 1999 * 0.5 = 999.5 -> 1000
    assert Money(1999, "USD").scale(Decimal("0.5")) == Money(1000, "USD")
    assert Money(-1999, "USD").scale(Decimal("0.5")) == Money(-1000, "USD")


def test_scaling_by_a_fraction_is_exact_before_rounding() -> None:
    # 1000 * 1/3 = 333.33 -> 333; 1000 * 2/3 = 666.67 -> 667
    assert Money(1000, "EUR").scale(Fraction(1, 3)) == Money(333, "EUR")
    assert Money(1000, "EUR").scale(Fraction(2, 3)) == Money(667, "EUR")


def test_scaling_by_an_int_multiplies() -> None:
    assert Money(250, "JPY").scale(3) == Money(750, "JPY")


def test_scaling_by_a_float_is_rejected() -> None:
    with pytest.raises(InvalidAmountError, match="ratio"):
        Money(100, "USD").scale(0.5)  # type: ignore[arg-type]


def test_scaling_by_a_bool_is_rejected() -> None:
    with pytest.raises(InvalidAmountError):
        Money(100, "USD").scale(True)


# --- allocation -----------------------------------------------------------------------


def test_allocation_gives_the_leftover_units_to_the_first_parts() -> None:
    assert [m.amount_minor for m in Money(100, "USD").allocate(3)] == [34, 33, 33]
    assert [m.amount_minor for m in Money(101, "USD").allocate(3)] == [34, 34, 33]


def test_allocation_of_a_negative_amount_mirrors_the_positive_one() -> None:
    assert [m.amount_minor for m in Money(-100, "USD").allocate(3)] == [-34, -33, -33]


def test_allocation_into_one_part_is_the_whole_amount() -> None:
    assert Money(1234, "KWD").allocate(1) == [Money(1234, "KWD")]


def test_allocation_of_less_than_one_unit_per_part_gives_zeros_at_the_end() -> None:
    assert [m.amount_minor for m in Money(2, "JPY").allocate(4)] == [1, 1, 0, 0]


@pytest.mark.parametrize("parts", [0, -1, True, 2.0])
def test_allocation_needs_a_positive_whole_number_of_parts(parts: object) -> None:
    with pytest.raises(ValueError, match="parts"):
        Money(100, "USD").allocate(parts)  # type: ignore[arg-type]


def test_weighted_allocation_uses_largest_remainders() -> None:
    # 100 by 1:1:1:3 -> exact 16.67, 16.67, 16.67, 50 -> floors 16,16,16,50, 2 units left
    shares = Money(100, "USD").allocate_by([1, 1, 1, 3])
    assert [m.amount_minor for m in shares] == [17, 17, 16, 50]


def test_weighted_allocation_favours_the_largest_remainder_not_the_first_part() -> None:
    # 10 by 1:2 is 3.33 and 6.67: floors 3 and 6, and the spare unit goes to the 0.67.
    assert [m.amount_minor for m in Money(10, "USD").allocate_by([1, 2])] == [3, 7]


def test_weighted_allocation_gives_nothing_to_a_zero_weight() -> None:
    assert [m.amount_minor for m in Money(-7, "USD").allocate_by([0, 1, 1])] == [0, -4, -3]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1], [True, 1], [1.5, 1]])
def test_weighted_allocation_rejects_unusable_weights(weights: list[object]) -> None:
    with pytest.raises(ValueError, match="weights"):
        Money(100, "USD").allocate_by(weights)  # type: ignore[arg-type]


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    parts=st.integers(min_value=1, max_value=50),
)
def test_allocation_always_sums_exactly_and_parts_differ_by_at_most_one_unit(
    amount: int, parts: int
) -> None:
    shares = Money(amount, "USD").allocate(parts)
    assert len(shares) == parts
    assert Money.sum(shares, "USD") == Money(amount, "USD")
    values = [m.amount_minor for m in shares]
    assert max(values) - min(values) <= 1
    assert values == sorted(values, key=abs, reverse=True)


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=20).filter(any),
)
def test_weighted_allocation_always_sums_exactly_and_stays_within_a_unit_of_exact(
    amount: int, weights: list[int]
) -> None:
    shares = Money(amount, "EUR").allocate_by(weights)
    assert Money.sum(shares, "EUR") == Money(amount, "EUR")
    total = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share.amount_minor - Fraction(amount * weight, total)) < 1


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    ratio=st.fractions(min_value=-1000, max_value=1000, max_denominator=10**6),
)
def test_scaling_is_within_half_a_unit_of_the_exact_product(amount: int, ratio: Fraction) -> None:
    scaled = Money(amount, "USD").scale(ratio).amount_minor
    assert abs(scaled - amount * ratio) <= Fraction(1, 2)


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12),
    ratio=st.decimals(min_value=-1000, max_value=1000, places=6, allow_nan=False),
)
def test_scaling_by_decimals_is_symmetric_for_negatives(amount: int, ratio: Decimal) -> None:
    money = Money(amount, "USD")
    assert money.scale(ratio) == -((-money).scale(ratio))


# --- major units and formatting -------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "major"),
    [
        (Money(1050, "USD"), Decimal("10.50")),
        (Money(-1, "USD"), Decimal("-0.01")),
        (Money(500, "JPY"), Decimal("500")),
        (Money(1250, "KWD"), Decimal("1.250")),
        (Money(0, "BHD"), Decimal("0.000")),
        (Money(10**40 + 1, "USD"), Decimal("100000000000000000000000000000000000000.01")),
    ],
)
def test_to_decimal_gives_the_exact_major_amount(money: Money, major: Decimal) -> None:
    assert money.to_decimal() == major
    assert str(money.to_decimal()) == str(major)


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1000, "USD"), "USD 10.00"),
        (Money(500, "JPY"), "JPY 500"),
        (Money(1250, "KWD"), "KWD 1.250"),
        (Money(-5, "EUR"), "EUR -0.05"),
        (Money(0, "GBP"), "GBP 0.00"),
        (Money(5, "ISK"), "ISK 5"),
    ],
)
def test_str_shows_the_code_and_the_major_amount_with_all_decimals(money: Money, text: str) -> None:
    assert str(money) == text


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("10.00"), "USD", Money(1000, "USD")),
        ("10.005", "USD", Money(1001, "USD")),
        ("-10.005", "USD", Money(-1001, "USD")),
        ("10.0049", "USD", Money(1000, "USD")),
        (500, "JPY", Money(500, "JPY")),
        ("499.5", "JPY", Money(500, "JPY")),
        ("1.2505", "KWD", Money(1251, "KWD")),
        (" 7 ", "EUR", Money(700, "EUR")),
    ],
)
def test_from_major_rounds_half_up_to_the_minor_unit(
    value: Decimal | str | int, currency: str, expected: Money
) -> None:
    assert Money.from_major(value, currency) == expected


def test_from_major_rejects_floats() -> None:
    with pytest.raises(InvalidAmountError, match="float"):
        Money.from_major(10.5, "USD")  # type: ignore[arg-type]


def test_from_major_rejects_bools() -> None:
    with pytest.raises(InvalidAmountError):
        Money.from_major(True, "USD")


@pytest.mark.parametrize("text", ["ten", "", "1,000.00", "NaN", "Infinity"])
def test_from_major_rejects_text_that_is_not_a_finite_number(text: str) -> None:
    with pytest.raises(InvalidAmountError):
        Money.from_major(text, "USD")


def test_from_major_rejects_an_unknown_currency() -> None:
    with pytest.raises(UnknownCurrencyError):
        Money.from_major("1", "ABC")


@given(
    amount=st.integers(min_value=-(10**18), max_value=10**18),
    code=st.sampled_from(["USD", "JPY", "KWD", "CLF"]),
)
def test_major_units_round_trip_exactly(amount: int, code: str) -> None:
    money = Money(amount, code)
    assert Money.from_major(money.to_decimal(), code) == money
    assert Money.from_major(str(money).split()[1], code) == money


# --- Stripe amounts -------------------------------------------------------------------


def test_two_decimal_currencies_are_sent_to_stripe_in_cents() -> None:
    assert to_stripe_amount(Money(1000, "USD")) == 1000


@pytest.mark.parametrize("code", ["JPY", "KRW", "VND", "CLP", "XOF"])
def test_zero_decimal_currencies_are_sent_to_stripe_as_is(code: str) -> None:
    assert to_stripe_amount(Money(500, code)) == 500
    assert from_stripe_amount(500, code.lower()) == Money(500, code)


@pytest.mark.parametrize("code", ["BHD", "JOD", "KWD", "OMR", "TND"])
def test_three_decimal_amounts_ending_in_zero_are_sent_in_thousandths(code: str) -> None:
    assert to_stripe_amount(Money(5120, code)) == 5120
    assert from_stripe_amount(5120, code.lower()) == Money(5120, code)


def test_a_three_decimal_amount_not_ending_in_zero_names_the_nearest_valid_amounts() -> None:
    with pytest.raises(ProviderAmountError) as raised:
        to_stripe_amount(Money(1255, "KWD"))
    assert "KWD 1.255" in str(raised.value)
    assert "KWD 1.250" in str(raised.value)
    assert "KWD 1.260" in str(raised.value)


def test_a_negative_three_decimal_amount_names_the_neighbours_on_both_sides() -> None:
    with pytest.raises(ProviderAmountError, match=r"BHD -5\.130 and BHD -5\.120"):
        to_stripe_amount(Money(-5124, "BHD"))


@pytest.mark.parametrize("code", ["ISK", "UGX"])
def test_isk_and_ugx_are_sent_as_two_decimal_values_ending_in_00(code: str) -> None:
    assert to_stripe_amount(Money(5, code)) == 500
    assert from_stripe_amount(500, code.lower()) == Money(5, code)


@pytest.mark.parametrize("code", ["isk", "ugx"])
def test_isk_and_ugx_from_stripe_with_a_fraction_of_a_unit_are_rejected(code: str) -> None:
    with pytest.raises(ProviderAmountError, match="ending in 00"):
        from_stripe_amount(550, code)


@pytest.mark.parametrize("code", ["HUF", "TWD"])
def test_huf_and_twd_are_charged_with_two_decimals(code: str) -> None:
    assert to_stripe_amount(Money(1045, code)) == 1045
    assert from_stripe_amount(1045, code.lower()) == Money(1045, code)


@pytest.mark.parametrize("code", ["HUF", "TWD"])
def test_huf_and_twd_are_payout_safe_only_in_whole_units(code: str) -> None:
    assert stripe_payout_safe(Money(1000, code))
    assert not stripe_payout_safe(Money(1045, code))


def test_payout_safety_of_other_currencies_follows_whether_stripe_takes_the_amount() -> None:
    assert stripe_payout_safe(Money(1045, "USD"))
    assert stripe_payout_safe(Money(7, "JPY"))
    assert stripe_payout_safe(Money(7, "ISK"))
    assert stripe_payout_safe(Money(5120, "KWD"))
    assert not stripe_payout_safe(Money(5124, "KWD"))
    assert not stripe_payout_safe(Money(1, "CLF"))


def test_stripe_amounts_in_lower_case_currencies_are_accepted() -> None:
    assert from_stripe_amount(1000, "usd") == Money(1000, "USD")


def test_credits_keep_their_sign_through_stripe() -> None:
    assert to_stripe_amount(Money(-3, "ISK")) == -300
    assert from_stripe_amount(-300, "isk") == Money(-3, "ISK")


def test_a_three_decimal_amount_from_stripe_is_kept_exactly() -> None:
    assert from_stripe_amount(1255, "kwd") == Money(1255, "KWD")


def test_a_currency_stripe_cannot_take_is_a_provider_error() -> None:
    with pytest.raises(ProviderAmountError, match="CLF"):
        to_stripe_amount(Money(10000, "CLF"))
    with pytest.raises(ProviderAmountError, match="CLF"):
        from_stripe_amount(10000, "clf")


def test_a_stripe_amount_in_an_unknown_currency_is_rejected() -> None:
    with pytest.raises(UnknownCurrencyError):
        from_stripe_amount(100, "xyz")


@pytest.mark.parametrize("amount", [10.0, "1000", True, None])
def test_a_stripe_amount_that_is_not_an_int_is_rejected(amount: object) -> None:
    with pytest.raises(InvalidAmountError):
        from_stripe_amount(amount, "usd")  # type: ignore[arg-type]


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12),
    code=st.sampled_from(STRIPE_CURRENCIES),
)
def test_every_amount_stripe_accepts_round_trips_exactly(amount: int, code: str) -> None:
    money = Money(amount, code)
    try:
        sent = to_stripe_amount(money)
    except ProviderAmountError:
        assert exponent(code) == 3 and amount % 10 != 0
        return
    assert isinstance(sent, int)
    assert from_stripe_amount(sent, code) == money
