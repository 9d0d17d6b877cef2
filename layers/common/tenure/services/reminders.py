"""The reminders run: send the emails that are due, each at most once, at a decent hour.

For each due notice: read the customer (address, language, zone) and what the notice is
about; if it is night where the customer is, move it to the next slot; if it is no longer
true (the renewal canceled, the invoice paid), skip it; else render it, claim it (the notice
moves to `sending` and a marker with its key is written, in one transaction), send it, and
record the result. A crash after the claim leaves it `sending`: never sent twice, and
counted. Nothing here raises for one bad notice: the others still go out.
"""

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

from tenure.domain.collection_cases import CaseStatus
from tenure.domain.customers import Contact, Customer
from tenure.domain.customers import valid_address as address_rule
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError, StaleCopyError
from tenure.domain.installments import PlanStatus
from tenure.domain.invoices import (
    Invoice,
    InvoiceStatus,
)
from tenure.domain.notices import (
    EmailFacts,
    Notice,
    NoticeKind,
    NoticeStatus,
    notice_key,
    subscription_copy,
)
from tenure.domain.plans import Plan
from tenure.domain.pricing import priced_plan
from tenure.domain.privacy import is_pseudonym
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import parse_iso
from tenure.notify.compose import ComposeError
from tenure.notify.lines import case_line_facts, invoice_facts, invoice_tax, line_facts
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import next_slot, slot_before
from tenure.ports import Commit, CopyCheck, Marker
from tenure.services.catalog import held_prices
from tenure.services.context import Services
from tenure.services.reminder_facts import Skip as _Skip
from tenure.services.reminder_facts import (
    attempt_facts,
    card_expiring_facts,
    instalment_ahead,
    preview_lines,
    still_ahead,
    tenure_reached,
)

log = logging.getLogger(__name__)
MARKER_TTL = timedelta(days=400)  # longer than any notice can wait to be re-planned
# An email whose handling failed before it was claimed is tried again by later runs for this
# long past its due time, then recorded as failed (a notice that always fails is a bug).
RETRY_UNCLAIMED_FOR = timedelta(days=1)
# Emails claimed together (one transaction where the store can), then sent one by one, then
# recorded together. A run that dies after a claim loses at most these many (never doubles
# them); 16 emails' claims with every copy check (6 items each) fit one transaction.
EMAILS_PER_CLAIM = 16
# The kinds written from their subscription alone: a notice of one of them that carries
# copies (Notice.contact, Notice.subscription) is sent without reading anything.
_FROM_COPIES = frozenset(
    {NoticeKind.UPCOMING_RENEWAL, NoticeKind.TRIAL_ENDING, NoticeKind.PAUSE_ENDING}
)
# The kinds written from their invoice alone: one that carries copies (Notice.contact,
# Notice.invoice) reads nothing but, when the invoice's lines name no plan, its plan.
_FROM_INVOICE = frozenset({NoticeKind.RECEIPT, NoticeKind.REFUND_RECEIPT})


# (notice, customer, facts, links, sent_at) -> (message, warnings)
Compose = Callable[
    [Notice, Customer, EmailFacts, Mapping[str, str], datetime],
    tuple[EmailMessage, tuple[str, ...]],
]
# (customer id, purpose, subject, action) -> signed URL
LinkMaker = Callable[[str, LinkPurpose, str, str | None], str]


_Link = tuple[LinkPurpose, str | None, str | None]  # purpose, subject, action


@dataclass(frozen=True, slots=True)
class _Draft:
    facts: EmailFacts
    links: dict[str, _Link]
    # Planned once this one is sent, if the customer is a late payer (a question the draft
    # leaves open: one way of answering it reads, the other checks)
    if_late: Notice | None = None


@dataclass(slots=True)
class _Claim:
    """An email rendered and ready to be claimed: with `check`, on the copies it was written
    from; `if_late`, the follow-up it plans if the customer is a late payer (asked after
    the claim when written from reads, by the check's late record when from copies)."""

    notice: Notice
    customer: Customer
    message: EmailMessage
    check: CopyCheck | None = None
    if_late: Notice | None = None
    follow_up: list[Notice] = field(default_factory=list)


# What a sent (or refused, or deferred) email's record writes: the notice, the follow-up it
# planned, the claim's marker when the claim is given back.
_Record = tuple[Notice, list[Notice], list[str]]


@dataclass(slots=True)
class RunReport:
    counts: Counter[str] = field(default_factory=Counter)
    read: int = 0  # notices read from the due index

    def to_dict(self) -> dict[str, Any]:
        return {"due": self.read, **dict(sorted(self.counts.items()))}

    def add(self, other: "RunReport") -> None:
        self.counts.update(other.counts)
        self.read += other.read


