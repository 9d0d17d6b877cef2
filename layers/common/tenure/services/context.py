"""What every use case needs: the ports, wired by the composition root."""

from dataclasses import dataclass, field

from tenure.domain.dunning import DunningPolicy
from tenure.payments.gateway import PaymentGateway
from tenure.ports import Clock, Repository


@dataclass(slots=True)
class Services:
    repo: Repository
    clock: Clock
    gateway: PaymentGateway | None = None  # None: invoices stay open, nothing is charged
    policy: DunningPolicy = field(default_factory=DunningPolicy)
