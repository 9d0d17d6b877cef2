"""Cancellation as the retention programs see it: save offers first, a refund after.

`request_cancel` is the cancel use case of the API and the customer page. Without `offers`
opted in (every client written before save offers existed), or with no offers configured,
it cancels exactly as `subscriptions.cancel` always did. With `offers` opted in and offers
configured, it changes nothing about the subscription: it records the exit reason and the
offers presented, and answers with them. `accept_offer` then applies one (no cancellation);
`request_cancel` again with `decline_offers` cancels, recording the offers as declined.

A refund (`full`, or what the refund policy gives back) goes with an immediate cancel only,
for each paid invoice whose period the cancellation cuts short. It is written as owed on the
invoice in the cancellation's own commit, then made at once; one the provider does not
answer (or a crash) stays owed and due, and the renewals schedule makes it later under the
same key (`refunds.make_owed_refund`), so it is made exactly once. The cancellation stands
either way (it was committed): the outcome lists the refunds made during the request.
"""

import logging
from dataclasses import dataclass, field
from typing import Literal

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals
from tenure.domain.errors import (
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.offers import AttemptStatus, SaveAttempt, SaveOffer, check_reason_text
from tenure.domain.programs import OfferKind, RefundPolicy
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.unused_credit import not_netted, withheld
from tenure.payments.gateway import GatewayError
from tenure.ports import Commit, Marker
from tenure.services import coupons, refunds, subscriptions, unused_credit
from tenure.services.catalog import get_plan, subscription_plan
from tenure.services.context import Services
from tenure.services.programs import read_current_programs

logger = logging.getLogger(__name__)

RefundChoice = Literal["none", "full", "policy"]


@dataclass(slots=True)
class CancelOutcome:
    subscription: Subscription
    offers: tuple[SaveOffer, ...] = ()  # presented: nothing was canceled
    refunds: list[Refund] = field(default_factory=list)


def request_cancel(
    svc: Services,
    subscription_id: str,
    *,
    at_period_end: bool = False,
    reason: str | None = None,
    reason_text: str | None = None,
    refund: RefundChoice = "none",
    offers: bool = False,
    decline_offers: bool = False,
    claim: Marker | None = None,
) -> CancelOutcome:
    if refund != "none" and at_period_end:
        raise ValidationFailedError(
            "refund", "a refund goes with an immediate cancel (at_period_end false)"
        )
    reason_text = check_reason_text(reason_text)
    sub = subscriptions.get_subscription(svc, subscription_id)
    now = svc.clock.now()
    available = _fitting(configured_offers(svc), sub) if offers and not decline_offers else ()
    if available:
        sub.check_can_cancel(at_period_end)  # offers are for a cancellation that could happen
        attempt = SaveAttempt.present(
            svc.repo.get_save_attempt(sub.id),
            sub.id,
            sub.customer_id,
            sub.currency,
            available,
            reason,
            reason_text,
            now,
        )
        # A claim (a page link's) goes with the cancellation, not with offers presented.
        svc.commit_with_notices(Commit(save_attempts=[attempt], events=attempt.pull_events()))
        return CancelOutcome(sub, offers=available)
    held = svc.repo.get_save_attempt(sub.id)
    pending = held if held is not None and held.status is AttemptStatus.PRESENTED else None
    along = Commit(markers=[claim] if claim is not None else [])
    if pending is not None:
        pending.decline(now)
        along.save_attempts.append(pending)
        along.events.extend(pending.pull_events())
    cut_short = _invoices_cut_short(svc, sub) if refund != "none" and not at_period_end else []
    if pending is not None and reason_text is None:
        reason_text = pending.reason_text  # said when the offers were presented
    stopped_at = sub.paused_at  # a pause cut the period short when it began
    used = {i.id: unused_credit.used_credit(svc, i, ending=True) for i in cut_short}
    sub.cancel(
        subscription_plan(svc, sub), now, at_period_end, reason, pending is not None, reason_text
    )
    policy = configured_refund_policy(svc) if cut_short else None
    owing = [
        i
        for i in cut_short
        if refunds.owe_refund_for_cancel(i, refund, policy, reason, now, used[i.id], stopped_at)
    ]
    along.invoices.extend(owing)
    outcome = subscriptions.save_with(svc, sub, None, along)
    made = [r for i in owing if (r := _refund(svc, i)) is not None]
    return CancelOutcome(outcome.subscription, refunds=made)


def accept_offer(svc: Services, subscription_id: str, offer_id: str) -> subscriptions.Outcome:
    """Apply a presented offer instead of the cancellation. Refused with nothing changed: an
    offer not presented to this subscription (404), one decided already, accepted twice or
    after the cancellation went ahead (409), an offer that no longer fits (a coupon used up:
    422)."""
    sub = subscriptions.get_subscription(svc, subscription_id)
    attempt = svc.repo.get_save_attempt(sub.id)
    if attempt is None:
        raise NotFoundError("offer", offer_id)
    if sub.ended:
        raise IllegalTransitionError("accept an offer for", str(sub.status))
    now = svc.clock.now()
    taken = attempt.accept(offer_id, now)
    plan = subscription_plan(svc, sub)
    along = Commit(save_attempts=[attempt], events=attempt.pull_events())
    invoice, redemptions = None, []
    if taken.kind is OfferKind.PAUSE:
        months = Interval(IntervalUnit.MONTH, taken.months or 1)
        until = add_intervals(now, months, 1)
        along.invoices.extend(subscriptions.pause_crediting(svc, sub, plan, now, until))
    elif taken.kind is OfferKind.COUPON:
        sub.check_can_take_discount()
        discount, redemption = coupons.redeem(svc, taken.coupon or "", plan, sub.currency)
        sub.apply_discount(discount, now)
        redemptions.append(redemption)
    else:
        period = unused_credit.period_invoices(svc, sub)
        new = get_plan(svc, taken.plan or "").for_new_subscribers(now)
        kept_back = withheld(period, sub.unused_value(plan, now))
        proration = sub.change_plan(plan, new, now, not_netted(period))
        if proration is not None:
            invoice = subscriptions.proration_invoice(sub, new, proration, now)
        along.invoices.extend(subscriptions.credited_against(sub, period, proration, kept_back))
    return subscriptions.save_with(svc, sub, invoice, along, redemptions)


def configured_offers(svc: Services) -> tuple[SaveOffer, ...]:
    """The save offers the business configured (`programs.save_offers`), copied as they are
    presented; none: the program is off. Read as stored now, past the copy a container keeps
    for renewals: with that copy, a customer asking for the offers in the minute after they
    were configured was canceled at once instead."""
    return tuple(
        SaveOffer(o.id, OfferKind(o.kind), o.months, o.coupon, o.plan)
        for o in read_current_programs(svc).programs.save_offers or []
    )


def _fitting(offers: tuple[SaveOffer, ...], sub: Subscription) -> tuple[SaveOffer, ...]:
    """The offers this subscription could take now: a pause while active, a coupon while
    none is still to run, another plan than its own."""

    def fits(offer: SaveOffer) -> bool:
        if offer.kind is OfferKind.PAUSE:
            return sub.status is SubscriptionStatus.ACTIVE
        if offer.kind is OfferKind.COUPON:
            return sub.discount is None
        return offer.plan != sub.plan_id

    return tuple(o for o in offers if fits(o))


def configured_refund_policy(svc: Services) -> RefundPolicy | None:
    return refunds.configured_policy(svc)


def _invoices_cut_short(svc: Services, sub: Subscription) -> list[Invoice]:
    """The paid invoices whose period is still running: what an immediate cancel cuts short.
    A paused subscription's are those of the period its pause cut short, even when that
    period would have ended since: their unused time is the pause's credit."""
    if sub.status is SubscriptionStatus.CANCELED:
        return []
    now = svc.clock.now()
    paused = sub.status is SubscriptionStatus.PAUSED
    if paused:
        invoices = unused_credit.period_invoices(svc, sub)
    else:
        invoices = svc.repo.list_invoices(sub.id, since=sub.current_period_start)
    return [
        i
        for i in invoices
        if i.status is InvoiceStatus.PAID
        and i.period_start <= now
        and (paused or now < i.period_end)
        and i.total > 0
    ]


def _refund(svc: Services, invoice: Invoice) -> Refund | None:
    try:
        made = refunds.make_owed_refund(svc, invoice.id)
        return made if isinstance(made, Refund) else None
    except (DomainError, GatewayError) as exc:
        # The cancellation is committed, and the refund with it as owed: the schedule
        # makes it (a commit that lost a race, a provider error it does not retry).
        logger.warning(
            "refund at cancel left to the schedule",
            extra={"invoice": invoice.id, "error": type(exc).__name__},
        )
        return None
