"""`tenure charges audit DIR`: checks a simulation's money against the billing rules.

Reads `DIR/state.json` and `DIR/events.jsonl` (what `tenure simulate` writes) and checks:

- **exactly once**: no invoice has more than one succeeded charge; every paid invoice with
  something to pay has exactly one; every succeeded charge belongs to a paid invoice;
  no idempotency key is used twice;
- **registrations refunded**: a new mandate's registration payment (a charge of no
  invoice, `purpose: mandate_registration`) is refunded, or owed a refund, never refused;
- **hard declines and authentication**: after a hard decline or an
  `authentication_required` on an invoice, its next attempt comes only after the
  customer's payment method changed (attached, made default, or updated by the card
  network), never blindly on the same card;
- **attempt numbers**: each invoice's attempts are numbered 1, 2, 3… and its `attempts`
  says how many were made.

It also counts what dunning did (soft declines, recoveries, recoveries after a card
change) and the provider requests the charges made (each charge's `calls`): per attempt,
and per successful charge (the requests made for the attempts that succeeded). Exit
status 0 when every rule holds, 1 with the findings listed otherwise, 2
when DIR does not hold a simulation's output.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from tenure.domain.charges import is_hard_decline

PAYMENT_METHOD_CHANGES = frozenset(
    {"PaymentMethodAttached", "DefaultPaymentMethodChanged", "PaymentMethodUpdated"}
)
# Invoices settled without a charge: nothing to pay, or paid from the subscription's credit.
NOTHING_TO_CHARGE = 0
REGISTRATION = "mandate_registration"  # a charge's `purpose` when it authorised a mandate


class AuditInputError(Exception):
    """DIR is not a simulation's output folder (or its files are not what it writes)."""


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str  # the invoice (or key) it is about
    detail: str


@dataclass
class ChargesAudit:
    invoices: int = 0
    paid_invoices: int = 0
    charges: int = 0
    succeeded: int = 0
    soft_declines: int = 0
    hard_declines: int = 0
    authentication_required: int = 0
    unknown_or_pending: int = 0
    recovered: int = 0  # invoices paid after at least one failed attempt
    recovered_after_card_change: int = 0
    provider_calls: int = 0  # over every attempt (state.json's `calls`, Tenure's own count)
    provider_calls_succeeded: int = 0  # over the attempts that succeeded
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def calls_per_attempt(self) -> float:
        return self.provider_calls / self.charges if self.charges else 0.0

    @property
    def calls_per_successful_charge(self) -> float:
        return self.provider_calls_succeeded / self.succeeded if self.succeeded else 0.0

    def to_dict(self) -> dict[str, Any]:
        counts = {k: v for k, v in self.__dict__.items() if k != "findings"}
        ratios = {
            "calls_per_attempt": round(self.calls_per_attempt, 4),
            "calls_per_successful_charge": round(self.calls_per_successful_charge, 4),
        }
        return counts | ratios | {"findings": [f.__dict__ for f in self.findings]}


