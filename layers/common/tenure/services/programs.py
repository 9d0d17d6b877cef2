"""The retention programs setting: read it, and replace it against the version read."""

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.programs import Programs, ProgramsSetting
from tenure.ports import Commit
from tenure.services.context import Services


def get_programs(svc: Services) -> ProgramsSetting:
    return svc.repo.get_programs()


def read_current_programs(svc: Services) -> ProgramsSetting:
    """The programs as stored now, never a container's kept copy: what an editor reads
    before a PUT, so the version it sends is the latest one."""
    return svc.repo.get_current_programs()


def put_programs(svc: Services, programs: Programs, replaces_version: int) -> ProgramsSetting:
    """Store `programs` as the next version. `replaces_version` is the version the writer
    read (0 when none was ever stored): when another write came first, nothing is written
    (ConcurrencyError), so no change is silently lost. Offers must name coupons and plans
    that exist (ValidationFailedError naming the offer's field)."""
    _check_offers(svc, programs)
    now = svc.clock.now()
    setting = ProgramsSetting(programs, replaces_version, now)
    event = DomainEvent(
        EventType.PROGRAMS_UPDATED,
        "programs",
        None,
        now,
        replaces_version + 1,  # its seq: two writes in one moment are two events
        {"version": replaces_version + 1, "programs": sorted(_sections(programs))},
    )
    svc.commit_with_notices(Commit(programs=[setting], events=[event]))
    return ProgramsSetting(programs, replaces_version + 1, now)


def _sections(programs: Programs) -> set[str]:
    """The programs a document turns on."""
    on = programs.model_dump(exclude_none=True, exclude={"combine_discounts"})
    return {name for name, section in on.items() if section}


def _check_offers(svc: Services, programs: Programs) -> None:
    for n, offer in enumerate(programs.save_offers or []):
        if offer.coupon is not None and svc.repo.get_coupon(offer.coupon) is None:
            raise ValidationFailedError(
                f"save_offers.{n}.coupon", f"unknown coupon {offer.coupon!r}"
            )
        if offer.plan is not None and svc.repo.get_plan(offer.plan) is None:
            raise ValidationFailedError(f"save_offers.{n}.plan", f"unknown plan {offer.plan!r}")
