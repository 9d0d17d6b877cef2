"""Coupons: create, read, list, and redeem one for a subscription (at subscribe or later)."""

from tenure.domain.discounts import Coupon, Discount
from tenure.domain.errors import AlreadyExistsError, NotFoundError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.plans import Plan
from tenure.ports import Commit, Redemption
from tenure.services.context import Services


def create_coupon(svc: Services, coupon: Coupon) -> Coupon:
    """A taken id is refused (AlreadyExistsError): by this read, and by the commit's
    must-not-exist condition when two creations race."""
    if svc.repo.get_coupon(coupon.id) is not None:
        raise AlreadyExistsError("coupon", coupon.id)
    check_new_coupon(svc, coupon)
    event = DomainEvent(
        EventType.COUPON_CREATED, coupon.id, None, svc.clock.now(), 0, {"duration": coupon.duration}
    )
    svc.commit_with_notices(Commit(coupons=[coupon], events=[event]))
    return coupon


def check_new_coupon(svc: Services, coupon: Coupon) -> None:
    """A coupon no one could redeem is refused (422 on the field): one for a plan that does
    not exist, or whose `redeem_by` is already past (Stripe refuses a past one too)."""
    now = svc.clock.now()
    if coupon.redeem_by is not None and coupon.redeem_by <= now:
        raise ValidationFailedError(
            "redeem_by", f"{coupon.redeem_by.isoformat()} is past; expected a later moment"
        )
    unknown = [plan_id for plan_id in coupon.plans if svc.repo.get_plan(plan_id) is None]
    if unknown:
        raise ValidationFailedError("plans", f"unknown plan {unknown[0]!r}; create it first")


def get_coupon(svc: Services, coupon_id: str) -> Coupon:
    coupon = svc.repo.get_coupon(coupon_id)
    if coupon is None:
        raise NotFoundError("coupon", coupon_id)
    return coupon


def list_coupons(svc: Services) -> list[Coupon]:
    return svc.repo.list_coupons()


def redeem(svc: Services, coupon_id: str, plan: Plan, currency: str) -> tuple[Discount, Redemption]:
    """The discount `coupon_id` gives a subscription on `plan` in `currency`, and the
    redemption its commit must count (which refuses the commit if the coupon was used up
    meanwhile). Refused before anything is written when the coupon does not fit."""
    coupon = get_coupon(svc, coupon_id)
    discount = coupon.redeem(plan, currency, svc.clock.now())
    return discount, Redemption(coupon.id, coupon.max_redemptions)