def load(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    state_path, events_path = folder / "state.json", folder / "events.jsonl"
    for path in (state_path, events_path):
        if not path.is_file():
            raise AuditInputError(f"{path} not found: is {folder} a `tenure simulate` output?")
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AuditInputError(f"{state_path} is not JSON: {exc}") from exc
    if not isinstance(state, dict) or not all(
        isinstance(state.get(k), list) for k in ("invoices", "charges")
    ):
        raise AuditInputError(f"{state_path} has no `invoices` and `charges` lists")
    events = []
    for n, line in enumerate(events_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as exc:
            raise AuditInputError(f"{events_path} line {n} is not JSON: {exc}") from exc
    return state, events


def audit(state: dict[str, Any], events: list[dict[str, Any]]) -> ChargesAudit:
    result = ChargesAudit()
    invoices = {i["id"]: i for i in state["invoices"]}
    by_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # A mandate's registration payment is no invoice's charge: it is only given back.
    registrations = [c for c in state["charges"] if c.get("purpose") == REGISTRATION]
    charged = [c for c in state["charges"] if c.get("purpose") != REGISTRATION]
    for registration in registrations:
        if (registration.get("refund") or {}).get("status") not in ("owed", "refunded"):
            detail = "registration payment not refunded: the provider refused its refund"
            result.findings.append(Finding("registrations refunded", registration["id"], detail))
    for charge in charged:
        by_invoice[charge["invoice"]].append(charge)
    card_changes: dict[str, list[str]] = defaultdict(list)  # customer -> moments (ISO, UTC)
    for event in events:
        if event.get("type") in PAYMENT_METHOD_CHANGES and event.get("customer_id"):
            card_changes[event["customer_id"]].append(event["occurred_at"])
    result.invoices = len(invoices)
    result.charges = len(charged)
    _count(charged, result)
    _unique_keys(charged, result)
    for invoice_id in sorted(set(invoices) | set(by_invoice)):
        invoice = invoices.get(invoice_id)
        charges = sorted(by_invoice.get(invoice_id, []), key=_attempt_of)
        if invoice is None:
            result.findings.append(
                Finding("exactly once", invoice_id, f"{len(charges)} charge(s) of no invoice")
            )
            continue
        _exactly_once(invoice, charges, result)
        _attempt_numbers(invoice, charges, result)
        _no_blind_retry(invoice, charges, card_changes[invoice["customer"]], result)
        _recovery(invoice, charges, card_changes[invoice["customer"]], result)
    return result


def _attempt_of(charge: dict[str, Any]) -> int:
    return int(str(charge["idempotency_key"]).rsplit(":", 1)[-1])


def _unique_keys(charges: list[dict[str, Any]], result: ChargesAudit) -> None:
    seen: set[str] = set()
    for charge in charges:
        key = charge["idempotency_key"]
        if key in seen:
            result.findings.append(Finding("exactly once", key, "idempotency key used twice"))
        seen.add(key)


def _count(charges: list[dict[str, Any]], result: ChargesAudit) -> None:
    for charge in charges:
        outcome, code = charge["outcome"], charge.get("decline_code")
        calls = int(charge.get("calls") or 0)  # absent from older outputs: not counted
        result.provider_calls += calls
        if outcome == "succeeded":
            result.succeeded += 1
            result.provider_calls_succeeded += calls
        elif outcome == "declined" and is_hard_decline(code):
            result.hard_declines += 1
        elif outcome == "declined":
            result.soft_declines += 1
        elif outcome == "authentication_required":
            result.authentication_required += 1
        else:
            result.unknown_or_pending += 1


def _exactly_once(
    invoice: dict[str, Any], charges: list[dict[str, Any]], result: ChargesAudit
) -> None:
    paid = invoice.get("paid_at") is not None
    result.paid_invoices += paid
    succeeded = [c for c in charges if c["outcome"] == "succeeded"]
    if len(succeeded) > 1:
        keys = ", ".join(c["idempotency_key"] for c in succeeded)
        result.findings.append(
            Finding("exactly once", invoice["id"], f"{len(succeeded)} succeeded charges: {keys}")
        )
    if paid and invoice["total"] > NOTHING_TO_CHARGE and not succeeded:
        result.findings.append(
            Finding("exactly once", invoice["id"], "paid with no succeeded charge")
        )
    if succeeded and not paid:
        result.findings.append(
            Finding("exactly once", invoice["id"], f"charged but {invoice['status']}, not paid")
        )
    for charge in succeeded:
        if charge["amount"] != invoice["total"] or charge["currency"] != invoice["currency"]:
            result.findings.append(
                Finding(
                    "exactly once",
                    invoice["id"],
                    f"charged {charge['amount']} {charge['currency']} for a total of "
                    f"{invoice['total']} {invoice['currency']}",
                )
            )


def _attempt_numbers(
    invoice: dict[str, Any], charges: list[dict[str, Any]], result: ChargesAudit
) -> None:
    numbers = [_attempt_of(c) for c in charges]
    if numbers != list(range(1, len(numbers) + 1)):
        result.findings.append(
            Finding("attempt numbers", invoice["id"], f"attempts numbered {numbers}")
        )
    elif "attempts" in invoice and invoice["attempts"] < len(numbers):
        result.findings.append(
            Finding(
                "attempt numbers",
                invoice["id"],
                f"says {invoice['attempts']} attempts, {len(numbers)} charges recorded",
            )
        )


def _blocks_retry(charge: dict[str, Any]) -> bool:
    return charge["outcome"] == "authentication_required" or (
        charge["outcome"] == "declined" and is_hard_decline(charge.get("decline_code"))
    )


def _changed_between(changes: list[str], after: str, until: str) -> bool:
    # ISO-8601 UTC with Z in whole seconds: the strings order as the moments do.
    return any(after <= moment <= until for moment in changes)


def _no_blind_retry(
    invoice: dict[str, Any],
    charges: list[dict[str, Any]],
    changes: list[str],
    result: ChargesAudit,
) -> None:
    for before, after in pairwise(charges):
        if _blocks_retry(before) and not _changed_between(changes, before["at"], after["at"]):
            why = before.get("decline_code") or before["outcome"]
            result.findings.append(
                Finding(
                    "no blind retry",
                    invoice["id"],
                    f"attempt {_attempt_of(after)} at {after['at']} after {why} at "
                    f"{before['at']} with no new payment method between",
                )
            )


def _recovery(
    invoice: dict[str, Any],
    charges: list[dict[str, Any]],
    changes: list[str],
    result: ChargesAudit,
) -> None:
    failed = [c for c in charges if c["outcome"] in ("declined", "authentication_required")]
    paid_by = next((c for c in charges if c["outcome"] == "succeeded"), None)
    if not failed or paid_by is None or invoice.get("paid_at") is None:
        return
    result.recovered += 1
    if _changed_between(changes, failed[0]["at"], paid_by["at"]):
        result.recovered_after_card_change += 1
