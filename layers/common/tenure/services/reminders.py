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

from tenure.domain.customers import Contact, Customer
from tenure.domain.customers import valid_address as address_rule
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError, StaleCopyError
from tenure.domain.invoices import Invoice
from tenure.domain.notices import (
    EmailFacts,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from tenure.domain.privacy import is_pseudonym
from tenure.domain.subscription import Subscription
from tenure.notify.compose import ComposeError
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import next_slot
from tenure.ports import Commit, CopyCheck, Marker
from tenure.services.context import Services
from tenure.services.reminder_drafts import Draft, Drafts
from tenure.services.reminder_facts import Skip as _Skip

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
class _Run(Drafts):
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
            draft = self.facts(notice, customer, sub, invoice)
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
        self, notice: Notice, customer: Customer, draft: Draft
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
            draft = self.facts(notice, customer)
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
