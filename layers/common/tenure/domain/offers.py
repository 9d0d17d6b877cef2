"""Save offers: what a business offers someone about to cancel, and what became of them.

A cancellation asked for with `offers` opted in, while the business has save offers
configured (`programs.save_offers`), changes nothing yet: it records the exit reason and
the offers presented (`SaveAttempt`), and answers with them. Then one call decides: accept
one offer (it is applied, and there is no cancellation) or cancel again declining them (the
cancellation goes ahead). The offers are copied into the attempt as presented, so a
programs change meanwhile never changes what was offered.

Exit reasons are the codes below plus free text; other reason text stays accepted as it
always was (older clients send their own), and counts under its own name.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.programs import OfferKind
from tenure.domain.timeutil import iso

EXIT_REASONS = ("too_expensive", "not_using", "missing_feature", "switched", "other")
# The customer's own words about leaving: one short paragraph, shown to people as it was
# typed. Control characters (newlines, escapes, NUL) could break the logs, CSV exports and
# pages that show it, so they are refused rather than stripped.
REASON_TEXT_MAX = 1000  # the API took up to 1000 before the text was kept: never narrower
_CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{_CONTROL_CHARACTERS}]")
# The same rule as a schema pattern, for the API and the scenario files to refuse at the door.
NO_CONTROL_CHARACTERS = f"^[^{_CONTROL_CHARACTERS}]*$"


def check_reason_text(text: str | None) -> str | None:
    """The exit reason's free text as kept: None when empty; refused (422 on `reason_text`)
    when longer than REASON_TEXT_MAX characters or holding control characters."""
    if text is None or text == "":
        return None
    if len(text) > REASON_TEXT_MAX:
        raise ValidationFailedError(
            "reason_text", f"at most {REASON_TEXT_MAX} characters (got {len(text)})"
        )
    if _CONTROL.search(text):
        raise ValidationFailedError(
            "reason_text", "control characters (line breaks, tabs, escapes) are not accepted"
        )
    return text


@dataclass(frozen=True, slots=True)
class SaveOffer:
    """An offer as presented (a copy of programs.SaveOffer, kept with the attempt)."""

    id: str
    kind: OfferKind
    months: int | None = None
    coupon: str | None = None
    plan: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OfferKind(self.kind))

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "kind": str(self.kind)}
        for name in ("months", "coupon", "plan"):
            if (value := getattr(self, name)) is not None:
                shown[name] = value
        return shown


class AttemptStatus(StrEnum):
    PRESENTED = "presented"  # offers shown; nothing decided yet
    ACCEPTED = "accepted"  # one offer taken: no cancellation
    DECLINED = "declined"  # all declined: the subscription was canceled


@dataclass(slots=True)
class SaveAttempt:
    """The latest cancellation a subscription's customer asked for with offers presented."""

    subscription_id: str
    customer_id: str
    currency: str
    offers: tuple[SaveOffer, ...]
    presented_at: datetime
    reason: str | None = None
    reason_text: str | None = None
    status: AttemptStatus = AttemptStatus.PRESENTED
    decided_at: datetime | None = None
    accepted: str | None = None  # the offer id taken
    presentations: int = 1  # how many times offers were shown for this subscription
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def present(
        cls,
        previous: "SaveAttempt | None",
        subscription_id: str,
        customer_id: str,
        currency: str,
        offers: tuple[SaveOffer, ...],
        reason: str | None,
        reason_text: str | None,
        now: datetime,
    ) -> "SaveAttempt":
        """Offers shown (again): a new attempt, written over the previous one's item."""
        shown = (previous.presentations + 1) if previous is not None else 1
        attempt = cls(
            subscription_id,
            customer_id,
            currency,
            offers,
            now,
            reason,
            reason_text,
            presentations=shown,
            version=previous.version if previous is not None else 0,
        )
        attempt._record(
            EventType.SAVE_OFFERS_PRESENTED,
            now,
            offers=[o.to_dict() for o in offers],
        )
        return attempt

    def offer(self, offer_id: str) -> SaveOffer:
        """The offer to accept; refused when it was not presented (404) or when the attempt
        is decided already (409)."""
        if self.status is not AttemptStatus.PRESENTED:
            raise IllegalTransitionError(
                "accept an offer of", str(self.status), entity="save attempt"
            )
        found = next((o for o in self.offers if o.id == offer_id), None)
        if found is None:
            raise NotFoundError("offer", offer_id)
        return found

    def accept(self, offer_id: str, now: datetime) -> SaveOffer:
        taken = self.offer(offer_id)
        self.status, self.decided_at, self.accepted = AttemptStatus.ACCEPTED, now, offer_id
        self._record(EventType.SAVE_OFFER_ACCEPTED, now, offer=taken.to_dict())
        return taken

    def decline(self, now: datetime) -> None:
        if self.status is not AttemptStatus.PRESENTED:
            return  # decided before (an old attempt): nothing was presented this time
        self.status, self.decided_at = AttemptStatus.DECLINED, now
        self._record(EventType.SAVE_OFFERS_DECLINED, now, offers=[o.id for o in self.offers])

    def pull_events(self) -> list[DomainEvent]:
        events, self.events = self.events, []
        return events

    def _record(self, kind: EventType, at: datetime, **data: Any) -> None:
        data |= {
            "reason": self.reason,
            "reason_text": self.reason_text,
            "currency": self.currency,
            "presented_at": iso(self.presented_at),
        }
        seq = self.presentations * 10 + len(self.events)
        self.events.append(DomainEvent(kind, self.subscription_id, self.customer_id, at, seq, data))

    def copy(self) -> "SaveAttempt":
        return replace(self, events=[])
