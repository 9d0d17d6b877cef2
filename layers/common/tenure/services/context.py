"""What every use case needs: the ports, wired by the composition root."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionsPolicy
from tenure.domain.customers import Payer
from tenure.domain.dunning import DunningPolicy
from tenure.domain.errors import ValidationFailedError
from tenure.domain.mandates import MandatePolicy
from tenure.domain.prices import DEFAULT_MIN_NOTICE_DAYS
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.payments.gateway import PaymentGateway
from tenure.ports import Clock, Commit, Repository
from tenure.services.points_planning import plan_points

# The automated actor (`system:renewals`, …) on whose behalf this thread now works
# (Services.acting_as). A context variable rather than a field: `tenure serve` answers
# requests on several threads through one Services.
_ACTING: ContextVar[str | None] = ContextVar("tenure_acting", default=None)
# What that actor acts through (a portal link: tenure.domain.audit.link_name), if named.
_VIA: ContextVar[str | None] = ContextVar("tenure_via", default=None)
# The customers whose records the commits of this thread have touched since
# Services.noting_customers began (None: nobody is noting): what an API request was about.
_ABOUT: ContextVar[set[str] | None] = ContextVar("tenure_about", default=None)


class UnknownProviderError(ValidationFailedError):
    """A customer (or a request) names a payment provider this deployment cannot reach."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(
            "provider",
            f"payment provider {name!r} is not configured here; configured: "
            + (", ".join(known) or "none"),
        )
        self.provider = name


@dataclass(slots=True)
class Services:
    repo: Repository
    clock: Clock
    gateway: PaymentGateway | None = None  # None: invoices stay open, nothing is charged
    # The other providers this deployment can charge through, by name (the default one,
    # `gateway`, is reached by its name too): customers who chose one are charged there.
    gateways: dict[str, PaymentGateway] = field(default_factory=dict)
    policy: DunningPolicy = field(default_factory=DunningPolicy)
    collections: CollectionsPolicy = field(default_factory=CollectionsPolicy)
    mandates: MandatePolicy = field(default_factory=MandatePolicy)  # India's e-mandate rules
    # None: no emails are planned (tests of other things may say so; the product never does)
    reminders: ReminderPolicy | None = field(default_factory=ReminderPolicy)
    # The shortest notice a price change may give subscribers (tenure.domain.prices).
    min_price_notice_days: int = DEFAULT_MIN_NOTICE_DAYS
    # Commits made through these services so far. A caller compares it before and after a
    # use case to know whether anything was written (an API request that fails having
    # written nothing may be retried as new; one that wrote must not be).
    commits: int = 0

    def gateway_for(self, provider: "str | Payer | Charge | None") -> PaymentGateway | None:
        """The gateway that charges a payer (or made a charge, or has this name): the one
        named when it is not the default, else the default `gateway`. Every service reaches
        a provider through here. A name this deployment has no gateway for is refused
        (UnknownProviderError) rather than sent to the default, which does not hold the
        customer's tokens."""
        name = provider if provider is None or isinstance(provider, str) else provider.provider
        if name is None or (self.gateway is not None and name == self.gateway.name):
            return self.gateway
        found = self.gateways.get(name)
        if found is None:
            raise UnknownProviderError(name, self.provider_names())
        return found

    def provider_of(self, provider: str | None) -> str | None:
        """The provider that charges a customer whose own is `provider`: it, else the default."""
        return provider or (self.gateway.name if self.gateway is not None else None)

    def provider_names(self) -> tuple[str, ...]:
        """The providers this deployment can charge through, the default first."""
        default = (self.gateway.name,) if self.gateway is not None else ()
        return default + tuple(n for n in self.gateways if n not in default)

    # The unit of work a use case ends with, in its two steps. A change that can make emails
    # owed (it carries domain events) goes through `commit_with_notices`; one that only
    # records what became of emails already owed (the reminders run) through `commit`.
    def commit_with_notices(self, change: Commit) -> None:
        """Plan the emails `change` makes owed and the loyalty points it moves, then commit
        them with it, atomically."""
        plan_points(self.repo, change)
        self.plan_notices(change)
        self.commit(change)

    def plan_notices(self, change: Commit) -> None:
        """Add to `change` the emails it makes owed (none while reminders are off). Planning
        reads only the change, never the store; a change planned before is not planned
        twice (a commit retried keeps its notices)."""
        if self.reminders is None:
            return
        known = {n.key for n in change.notices}
        planned = plan_notices(change, self.reminders, self.clock.now())
        change.notices.extend(n for n in planned if n.key not in known)

    @contextmanager
    def acting_as(self, actor: str, via: str | None = None) -> Iterator[None]:
        """Attribute the commits made inside to the automated `actor`, acting through `via`
        (a portal link's name, never its token); nested, the innermost wins, and the outer
        one is back on leaving."""
        token = _ACTING.set(actor)
        via_token = _VIA.set(via)
        try:
            yield
        finally:
            _VIA.reset(via_token)
            _ACTING.reset(token)

    @contextmanager
    def noting_customers(self) -> Iterator[set[str]]:
        """The customers whose records the commits made inside touch, filled in as they
        commit: an API request's idempotency record is filed under its customer, for the
        customer's erasure to find (docs/privacy.md)."""
        about: set[str] = set()
        token = _ABOUT.set(about)
        try:
            yield about
        finally:
            _ABOUT.reset(token)

    def commit(self, change: Commit) -> None:
        """Commit `change` as it stands, in one transaction. Made while acting for an
        automated actor, its events are stored with that actor as their source (no item
        more: the audit trail reads automated changes from the events, docs/operations.md)."""
        acting = _ACTING.get()
        if acting is not None and change.source is None:
            change.source = acting
            change.via = _VIA.get()
        self.repo.commit(change)
        self.commits += 1
        about = _ABOUT.get()
        if about is not None:
            about.update(_customers_of(change))


def _customers_of(change: Commit) -> set[str]:
    """The customers whose records `change` writes (each record names its customer)."""
    found = {c.id for c in change.customers}
    found.update(payer.customer_id for _, payer in change.payer_copies)
    groups: tuple[list[Any], ...] = (
        change.payment_methods,
        change.subscriptions,
        change.invoices,
        change.charges,
        change.refunds,
        change.credit_notes,
        change.notices,
        change.installment_plans,
        change.collection_cases,
        change.events,
        change.audit,
        change.email_moves,
    )
    for group in groups:
        found.update(c for item in group if (c := getattr(item, "customer_id", None)))
    return found
