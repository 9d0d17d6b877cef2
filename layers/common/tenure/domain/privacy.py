"""Erasure of a customer's personal data (GDPR Art. 17): the pseudonym that takes its place,
what is held back for tax law (Art. 17(3)(b)), and how free text is scrubbed from copies.

Pure rules only; tenure.services.privacy finds the items and writes them (docs/privacy.md).
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tenure.domain.customers import Contact, Customer
from tenure.domain.errors import IllegalTransitionError

# `.invalid` is reserved (RFC 2606): no mail can ever be delivered to a pseudonym, and the
# one address rule (customers.valid_address) refuses it too, as a single-label domain.
PSEUDONYM_DOMAIN = "invalid"
PSEUDONYM_PREFIX = "erased-"
ERASED_TEXT = "[erased]"
# Keys of event data and summaries that hold someone's words or contact details.
PERSONAL_KEYS = frozenset(
    {"reason_text", "email", "name", "note", "billing_name", "billing_address", "tax_id"}
)


def _digest(customer_id: str) -> str:
    # Deterministic, so that a second erasure (or a replayed one) writes the same bytes, and
    # salted with a fixed label so the pseudonym is not simply the hash of the bare id.
    return hashlib.sha256(f"tenure-erasure:{customer_id}".encode()).hexdigest()[:16]


def pseudonym_email(customer_id: str) -> str:
    return f"{PSEUDONYM_PREFIX}{_digest(customer_id)}@{PSEUDONYM_DOMAIN}"


def pseudonym_name(customer_id: str) -> str:
    return f"{PSEUDONYM_PREFIX}{_digest(customer_id)}"


def is_pseudonym(email: str | None) -> bool:
    return bool(email) and str(email).lower().endswith("@" + PSEUDONYM_DOMAIN)


def pseudonym_contact(customer_id: str, contact: Contact) -> Contact:
    """The contact with the person taken out; the language and time zone stay (they say how
    to write, not who is written to, and nobody is written to again)."""
    return replace(contact, email=pseudonym_email(customer_id), name=pseudonym_name(customer_id))


def refuse_erased(customer: Customer, action: str) -> None:
    """An erased customer is never charged by a new action (a subscription, an installment
    plan, a card): IllegalTransitionError (409), nothing written."""
    if customer.erased_at is not None:
        raise IllegalTransitionError(
            action, "erased", "its personal data was erased (docs/privacy.md)", "customer"
        )


def scrub(value: Any) -> Any:
    """`value` with every personal key's text (PERSONAL_KEYS, at any depth) replaced."""
    if isinstance(value, dict):
        return {
            k: (ERASED_TEXT if k in PERSONAL_KEYS and isinstance(v, str) and v else scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class LegalHold:
    """What tax law obliges the business to keep of an erased buyer: the name, postal address
    and tax id its numbered invoices were made out to, and which invoices those are. Readable
    only through its own admin-scoped endpoint, kept apart from every other read."""

    customer_id: str
    erased_at: datetime
    name: str | None
    address: str | None
    tax_id: str | None
    invoices: tuple[str, ...]  # the legal numbers of the finalized invoices it stands for
    credit_notes: tuple[str, ...] = ()
