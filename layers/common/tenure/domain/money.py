"""Exact money: integer minor units in an ISO-4217 currency, and Stripe's amount rules.

Rounding rule (the only one in Tenure): whenever a computation produces a fraction of a
minor unit, it is rounded half-up to the nearest minor unit, where "up" means away from
zero. This is `decimal.ROUND_HALF_UP` and is symmetric for negatives: 2.5 -> 3, -2.5 -> -3,
2.4 -> 2, -2.4 -> -2. Every rounding goes through `round_half_up` so that totals computed
in different places agree to the unit. In a three-decimal currency (KWD, BHD, JOD, OMR, TND),
which Stripe charges only in tens of the minor unit, what Tenure computes is rounded the same
way to that step instead (`round_to_step` with `charge_step`: 75 -> 80, -25 -> -30).

Arithmetic is done on `int` and `fractions.Fraction`; `Decimal` is accepted only as an
input for ratios and major-unit amounts. Floats are rejected everywhere because a value
like 0.1 cannot be represented and would silently skew invoices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Self


class UnknownCurrencyError(ValueError):
    """The code is not an ISO-4217 currency this module knows."""


class UnchargedCurrencyError(UnknownCurrencyError):
    """An ISO-4217 code that is no currency Tenure charges in: a fund or unit of account
    (CLF, UYW, BOV, XDR), a metal (XAU), a testing code (XTS, XXX), or one no provider takes.
    Money in it stays representable (stored records); a new plan, price or coupon is refused."""


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined or compared."""


class InvalidAmountError(ValueError):
    """An amount or ratio is not an exact number (float, bool, NaN, wrong type)."""


class ProviderAmountError(ValueError):
    """An amount cannot be represented exactly in the payment provider's format."""


# ISO-4217 minor-unit exponents. Every currency Stripe can charge in is listed, plus the
# rest of the active ISO list so that records in any currency stay representable.
_EXPONENT_0 = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
        "VND", "VUV", "XAF", "XOF", "XPF",
        # ISO gives MGA two decimals, but its sub-unit is one fifth (not a power of ten) and
        # Stripe treats it as zero-decimal; whole ariary is the only amount we can charge.
        "MGA",
    }
)  # fmt: skip
_EXPONENT_3 = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_EXPONENT_4 = frozenset({"CLF", "UYW"})
# ISO-4217's fund codes (units of account beside a currency), known for their exponents.
_FUNDS = frozenset({"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"})
_EXPONENT_2 = frozenset(
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
        "BDT", "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
        "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
        "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
        "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR",
        "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
        "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV",
        "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP",
        "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
        "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
        "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU", "UZS", "VED", "VES",
        "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
        # Withdrawn from ISO-4217 but still accepted by Stripe, so stored data may use them.
        "HRK", "MRO", "SLL", "STD", "VEF", "ZWL",
    }
)  # fmt: skip

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2, 2),
    **dict.fromkeys(_EXPONENT_0, 0),
    **dict.fromkeys(_EXPONENT_3, 3),
    **dict.fromkeys(_EXPONENT_4, 4),
}

# The currencies Tenure charges in, the one list every entry point checks (`charged_currency`):
# Stripe's presentment currencies (docs.stripe.com/currencies), the widest of its providers
# (Razorpay takes INR only, the sandbox what Stripe takes). The rest of CURRENCY_EXPONENTS
# is known so that stored money stays readable: ISO fund codes (BOV, CHE, CHW, CLF, COU,
# MXV, USN, UYI, UYW), currencies no provider charges (IQD, LYD, IRR, KPW, ...) and codes
# withdrawn from ISO or from Stripe (HRK, MRO, SLL, VEF, ZWL).
CHARGED_CURRENCIES = frozenset(
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
        "BDT", "BGN", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD",
        "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
        "EGP", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ", "GYD",
        "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JPY", "KES", "KGS",
        "KHR", "KMF", "KRW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL",
        "MGA", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
        "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
        "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE",
        "SOS", "SRD", "STD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
        "UGX", "USD", "UYU", "UZS", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
        "YER", "ZAR", "ZMW",
        # Three decimals, charged in tens of the minor unit (STRIPE_THREE_DECIMAL_STEP).
        "BHD", "JOD", "KWD", "OMR", "TND",
    }
)  # fmt: skip
# ISO-4217 codes that are no money at all (metals, SDR, bond units, testing): unknown to
# CURRENCY_EXPONENTS, named here only so that a refusal says what they are.
_ISO_NOT_MONEY = frozenset(
    {
        "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA",
        "XXX",
    }
)  # fmt: skip

