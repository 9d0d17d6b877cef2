"""The dunning policy: which failures to retry, when, and what happens when retries run out.

Defaults and the reasoning behind them: docs/dunning.md.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from tenure.domain.charges import HARD_DECLINES, ChargeOutcome


class DeclineClass(StrEnum):
    SOFT = "soft"  # may succeed later on the same card: retry on the schedule
    HARD = "hard"  # will not succeed on this card: wait for a new payment method
    ACTION_REQUIRED = "action_required"  # the customer must confirm on-session (3-D Secure)


class FinalAction(StrEnum):
    UNPAID = "unpaid"  # keep the subscription and the debt; access is the business's call
    CANCELED = "canceled"  # end the subscription (involuntary churn)


def classify(
    outcome: ChargeOutcome, decline_code: str | None, hard: frozenset[str]
) -> DeclineClass:
    if outcome is ChargeOutcome.AUTHENTICATION_REQUIRED or decline_code in (
        "authentication_required",
    ):
        return DeclineClass.ACTION_REQUIRED
    return DeclineClass.HARD if decline_code in hard else DeclineClass.SOFT


def _default_schedule() -> tuple[timedelta, ...]:
    # Offsets from the first failure: attempts 2, 3 and 4. The odd hours move each retry to
    # another time of day, since many soft declines clear on a payday or overnight batch.
    return (
        timedelta(days=3, hours=5),
        timedelta(days=7, hours=2),
        timedelta(days=14, hours=7),
    )


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    retry_after: tuple[timedelta, ...] = field(default_factory=_default_schedule)
    final_action: FinalAction = FinalAction.UNPAID
    hard_declines: frozenset[str] = HARD_DECLINES
    # Stripe's window for a first payment before the subscription expires.
    incomplete_window: timedelta = timedelta(hours=23)
    # At a trial's end with no payment method: cancel, or invoice and start dunning.
    cancel_trial_without_payment_method: bool = False

    def __post_init__(self) -> None:
        if not self.retry_after:
            raise ValueError("a dunning schedule needs at least one retry")
        if any(b <= a for a, b in zip(self.retry_after, self.retry_after[1:], strict=False)):
            raise ValueError("retry offsets must grow")
        if self.retry_after[0] <= timedelta(0):
            raise ValueError("retry offsets must be positive")

    @classmethod
    def from_days(cls, days: list[float], final_action: str = "unpaid") -> "DunningPolicy":
        """A schedule given in days after the first failure; each retry also moves the hour."""
        offsets = tuple(timedelta(days=d, hours=(3 * (n + 1)) % 24) for n, d in enumerate(days))
        return cls(retry_after=offsets, final_action=FinalAction(final_action))

    def classify(self, outcome: ChargeOutcome, decline_code: str | None) -> DeclineClass:
        return classify(outcome, decline_code, self.hard_declines)

    def next_retry_at(self, first_failed_at: datetime, failures: int) -> datetime | None:
        """After `failures` failed attempts of a soft decline, when to try again (None: done)."""
        index = failures - 1
        if 0 <= index < len(self.retry_after):
            return first_failed_at + self.retry_after[index]
        return None

    def deadline(self, first_failed_at: datetime) -> datetime:
        """When dunning ends for an invoice that is waiting for the customer (hard declines)."""
        return first_failed_at + self.retry_after[-1]

    @property
    def attempts(self) -> int:
        return len(self.retry_after) + 1
