"""What every use case needs: the ports, wired by the composition root."""

from dataclasses import dataclass

from tenure.ports import Clock, Repository


@dataclass(slots=True)
class Services:
    repo: Repository
    clock: Clock