# Stripe "Special cases": zero-decimal in ISO but, for backwards compatibility, Stripe's API
# still takes them as two-decimal values whose decimal part must be 00 (5 ISK -> 500).
STRIPE_TWO_DECIMAL_WHOLE_UNITS = frozenset({"ISK", "UGX"})
# Stripe accepts these with two decimals for charges but pays them out as zero-decimal.
STRIPE_ZERO_DECIMAL_PAYOUTS = frozenset({"HUF", "TWD"})
# Stripe takes three-decimal currencies in thousandths, but its partners need the last
# digit to be 0 (KWD 5.124 must be sent as 5120 or 5130).
STRIPE_THREE_DECIMAL_STEP = 10


def charge_step(currency: str) -> int:
    """The step in minor units an amount split for charging keeps to: 10 for three-decimal
    currencies (what Stripe can send, STRIPE_THREE_DECIMAL_STEP), else 1."""
    places = CURRENCY_EXPONENTS.get(currency)  # stored codes are upper-case already
    if places is None:
        places = exponent(currency)
    return STRIPE_THREE_DECIMAL_STEP if places == 3 else 1


def round_to_step(value: Decimal | Fraction | int, step: int = 1) -> int:
    """Round a computed amount half-up (away from zero) to a whole number of `step`s, in
    minor units: `charge_step(currency)`, so that a three-decimal currency's tax, proration
    or percentage share ends in 0 (KWD 1.075 -> 1.080, 2.125 -> 2.130, 2.124 -> 2.120) and
    Stripe can charge it. With step 1 it is `round_half_up` exactly."""
    if step == 1:
        return round_half_up(value)
    return round_half_up(_exact(value, "value") / step) * step


def unchargeable(amount: int, currency: str) -> str | None:
    """Why `amount` minor units of `currency` can never be charged, naming the nearest
    amounts that can (KWD 1.001: Stripe takes three-decimal amounts only in tens); None
    when it can be."""
    return off_step(amount, normalize_currency(currency), charge_step(currency))


def off_step(amount: int, code: str, step: int) -> str | None:
    """Why `amount` minor units of `code`, charged in steps of `step`, cannot be charged,
    naming the nearest amounts that can; None when it is a whole number of steps."""
    if amount % step == 0:
        return None
    lower = amount - amount % step
    return (
        f"{amount} minor units of {code} cannot be charged: {code} is charged in steps of "
        f"{step} minor units (nearest: {lower} or {lower + step})"
    )


def normalize_currency(code: str) -> str:
    """Upper-case an ISO-4217 code and check that it is known."""
    if not isinstance(code, str):
        raise UnknownCurrencyError(f"currency must be a string, got {type(code).__name__}")
    normalized = code.upper()
    if normalized not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError(f"unknown currency {code!r}")
    return normalized


def charged_currency(code: str) -> str:
    """`code` upper-cased, if Tenure charges in it (CHARGED_CURRENCIES); else
    UnchargedCurrencyError for an ISO code no provider charges (CLF, XAU), or
    UnknownCurrencyError. Every place a new currency is accepted (a plan, a price, a coupon,
    an instalment plan, a scenario file, an import) asks this, so that nothing is created in
    a currency whose every charge the provider would refuse."""
    if isinstance(code, str) and code.upper() in _ISO_NOT_MONEY:
        raise UnchargedCurrencyError(_not_charged(code.upper(), _NOT_MONEY))
    normalized = normalize_currency(code)
    if normalized not in CHARGED_CURRENCIES:
        fund = normalized in _FUNDS
        raise UnchargedCurrencyError(_not_charged(normalized, " (an ISO 4217 fund code)" * fund))
    return normalized


_NOT_MONEY = " (an ISO 4217 code for a metal, a unit of account or testing)"


def _not_charged(code: str, what: str) -> str:
    return (
        f"{code}{what} is not a currency Tenure charges in: no payment provider it uses takes "
        f"{code}"
    )


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