def send_due(
    svc: Services,
    mailer: Any,
    compose: Compose,
    links: LinkMaker,
    now: datetime,
    *,
    limit: int = 1000,
    valid_address: Callable[[str], bool] = address_rule,
) -> RunReport:
    """Send what is due at `now` (the run's scheduled hour)."""
    policy = svc.reminders or ReminderPolicy()
    report = RunReport()
    notices = svc.repo.due_notices(now, limit)
    report.read = len(notices)
    run = _Run(svc, policy, mailer, compose, links, now, valid_address)
    for start in range(0, len(notices), EMAILS_PER_CLAIM):
        report.counts.update(run.handle(notices[start : start + EMAILS_PER_CLAIM]))
    return report


def suppress_address(svc: Services, address: str, reason: str) -> None:
    """Stop emailing an address that bounced for good or complained: every later notice to it
    closes as suppressed instead of being sent."""
    svc.repo.suppress(address, reason, svc.clock.now())


@dataclass(slots=True)
class _Run:
    svc: Services
    policy: ReminderPolicy
    mailer: Any
    compose: Compose
    links: LinkMaker
    now: datetime
    valid_address: Callable[[str], bool]
    customers: dict[str, Customer | None] = field(default_factory=dict)

    def handle(self, notices: list[Notice]) -> list[str]:
        """The outcome of each notice: every email is prepared (read, checked, rendered),
        the ready ones claimed together, sent in order, and their outcomes recorded together.
        Nothing here raises for one notice: an error gives up on that one only."""
        outcomes: dict[int, str] = {}
        pending: dict[int, _Claim] = {}
        for n, notice in enumerate(notices):
            prepared = self._safely(notice, partial(self._prepare, notice))
            if isinstance(prepared, _Claim):
                pending[n] = prepared
            else:
                outcomes[n] = prepared
        claimed = self._claim_all(pending, outcomes)
        records: dict[int, _Record] = {}
        for n in sorted(claimed):
            claim = claimed[n]
            outcomes[n] = self._safely(claim.notice, partial(self._send, claim, n, records))
        self._record_all(records, outcomes)
        return [outcomes[n] for n in range(len(notices))]

    def _safely(self, notice: Notice, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception:  # one notice must never stop the others
            log.exception("reminder failed", extra={"customer": notice.customer_id})
            return self.give_up(notice)

    def _prepare(self, notice: Notice) -> "str | _Claim":
        prepared: str | _Claim | None = None
        contact, sub, invoice = notice.contact, notice.subscription, notice.invoice
        if contact is not None and sub is not None and notice.kind in _FROM_COPIES:
            prepared = self._prepare_from_copies(notice, contact, sub=sub)
        elif contact is not None and invoice is not None and notice.kind in _FROM_INVOICE:
            prepared = self._prepare_from_copies(notice, contact, invoice=invoice)
        return self._prepare_read(notice) if prepared is None else prepared

    def _prepare_from_copies(
        self,
        notice: Notice,
        contact: Contact,
        sub: Subscription | None = None,
        invoice: Invoice | None = None,
    ) -> "str | _Claim | None":
        """Write the email from the notice's copies (its subscription's, or its invoice's),
        to be claimed on the condition that they still hold (CopyCheck): nothing is read
        but the plan. None when a copy says the email may not be due as it stands (skipped,
        no address): then it is decided from fresh reads, as a notice without copies is,
        and so is one whose check fails."""
        if invoice is not None and invoice.id != notice.data.get("invoice_id"):
            return None  # not the invoice the notice is about: never planned so
        if is_pseudonym(contact.email):
            return None  # erased: decided from the customer's own record, which says so
        customer = Customer(
            notice.customer_id,
            contact.email,
            notice.created_at,  # unused by an email; the customer's own is not copied
            contact.name,
            contact.locale,
            contact.timezone,
        )
        if self._deferred_at_night(notice, customer):
            return "deferred"
        try:
            draft = self._facts(notice, customer, sub, invoice)
        except _Skip:
            return None
        if not customer.email or not self.valid_address(customer.email):
            return None
        try:
            message, warnings = self._render(notice, customer, draft)
        except ComposeError:
            return None
        for warning in warnings:
            log.warning(warning, extra={"customer": customer.id, "notice": notice.key})
        # Fewer late invoices on record than make a late payer, ever: no follow-up, and
        # nothing read to know it. Else the record is read (one item) and the claim made again.
        late_under = self.policy.late_payer_invoices if draft.if_late else None
        check = CopyCheck(
            notice.customer_id,
            contact,
            sub.id if sub is not None else None,
            sub.version if sub is not None else None,
            late_under,
            invoice.id if invoice is not None else None,
            invoice.version if invoice is not None else None,
        )
        # Written from now on without its copies: once claimed the notice is not written from
        # them again, and the smaller item costs less to write (the claim's checks hold them).
        notice.contact = notice.subscription = notice.invoice = None
        return _Claim(notice, customer, message, check, draft.if_late)

    def _deferred_at_night(self, notice: Notice, customer: Customer) -> bool:
        """Night where the customer is (the zone was not known when it was planned, or the
        run is late): the notice moves to the next slot in the window, and True."""
        zone = customer.timezone or "UTC"
        if self.policy.quiet_hours.allows(self.now, zone):
            return False
        notice.due_at = next_slot(self.now, zone, self.policy.quiet_hours)
        self._save(notice)
        return True

    def _render(
        self, notice: Notice, customer: Customer, draft: _Draft
    ) -> tuple[EmailMessage, tuple[str, ...]]:
        subject = notice.subscription_id or customer.id
        urls = {
            name: self.links(customer.id, purpose, subj or subject, action)
            for name, (purpose, subj, action) in draft.links.items()
        }
        return self.compose(notice, customer, draft.facts, urls, self.now)

    def _prepare_read(self, notice: Notice) -> "str | _Claim":
        customer = self._customer(notice.customer_id)
        if customer is None:
            return self._close(notice, NoticeStatus.SKIPPED, "customer_missing")
        if customer.erased_at is not None:  # never written to again (docs/privacy.md)
            return self._close(notice, NoticeStatus.SKIPPED, "customer_erased")
        if self._deferred_at_night(notice, customer):
            return "deferred"
        try:
            draft = self._facts(notice, customer)
        except _Skip as skip:
            return self._close(notice, NoticeStatus.SKIPPED, skip.reason)
        if not customer.email:
            log.warning("no email address", extra={"customer": customer.id})
            return self._close(notice, NoticeStatus.FAILED, "no_email")
        if not self.valid_address(customer.email):
            log.warning("malformed email address", extra={"customer": customer.id})
            return self._close(notice, NoticeStatus.FAILED, "malformed_email")
        if self.svc.repo.is_suppressed(customer.email):
            return self._close(notice, NoticeStatus.SUPPRESSED, "suppressed")
        try:
            message, warnings = self._render(notice, customer, draft)
        except ComposeError as exc:
            log.error(
                "email could not be rendered",
                extra={"customer": customer.id, "notice": notice.key, "error": str(exc)},
            )
            return self._close(notice, NoticeStatus.FAILED, "render_error")
        for warning in warnings:
            log.warning(warning, extra={"customer": customer.id, "notice": notice.key})
        return _Claim(notice, customer, message, None, draft.if_late)

    def give_up(self, notice: Notice) -> str:
        """An unexpected error (a throttled read, a bug). Before the email was claimed nothing
        happened: it stays due, and the next pass or run tries again, for a day at most.
        Once claimed it may have gone out: recorded as failed, the marker kept (at most once)."""
        current = self.svc.repo.get_notice(notice.key)
        if current is None or current.status is NoticeStatus.SENT:
            return "error"
        unclaimed = current.status is NoticeStatus.SCHEDULED
        if unclaimed and self.now - current.due_at < RETRY_UNCLAIMED_FOR:
            return "retry"
        self._close(current, NoticeStatus.FAILED, "internal_error")
        return "error"

    # -- state ------------------------------------------------------------------------------
    def _customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self.customers:
            self.customers[customer_id] = self.svc.repo.get_customer(customer_id)
        return self.customers[customer_id]

    def _save(self, notice: Notice, **extra: Any) -> None:
        try:
            self.svc.commit(Commit(notices=[notice], **extra))
        except ConcurrencyError:
            # Re-planned meanwhile (the same key written again): that newer one stands.
            log.info("notice changed meanwhile", extra={"notice": notice.key})

    def _close(self, notice: Notice, status: NoticeStatus, reason: str) -> str:
        notice.status, notice.reason = status, reason
        self._save(notice)
        return reason if status is NoticeStatus.SKIPPED else str(status)

    def _claim_all(self, pending: dict[int, _Claim], outcomes: dict[int, str]) -> dict[int, _Claim]:
        """Claim the emails in `pending` (the notice `sending` and its marker, with the
        copies' checks), many in one transaction: the ones claimed, by index; the others'
        outcomes go to `outcomes`. A claim whose copies went stale is made again, from the
        late record or from fresh reads, in the next round."""
        claimed: dict[int, _Claim] = {}
        while pending:
            order = sorted(pending)
            changes = [self._claim_change(pending[n]) for n in order]
            try:
                results = self.svc.repo.commit_each(changes)
            except Exception:  # nothing known of these claims: each is asked again
                log.exception("claims failed", extra={"emails": len(order)})
                for n in order:
                    outcomes[n] = self.give_up(pending[n].notice)
                return claimed
            again: dict[int, _Claim] = {}
            for n, result in zip(order, results, strict=True):
                claim = pending[n]
                after = self._safely(claim.notice, partial(self._claimed, claim, result))
                if after is None:
                    claimed[n] = claim
                elif isinstance(after, _Claim):
                    again[n] = after
                else:
                    outcomes[n] = after
            pending = again
        return claimed

    def _claim_change(self, claim: _Claim) -> Commit:
        claim.notice.status = NoticeStatus.SENDING
        marker = Marker(f"email:{claim.notice.key}", self.now + MARKER_TTL)
        checks = [claim.check] if claim.check is not None else []
        return Commit(notices=[claim.notice], markers=[marker], copy_checks=checks)

    def _claimed(self, claim: _Claim, result: Exception | None) -> "str | _Claim | None":
        """After the claim: None when it holds (ready to send), a claim to make again, or
        the outcome of one that will not be sent."""
        notice = claim.notice
        if result is None:
            # Written from reads: late payments counted from the invoices themselves.
            from_reads = claim.check is None and claim.if_late is not None
            if from_reads and self._late_payer(notice.customer_id):
                claim.follow_up = [claim.if_late] if claim.if_late else []
            return None
        if isinstance(result, StaleCopyError):
            notice.status = NoticeStatus.SCHEDULED
            check = claim.check
            late = result.what == "late_payments" and claim.if_late is not None
            if late and check is not None and check.late_under is not None:
                if self._late_on_record(notice.customer_id):
                    claim.follow_up = [claim.if_late] if claim.if_late else []
                claim.check = replace(check, late_under=None)
                return claim
            log.info("notice copy stale", extra={"notice": notice.key, "check": result.what})
            return self._prepare_read(notice)
        if isinstance(result, AlreadyExistsError):
            # Sent before, and planned again since: it stays sent, and is not sent again.
            current = self.svc.repo.get_notice(notice.key)
            if current is not None and current.status is NoticeStatus.SCHEDULED:
                current.status, current.reason = NoticeStatus.SENT, "sent_earlier"
                self._save(current)
            return "duplicate"
        if isinstance(result, ConcurrencyError):
            return "duplicate"  # another run claimed it first
        raise result

    def _send(self, claim: _Claim, n: int, records: dict[int, _Record]) -> str:
        """Send the claimed email; its record goes to `records` (written by _record_all)."""
        from tenure.notify.mailers import MailDeferred, MailRejected

        notice, customer = claim.notice, claim.customer
        try:
            message_id = self.mailer.send(
                claim.message, customer_id=customer.id, kind=str(notice.kind), sent_at=self.now
            )
        except MailRejected as exc:
            log.error("email rejected", extra={"customer": customer.id, "error": str(exc)})
            notice.status, notice.reason = NoticeStatus.FAILED, "rejected"
            records[n] = (notice, [], [])
            return "rejected"
        except MailDeferred as exc:
            log.warning("email deferred", extra={"customer": customer.id, "error": str(exc)})
            notice.status, notice.reason = NoticeStatus.SCHEDULED, "deferred"
            notice.due_at = next_slot(
                self.now + self.policy.resend_throttled_after,
                customer.timezone,
                self.policy.quiet_hours,
            )
            records[n] = (notice, [], [f"email:{notice.key}"])
            return "throttled"
        notice.status, notice.sent_at, notice.message_id = NoticeStatus.SENT, self.now, message_id
        notice.reason = None
        records[n] = (notice, claim.follow_up, [])
        return "sent"

    def _record_all(self, records: dict[int, _Record], outcomes: dict[int, str]) -> None:
        """Record the emails' outcomes, many in one transaction: a notice planned again while
        it was being sent gets its outcome on the new one."""
        order = sorted(records)
        changes = [
            Commit(notices=[notice, *follow_up], released_markers=released)
            for notice, follow_up, released in (records[n] for n in order)
        ]
        try:
            results = self.svc.repo.commit_each(changes)
        except Exception:  # may have gone out: each recorded failed unless it was recorded
            log.exception("records failed", extra={"emails": len(order)})
            for n in order:
                outcomes[n] = self.give_up(records[n][0])
            return
        for n, result in zip(order, results, strict=True):
            if result is not None:
                record = records[n]
                self._safely(record[0], partial(self._record_again, *record))

    def _record_again(self, notice: Notice, follow_up: list[Notice], released: list[str]) -> None:
        for _ in range(2):  # after the first try, made with the others
            # Planned again while it was being sent: record the outcome on the new one.
            current = self.svc.repo.get_notice(notice.key)
            if current is None:
                return
            current.status, current.sent_at = notice.status, notice.sent_at
            current.message_id, current.reason = notice.message_id, notice.reason
            current.due_at = notice.due_at
            notice = current
            try:
                change = Commit(notices=[notice, *follow_up], released_markers=released)
                self.svc.commit(change)
                return
            except ConcurrencyError:
                continue
        log.error("could not record the email's outcome", extra={"notice": notice.key})

    # -- what each kind says ----------------------------------------------------------------
    def _facts(
        self,
        notice: Notice,
        customer: Customer,
        copied: Subscription | None = None,
        copied_invoice: Invoice | None = None,
    ) -> _Draft:
        kind = notice.kind
        base: dict[str, Any] = {"customer_name": customer.name or customer.email}
        manage = LinkPurpose.MANAGE_SUBSCRIPTION
        card: _Link = (LinkPurpose.UPDATE_CARD, customer.id, None)  # every open invoice
        if kind in (NoticeKind.UPCOMING_RENEWAL, NoticeKind.TRIAL_ENDING, NoticeKind.PAUSE_ENDING):
            sub, plan = self._subscription(notice, copied)
            still_ahead(notice, sub)
            programs = self.svc.repo.get_programs().programs
            lines = preview_lines(sub, plan, programs)
            reached = (
                tenure_reached(sub, programs, lines)
                if kind is NoticeKind.UPCOMING_RENEWAL
                else None
            )
            when = {
                NoticeKind.UPCOMING_RENEWAL: sub.current_period_end,
                NoticeKind.TRIAL_ENDING: sub.trial_end,
                NoticeKind.PAUSE_ENDING: sub.paused_until,
            }[kind]
            facts = EmailFacts(
                **base,
                currency=sub.currency,
                plan_name=plan.name or plan.id,
                amount=sum(line.amount for line in lines),
                lines=line_facts(lines),
                tax=invoice_tax(lines),
                when=when,
                tenure_months=reached.after_months if reached else None,
                tenure_percent=f"{reached.percent_off.normalize():f}" if reached else None,
            )
            if kind is NoticeKind.TRIAL_ENDING and "card_on_file" in notice.data:
                facts = self._trial_card(notice, customer, facts, None if copied else sub)
            links = {
                "update_card": card,
                "pause": (manage, sub.id, "pause"),
                "cancel": (manage, sub.id, "cancel"),
            }
            if_late = (
                self._late_payer_reminder(notice, customer, sub)
                if kind is NoticeKind.UPCOMING_RENEWAL
                else None
            )
            return _Draft(facts, links, if_late)
        if kind in (NoticeKind.PAYMENT_FAILED, NoticeKind.PAYMENT_ACTION_REQUIRED):
            invoice = self._invoice(notice)
            if invoice.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoice.status}")
            if invoice.attempts != int(notice.data.get("attempt", invoice.attempts)):
                raise _Skip("superseded_by_later_attempt")
            if invoice.installment_plan_id:
                wanted: dict[str, _Link] = {"update_card": card}
                if kind is NoticeKind.PAYMENT_ACTION_REQUIRED:
                    wanted["confirm_payment"] = (LinkPurpose.CONFIRM_PAYMENT, invoice.id, None)
                return _Draft(self._failed_instalment(notice, invoice, base), wanted)
            owner = self.svc.repo.get_subscription(invoice.subscription_id)
            if owner is None or owner.status is SubscriptionStatus.CANCELED:
                raise _Skip("subscription_ended")
            owed_for = self.svc.repo.get_plan(owner.plan_id)
            facts = attempt_facts(notice, invoice, base["customer_name"])
            # The email names the plan the customer is on now, as it always did.
            facts = replace(
                facts, plan_name=(owed_for.name or owed_for.id) if owed_for else owner.plan_id
            )
            wanted = {"update_card": card}
            if kind is NoticeKind.PAYMENT_ACTION_REQUIRED:
                wanted["confirm_payment"] = (LinkPurpose.CONFIRM_PAYMENT, invoice.id, None)
            return _Draft(facts, wanted)
        if kind is NoticeKind.CARD_REQUIRED:
            invoice = self._invoice(notice)
            if invoice.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoice.status}")
            if invoice.attempts:
                # A card came and was tried: the receipt or the failure says what happened.
                raise _Skip("card_added")
            owner = self.svc.repo.get_subscription(invoice.subscription_id)
            if owner is None or owner.status is SubscriptionStatus.CANCELED:
                raise _Skip("subscription_ended")
            if invoice.dunning_ends_at is None:
                raise _Skip("deadline_passed")  # "add a card by" a day gone by is no help
            facts = invoice_facts(invoice, base["customer_name"], when=invoice.dunning_ends_at)
            if facts.plan_name is None:
                facts = replace(facts, plan_name=self._plan_name(invoice))
            return _Draft(facts, {"update_card": card})
        if kind in (NoticeKind.RECEIPT, NoticeKind.REFUND_RECEIPT):
            invoice = copied_invoice or self._invoice(notice)
            refunded = int(notice.data.get("amount_refunded") or 0)
            at = notice.data.get("refunded_at")
            facts = invoice_facts(
                invoice,
                base["customer_name"],
                when=parse_iso(str(at)) if at else invoice.paid_at,
                refund_amount=refunded or None,
            )
            if facts.plan_name is None:
                facts = replace(facts, plan_name=self._plan_name(invoice))
            return _Draft(facts, {})
        if kind is NoticeKind.SUBSCRIPTION_ENDED:
            sub, plan = self._subscription(notice)
            if sub.status is not SubscriptionStatus.CANCELED:
                raise _Skip("subscription_not_ended")
            voluntary = bool(notice.data.get("voluntary", True))
            facts = EmailFacts(
                **base,
                currency=sub.currency,
                plan_name=plan.name or plan.id,
                when=sub.canceled_at,
                ended_reason="voluntary" if voluntary else "involuntary",
            )
            return _Draft(facts, {"resubscribe": (manage, sub.id, "resubscribe")})
        if kind is NoticeKind.CARD_EXPIRING:
            return _Draft(
                card_expiring_facts(self.svc, self.now, notice, customer, base),
                {"update_card": card},
            )
        if kind is NoticeKind.COLLECTIONS_OPENED:
            return self._collections_opened(notice, base)
        if kind is NoticeKind.INSTALLMENT_PLAN_ENDED:
            return self._plan_ended(notice, base, card)
        if kind is NoticeKind.PRE_DEBIT:
            return self._pre_debit(notice, base, card)
        if kind is NoticeKind.PRICE_CHANGE:
            return self._price_change(notice, base)
        if kind is NoticeKind.INSTALLMENT_DUE:
            data = notice.data
            instalment_ahead(self.svc, notice)
            facts = EmailFacts(
                **base,
                currency=str(data["currency"]),
                amount=int(data["amount"]),
                when=parse_iso(str(data["due_at"])),
                installment_number=int(data["number"]),
                installment_count=int(data["count"]),
                installment_plan=True,
            )
            return _Draft(facts, {"update_card": card})
        raise _Skip(f"unknown_kind_{kind}")

    def _pre_debit(self, notice: Notice, base: dict[str, Any], card: _Link) -> _Draft:
        """A debit on a mandate, announced: owed while the invoice is open and still owes
        that amount on that debit (a later debit or another amount has its own notice). The
        date is when the debit may first be made: never sooner than the notice lead after
        this email goes out, since the charger holds it until then."""
        if notice.data.get("ahead"):
            return self._renewal_ahead(notice, base, card)
        invoice = self._invoice(notice)
        data = notice.data
        if invoice.status is not InvoiceStatus.OPEN:
            raise _Skip(f"invoice_{invoice.status}")
        if invoice.total != int(data["amount"]):
            raise _Skip("amount_changed")
        limit = data.get("limit")
        if limit is None and invoice.failures + 1 != int(data.get("debit", 1)):
            raise _Skip("superseded_by_later_debit")
        planned = parse_iso(str(data["debit_at"])) if data.get("debit_at") else invoice.created_at
        when = max(planned, self.now + self.svc.mandates.notice_lead) if limit is None else planned
        facts = invoice_facts(
            invoice,
            base["customer_name"],
            when=when,
            mandate_limit=int(limit) if limit is not None else None,
        )
        links: dict[str, _Link] = {"update_card": card}
        if invoice.installment_plan_id:
            plan = self.svc.repo.get_installment_plan(invoice.installment_plan_id)
            item = plan.by_invoice(invoice.id) if plan is not None else None
            if plan is not None and item is not None:
                facts = replace(
                    facts,
                    plan_name=plan.description,
                    installment_number=item.number,
                    installment_count=plan.count,
                )
            return _Draft(facts, links)
        if facts.plan_name is None:
            facts = replace(facts, plan_name=self._plan_name(invoice))
        links["cancel"] = (LinkPurpose.MANAGE_SUBSCRIPTION, invoice.subscription_id, "cancel")
        return _Draft(facts, links)

    def _renewal_ahead(self, notice: Notice, base: dict[str, Any], card: _Link) -> _Draft:
        """A renewal on a mandate announced before it is invoiced: owed while the
        subscription still renews then, and not yet invoiced (an invoice has its own
        notice). The amount is the renewal's preview, as the upcoming-renewal email shows it,
        written on the notice: the charger debits on time only a renewal of that amount."""
        sub, plan = self._subscription(notice)
        renews_at = parse_iso(str(notice.data["renews_at"]))
        if sub.status is not SubscriptionStatus.ACTIVE or sub.cancel_at_period_end:
            raise _Skip("renewal_not_ahead")
        invoiced = self.svc.repo.get_invoice(str(notice.data["invoice_id"]))
        if invoiced is not None:
            # Sent late, after the renewal was invoiced (and held for it): the invoice's own
            # amount, debited a notice lead from now at the soonest.
            if invoiced.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoiced.status}")
            lines = invoiced.lines
            when = max(renews_at, self.now + self.svc.mandates.notice_lead)
        else:
            if sub.current_period_end != renews_at:
                raise _Skip("renewal_not_ahead")
            lines = preview_lines(sub, plan, self.svc.repo.get_programs().programs)
            when = renews_at
        amount = sum(line.amount for line in lines)
        if self.svc.mandates.needs_fresh_auth(amount, sub.currency):
            raise _Skip("customer_confirms")  # the payment_action_required email asks them
        if amount > self._mandate_max(sub):
            raise _Skip("over_mandate_limit")  # the charger asks for a new mandate instead
        notice.data["amount"] = amount
        facts = EmailFacts(
            **base,
            currency=sub.currency,
            plan_name=plan.name or plan.id,
            amount=amount,
            lines=line_facts(lines),
            tax=invoice_tax(lines),
            when=when,
        )
        cancel: _Link = (LinkPurpose.MANAGE_SUBSCRIPTION, sub.id, "cancel")
        return _Draft(facts, {"update_card": card, "cancel": cancel})

    def _price_change(self, notice: Notice, base: dict[str, Any]) -> _Draft:
        """Owed while the subscription still renews into the new price: one that ended, or
        that has left the plan, is not told of a price it will not pay."""
        sub, plan = self._subscription(notice)
        data = notice.data
        # About an add-on's price: owed while the subscription still holds the add-on.
        addon = data.get("addon")
        held = {a.price for a in sub.items.addons}
        if sub.scheduled_items is not None:
            held &= {a.price for a in sub.scheduled_items.addons}
        owner = str(addon) if addon is not None else plan.id
        if (
            sub.ended
            or sub.plan_id != plan.id
            or not str(data["change"]).startswith(f"{owner}:")
            or (addon is not None and addon not in held)
        ):
            raise _Skip("price_not_ahead")
        named = self.svc.repo.get_plan(owner) if addon is not None else plan
        facts = EmailFacts(
            **base,
            currency=str(data["currency"]),
            plan_name=(named.name or named.id) if named is not None else owner,
            amount=int(data["amount"]),
            old_amount=int(data["old_amount"]),
            when=parse_iso(str(data["starts"])),
        )
        manage = LinkPurpose.MANAGE_SUBSCRIPTION
        return _Draft(
            facts, {"manage": (manage, sub.id, None), "cancel": (manage, sub.id, "cancel")}
        )

    def _mandate_max(self, sub: Subscription) -> float:
        methods = self.svc.repo.list_payment_methods(sub.customer_id)
        cap = next((m.mandate_max_amount for m in methods if m.id == sub.payment_method), None)
        return float("inf") if cap is None else cap

    def _collections_opened(self, notice: Notice, base: dict[str, Any]) -> _Draft:
        """The case as it stands when the email is sent: owed while it still waits for the
        customer (a plan chosen, or the balance paid by a new card, makes it moot). Every
        line of the owed invoices with the period it paid for, less anything recovered."""
        case = self.svc.repo.get_collection_case(str(notice.data.get("case_id")))
        if case is None:
            raise _Skip("case_missing")
        if case.status is not CaseStatus.OPEN:
            raise _Skip(f"case_{case.status}")
        owed = (self.svc.repo.get_invoice(i) for i in case.invoice_ids)
        lines = case_line_facts(case, {i.id: i for i in owed if i is not None})
        owner = self.svc.repo.get_subscription(case.subscription_id)
        plan = self.svc.repo.get_plan(owner.plan_id) if owner is not None else None
        facts = EmailFacts(
            **base,
            currency=case.currency,
            plan_name=(plan.name or plan.id) if plan is not None else case.subscription_id,
            amount=case.balance,
            lines=lines,
            when=case.opened_at,
        )
        return _Draft(facts, {"collections": (LinkPurpose.COLLECTIONS, case.id, None)})

    def _plan_ended(self, notice: Notice, base: dict[str, Any], card: _Link) -> _Draft:
        """A plan that ended, as it stands when the email is sent. Defaulted: the instalment
        that went unpaid, what the plan did not collect, and the card page. Canceled: what it
        did not collect; a repayment plan the customer left also says the balance waits for
        a new choice on the collections page (unless one was made meanwhile: then the plan
        chosen speaks for itself). A plan completed after all is not written to."""
        plan = self.svc.repo.get_installment_plan(str(notice.data.get("plan_id")))
        if plan is None:
            raise _Skip("installment_plan_missing")
        if plan.status not in (PlanStatus.DEFAULTED, PlanStatus.CANCELED):
            raise _Skip(f"installment_plan_{plan.status}")
        facts = EmailFacts(
            **base,
            currency=plan.currency,
            plan_name=plan.description,
            amount=plan.amount - plan.collected,
            when=parse_iso(str(notice.data["ended_at"])),
            installment_count=plan.count,
            installment_plan=True,
            ended_reason=str(plan.status),
        )
        if plan.status is PlanStatus.DEFAULTED:
            number = int(notice.data.get("number") or 0)
            if not 1 <= number <= len(plan.instalments):
                raise _Skip("instalment_missing")
            # A repayment plan is named as such: its description is not the customer's words.
            reason = "repayment_defaulted" if plan.collection_case_id else "defaulted"
            ended = replace(facts, installment_number=number, ended_reason=reason)
            return _Draft(ended, {"update_card": card})
        case = (
            self.svc.repo.get_collection_case(plan.collection_case_id)
            if plan.collection_case_id
            else None
        )
        if case is None:
            return _Draft(facts, {})  # ended on request: nothing is left for the customer to do
        if case.status is not CaseStatus.OPEN:
            raise _Skip(f"case_{case.status}")
        left = replace(facts, amount=case.balance, ended_reason="left")
        return _Draft(left, {"collections": (LinkPurpose.COLLECTIONS, case.id, None)})

    def _trial_card(
        self, notice: Notice, customer: Customer, facts: EmailFacts, stored: Subscription | None
    ) -> EmailFacts:
        """A trial-ending email's card: none (the email asks for one by the trial's end), or
        the card it will charge, by its last digits (one read of the customer's cards; a card
        removed since is "your card"). Written from the notice's copies, it is the card on
        file when the email was planned: the claim checks that the subscription has not
        changed since, and a card added or replaced changes it (its payer copy), so such an
        email is written again from the `stored` subscription, whose card is the current one."""
        if stored is not None:
            method_id = stored.payment_method
        else:
            method_id = notice.data.get("payment_method") if notice.data["card_on_file"] else None
        if method_id is None:
            return replace(facts, card_on_file=False)
        method = next(
            (m for m in self.svc.repo.list_payment_methods(customer.id) if m.id == method_id),
            None,
        )
        if method is None or not (method.brand and method.last4):
            return replace(facts, card_on_file=True)
        return replace(facts, card_on_file=True, card_brand=method.brand, card_last4=method.last4)

    def _subscription(
        self, notice: Notice, copied: Subscription | None = None
    ) -> tuple[Subscription, Plan]:
        """The subscription the notice is about: its copy when given, else as stored."""
        sub = copied or self.svc.repo.get_subscription(notice.subscription_id or "")
        if sub is None:
            raise _Skip("subscription_missing")
        plan = self.svc.repo.get_plan(sub.plan_id)
        if plan is None:
            raise _Skip("plan_missing")
        # Priced for the period ahead (what the reminders announce), at the unit price that
        # period pays (tenure.domain.prices), for its seats and add-ons.
        start = sub.current_period_end
        ahead = sub.plan_at(plan, start)
        # Seats or add-ons scheduled for the period's end are what its renewal bills (taken
        # when it renews); a paused subscription resumes into a fresh period first.
        items = sub.scheduled_items
        if items is None or sub.status is SubscriptionStatus.PAUSED:
            items = sub.items
        return sub, priced_plan(ahead, items, held_prices(self.svc, sub, items, start))

    def _plan_name(self, invoice: Invoice) -> str | None:
        """The plan of the invoice's subscription, for an invoice whose lines name none."""
        owner = self.svc.repo.get_subscription(invoice.subscription_id)
        plan = self.svc.repo.get_plan(owner.plan_id) if owner is not None else None
        return (plan.name or plan.id) if plan is not None else None

    def _invoice(self, notice: Notice) -> Invoice:
        invoice = self.svc.repo.get_invoice(str(notice.data.get("invoice_id")))
        if invoice is None:
            raise _Skip("invoice_missing")
        return invoice

    def _failed_instalment(
        self, notice: Notice, invoice: Invoice, base: dict[str, Any]
    ) -> EmailFacts:
        """The email about an instalment that failed or waits for the bank's confirmation:
        owed while its plan stands (a plan defaulted or canceled since has its own ending),
        worded as an instalment of a payment plan, never as a subscription."""
        plan = self.svc.repo.get_installment_plan(str(invoice.installment_plan_id))
        if plan is None:
            raise _Skip("installment_plan_missing")
        if plan.status is not PlanStatus.ACTIVE:
            raise _Skip(f"installment_plan_{plan.status}")
        item = plan.by_invoice(invoice.id)
        if item is None:
            raise _Skip("instalment_missing")
        facts = attempt_facts(notice, invoice, base["customer_name"])
        return replace(
            facts,
            plan_name=plan.description,
            installment_number=item.number,
            installment_count=plan.count,
            installment_plan=True,
        )

    def _late_payer_reminder(
        self, notice: Notice, customer: Customer, sub: Subscription
    ) -> Notice | None:
        """Late payers hear once more, the day before: planned when the first one goes out.
        This is that reminder, if there is a day before left; whether the customer is a late
        payer is asked apart (`_late_payer`, `_late_on_record`)."""
        days = self.policy.late_payer_days
        if not days or notice.data.get("late_payer") or int(notice.data["lead_days"]) <= days:
            return None
        renews = sub.current_period_end
        due = slot_before(renews, days, sub.timezone, self.policy.quiet_hours, self.now)
        if due is None:
            return None
        period = notice.key.split(":")[-2]
        key = notice_key(sub.id, NoticeKind.UPCOMING_RENEWAL, period, days)
        data = notice.data | {"lead_days": days, "late_payer": True}
        # With copies of what it was written from: sending it reads nothing either. The
        # subscription is as read (or checked), its version the stored one.
        follow = Notice(
            key, NoticeKind.UPCOMING_RENEWAL, sub.customer_id, sub.id, due, self.now, data=data
        )
        follow.contact, follow.subscription = customer.contact, subscription_copy(sub, sub.version)
        return follow

    def _late_payer(self, customer_id: str) -> bool:
        """From the customer's invoices themselves (a notice without copies: what was
        written before the record of late invoices may be missing from it)."""
        since = self.now - self.policy.late_payer_window
        late = 0
        for other in self.svc.repo.list_subscriptions(customer_id):
            for invoice in self.svc.repo.list_invoices(other.id, since=since):
                if invoice.late:
                    late += 1
        return late >= self.policy.late_payer_invoices

    def _late_on_record(self, customer_id: str) -> bool:
        """From the customer's record of late invoices (NoticeStore.late_invoices)."""
        since = self.now - self.policy.late_payer_window
        late = [start for start, _ in self.svc.repo.late_invoices(customer_id) if start >= since]
        return len(late) >= self.policy.late_payer_invoices
