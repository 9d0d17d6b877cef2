"""A subscription's statuses, and which of them each command may start from (ALLOWED).

Kept apart from the commands so the table reads whole, in one place: each command checks
it first (`_require`), and tests/unit/domain/test_subscription_states.py runs every
command from every status against it and against each command's documented outcome."""

from enum import StrEnum


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"  # created, first payment not made yet
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    PAUSED = "paused"
    CANCELED = "canceled"


# Which states each command may start from. Anything else raises IllegalTransitionError.
ALLOWED: dict[str, frozenset[SubscriptionStatus]] = {
    "renew": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "pause": frozenset({SubscriptionStatus.ACTIVE}),
    "resume": frozenset({SubscriptionStatus.PAUSED}),
    "cancel_now": frozenset(set(SubscriptionStatus) - {SubscriptionStatus.CANCELED}),
    "cancel_at_period_end": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "change_plan": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "change_items": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "activate": frozenset(
        {
            SubscriptionStatus.INCOMPLETE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.UNPAID,
            SubscriptionStatus.ACTIVE,
        }
    ),
    "mark_past_due": frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}),
    "reactivate_after_collections": frozenset({SubscriptionStatus.UNPAID}),
    "mark_unpaid": frozenset({SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}),
    "cancel_for_nonpayment": frozenset(
        {
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.UNPAID,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
        }
    ),
    "expire": frozenset({SubscriptionStatus.INCOMPLETE}),
    "extend_trial": frozenset({SubscriptionStatus.TRIALING}),
    "move_renewal": frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}),
    "adjust_credit": frozenset(set(SubscriptionStatus) - {SubscriptionStatus.CANCELED}),
    "redeem_points": frozenset(
        {
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        }
    ),
    "apply_discount": frozenset(
        {
            SubscriptionStatus.INCOMPLETE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        }
    ),
}

EARNING = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)  # the states that count towards MRR