def _exact(value: object, what: str) -> Fraction:
    # bool is an int subclass; True as an amount is always a bug.
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal):
        raise InvalidAmountError(
            f"{what} must be an int, Decimal or Fraction, got {type(value).__name__}"
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidAmountError(f"{what} must be finite, got {value}")
    return Fraction(value)


def round_half_up(value: Decimal | Fraction | int) -> int:
    """Round to the nearest integer, halves away from zero (the one rounding rule)."""
    exact = _exact(value, "value")
    # Integer arithmetic on the exact fraction avoids Decimal context precision limits.
    magnitude = (2 * abs(exact.numerator) + exact.denominator) // (2 * exact.denominator)
    return -magnitude if exact < 0 else magnitude


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: integer minor units (cents, yen, fils) of one currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise InvalidAmountError(
                f"amount_minor must be an int, got {type(self.amount_minor).__name__}"
            )
        # Frozen dataclass: the normalised code has to be written past the freeze.
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        """Total of `items`; the currency is explicit so that an empty total is well-defined."""
        total = cls.zero(currency)
        for item in items:
            total = total + item
        return total

    @classmethod
    def from_major(cls, value: Decimal | str | int, currency: str) -> Self:
        """Build from major units ("10.005" USD -> 1001 cents), rounded half-up."""
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except InvalidOperation:
                raise InvalidAmountError(f"not a decimal number: {value!r}") from None
        major = _exact(value, "value")
        return cls(round_half_up(major * 10 ** exponent(currency)), currency)

    # --- arithmetic -----------------------------------------------------------------

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor >= other.amount_minor

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def scale(self, ratio: Decimal | int | Fraction) -> Money:
        """Multiply by an exact ratio (proration, discounts, tax), rounded half-up."""
        return Money(round_half_up(self.amount_minor * _exact(ratio, "ratio")), self.currency)

    def allocate(self, parts: int) -> list[Money]:
        """Split into `parts` near-equal amounts summing exactly to self.

        Leftover units go to the first parts; negatives split like their absolute value,
        so -10 over 3 is [-4, -3, -3].
        """
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise ValueError(f"parts must be an int >= 1, got {parts!r}")
        return self.allocate_by([1] * parts)

    def allocate_by(self, weights: Sequence[int]) -> list[Money]:
        """Split in proportion to integer weights, exactly, by largest remainder.

        Each share is first rounded down (in magnitude); the units left over go one each to
        the shares with the largest remainders, earlier shares first on ties.
        """
        if not weights:
            raise ValueError("weights must not be empty")
        for weight in weights:
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                raise ValueError(f"weights must be ints >= 0, got {weight!r}")
        total_weight = sum(weights)
        if total_weight == 0:
            raise ValueError("weights must not all be zero")
        magnitude = abs(self.amount_minor)
        shares = [magnitude * weight // total_weight for weight in weights]
        remainders = [magnitude * weight % total_weight for weight in weights]
        leftover = magnitude - sum(shares)
        by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for index in by_remainder[:leftover]:
            shares[index] += 1
        sign = -1 if self.amount_minor < 0 else 1
        return [Money(sign * share, self.currency) for share in shares]

    # --- presentation ---------------------------------------------------------------

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact (USD 1050 -> Decimal("10.50"))."""
        # Built from digits rather than scaled, so no Decimal context can round it.
        sign, digits, _ = Decimal(self.amount_minor).as_tuple()
        return Decimal((sign, digits, -exponent(self.currency)))

    def __str__(self) -> str:
        return f"{self.currency} {self.to_decimal():f}"


def _format(amount_minor: int, currency: str) -> str:
    return str(Money(amount_minor, currency))


def to_stripe_amount(money: Money) -> int:
    """The integer Stripe's API expects for `money`, or ProviderAmountError if inexact."""
    exp = exponent(money.currency)
    amount = money.amount_minor
    if money.currency in STRIPE_TWO_DECIMAL_WHOLE_UNITS:
        return amount * 100
    if exp == 3:
        if amount % STRIPE_THREE_DECIMAL_STEP:
            lower = amount - amount % STRIPE_THREE_DECIMAL_STEP
            upper = lower + STRIPE_THREE_DECIMAL_STEP
            raise ProviderAmountError(
                f"Stripe needs the last of the three {money.currency} decimals to be 0; "
                f"{money} cannot be sent, nearest are {_format(lower, money.currency)} "
                f"and {_format(upper, money.currency)}"
            )
        return amount
    if exp > 3:
        raise ProviderAmountError(f"Stripe does not take {money.currency} amounts")
    return amount


def from_stripe_amount(amount: int, currency: str) -> Money:
    """The Money that a Stripe amount and currency code ("usd", "isk") stand for."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmountError(f"Stripe amount must be an int, got {type(amount).__name__}")
    code = normalize_currency(currency)
    if exponent(code) > 3:
        raise ProviderAmountError(f"Stripe does not take {code} amounts")
    if code in STRIPE_TWO_DECIMAL_WHOLE_UNITS:
        if amount % 100:
            raise ProviderAmountError(
                f"Stripe sends {code} as two-decimal values ending in 00; {amount} is a "
                f"fraction of a unit"
            )
        return Money(amount // 100, code)
    return Money(amount, code)


def stripe_payout_safe(money: Money) -> bool:
    """Whether Stripe can charge and later pay out `money` without losing a fraction.

    HUF and TWD are charged with two decimals but paid out as whole units, so only whole
    amounts are safe; other currencies are safe exactly when Stripe can take them at all.
    """
    if money.currency in STRIPE_ZERO_DECIMAL_PAYOUTS:
        return money.amount_minor % 100 == 0
    try:
        to_stripe_amount(money)
    except ProviderAmountError:
        return False
    return True
