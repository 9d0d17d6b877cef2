"""Notices on both repositories: planned writes never fail, due ones come back whole, claims
hold, and the renewals scheduler never sees an email."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.customers import Customer
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError, StaleCopyError
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceStatus
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, invoice_copy
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit, CopyCheck, Marker, Repository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def notice(key: str = "sub-1:receipt:now:0", due: datetime = T0, customer: str = "alice") -> Notice:
    return Notice(
        key=key,
        kind=NoticeKind.RECEIPT,
        customer_id=customer,
        subscription_id="sub-1",
        due_at=due,
        created_at=T0 - timedelta(hours=1),
        data={"invoice_id": "inv-1", "zone": "Asia/Tokyo"},
    )


def test_a_due_notice_comes_back_whole_and_only_once_due(repo: Repository) -> None:
    repo.commit(Commit(notices=[notice(), notice("sub-2:receipt:now:0", T0 + timedelta(hours=2))]))
    assert repo.due_notices(T0 - timedelta(seconds=1)) == []
    (found,) = repo.due_notices(T0)
    assert (found.key, found.kind, found.due_at, found.version) == (
        "sub-1:receipt:now:0",
        NoticeKind.RECEIPT,
        T0,
        1,
    )
    assert found.data == {"invoice_id": "inv-1", "zone": "Asia/Tokyo"}
    assert repo.next_notice_at() == T0
    assert repo.due(T0 + timedelta(days=1)) == []  # the renewals scheduler never sees emails


def test_planning_the_same_notice_again_never_fails_the_commit(repo: Repository) -> None:
    repo.commit(Commit(notices=[notice()]))
    repo.commit(Commit(notices=[notice(due=T0 + timedelta(hours=1))]))
    stored = repo.get_notice("sub-1:receipt:now:0")
    assert stored is not None and stored.due_at == T0 + timedelta(hours=1)


def test_a_sent_notice_leaves_the_due_index_and_a_stale_update_loses(repo: Repository) -> None:
    repo.commit(Commit(notices=[notice()]))
    (claimed,) = repo.due_notices(T0)
    stale = repo.get_notice(claimed.key)
    assert stale is not None
    claimed.status = NoticeStatus.SENDING
    repo.commit(Commit(notices=[claimed], markers=[Marker("email:x", T0 + timedelta(days=9))]))
    assert repo.due_notices(T0 + timedelta(days=1)) == []
    assert repo.next_notice_at() is None
    stale.status = NoticeStatus.SKIPPED
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(notices=[stale]))
    again = notice()
    again.status = NoticeStatus.SENDING
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(notices=[again], markers=[Marker("email:x", T0)]))


def test_a_released_marker_can_be_claimed_again(repo: Repository) -> None:
    repo.commit(Commit(markers=[Marker("email:y", T0 + timedelta(days=1))]))
    repo.commit(Commit(released_markers=["email:y"]))
    assert not repo.has_marker("email:y")
    repo.commit(Commit(markers=[Marker("email:y", T0 + timedelta(days=1))]))
    assert repo.has_marker("email:y")


def test_notices_are_listed_by_customer(repo: Repository) -> None:
    repo.commit(Commit(notices=[notice(), notice("x:receipt:now:0", customer="bob")]))
    assert [n.key for n in repo.list_notices("alice")] == ["sub-1:receipt:now:0"]
    assert repo.list_notices("carol") == []


def test_a_suppressed_address_is_known_whatever_its_case(repo: Repository) -> None:
    assert not repo.is_suppressed("ben@example.com")
    repo.suppress("Ben@Example.com", "bounce", T0)
    assert repo.is_suppressed("ben@example.com")
    assert not repo.is_suppressed("ann@example.com")


def test_invoices_since_a_moment_are_read_by_key_not_filtered(repo: Repository) -> None:
    from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceStatus

    def invoice(n: int) -> Invoice:
        start = T0 + timedelta(days=30 * n)
        return Invoice(
            id=f"inv-{n}",
            subscription_id="sub-1",
            customer_id="alice",
            kind=InvoiceKind.RENEWAL,
            period_start=start,
            period_end=start + timedelta(days=30),
            currency="USD",
            lines=[],
            status=InvoiceStatus.PAID,
            created_at=start,
        )

    repo.commit(Commit(invoices=[invoice(n) for n in range(4)]))
    recent = repo.list_invoices("sub-1", since=T0 + timedelta(days=60))
    assert [i.id for i in recent] == ["inv-2", "inv-3"]
    assert len(repo.list_invoices("sub-1")) == 4


# -- notices that carry copies, and the claim that checks them -----------------------------
def _alice_and_her_subscription(repo: Repository) -> tuple[Customer, Subscription]:

    plan = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")
    alice = Customer("alice", "alice@example.com", T0, "Alice", "ru", "Europe/Moscow")
    sub = Subscription.subscribe("sub-1", "alice", plan, T0)
    sub.contact = alice.contact
    change = Commit(customers=[alice], plans=[plan])
    change.add_subscription(sub)
    repo.commit(change)
    return alice, sub


def _with_copies(sub: Subscription) -> Notice:
    copied = notice("sub-1:upcoming_renewal:x:3")
    copied.kind = NoticeKind.UPCOMING_RENEWAL
    copied.contact, copied.subscription = sub.contact, sub
    return copied


def test_a_notice_with_copies_comes_back_with_them_whole(repo: Repository) -> None:
    _, sub = _alice_and_her_subscription(repo)
    repo.commit(Commit(notices=[_with_copies(sub)]))
    (found,) = repo.due_notices(T0)
    assert found.contact == sub.contact
    assert found.subscription == sub
    assert found.subscription is not None and found.subscription.version == 1


def test_a_notice_stored_before_copies_were_carried_reads_without_them(
    repo: Repository,
) -> None:
    old = notice()  # the shape every notice had: no contact, no subscription
    repo.commit(Commit(notices=[old]))
    (found,) = repo.due_notices(T0)
    assert (found.contact, found.subscription) == (None, None)
    assert found.data == old.data


def _claim(repo: Repository, sub: Subscription, check: CopyCheck) -> Notice:
    claimed = _with_copies(sub)
    repo.commit(Commit(notices=[claimed]))
    stored = repo.get_notice(claimed.key)
    assert stored is not None
    stored.status = NoticeStatus.SENDING
    marker = Marker(f"email:{stored.key}", T0 + timedelta(days=400))
    repo.commit(Commit(notices=[stored], markers=[marker], copy_checks=[check]))
    return stored


def test_a_claim_whose_copies_hold_is_written(repo: Repository) -> None:

    alice, sub = _alice_and_her_subscription(repo)
    check = CopyCheck("alice", alice.contact, "sub-1", sub.version)
    claimed = _claim(repo, sub, check)
    stored = repo.get_notice(claimed.key)
    assert stored is not None and stored.status is NoticeStatus.SENDING
    assert repo.has_marker(f"email:{claimed.key}")


@pytest.mark.parametrize("stale", ["contact", "suppressed", "subscription", "no_customer"])
def test_a_claim_whose_copy_is_stale_writes_nothing_and_says_which(
    repo: Repository, stale: str
) -> None:
    from dataclasses import replace

    alice, sub = _alice_and_her_subscription(repo)
    contact, customer_id, version = alice.contact, "alice", sub.version
    if stale == "contact":
        contact = replace(contact, name="Alicia")
    elif stale == "suppressed":
        repo.suppress("ALICE@example.com", "bounce", T0)
    elif stale == "subscription":
        version += 1
    else:
        customer_id = "nobody"
    with pytest.raises(StaleCopyError) as raised:
        _claim(repo, sub, CopyCheck(customer_id, contact, "sub-1", version))
    assert raised.value.what == ("contact" if stale == "no_customer" else stale)
    stored = repo.get_notice("sub-1:upcoming_renewal:x:3")
    assert stored is not None and stored.status is NoticeStatus.SCHEDULED
    assert not repo.has_marker("email:sub-1:upcoming_renewal:x:3")


def test_a_claim_lost_to_another_run_is_told_before_a_stale_copy(repo: Repository) -> None:
    from dataclasses import replace

    alice, sub = _alice_and_her_subscription(repo)
    repo.commit(Commit(markers=[Marker("email:sub-1:upcoming_renewal:x:3", T0)]))
    stale = CopyCheck("alice", replace(alice.contact, locale="en"), "sub-1", sub.version)
    with pytest.raises(AlreadyExistsError):
        _claim(repo, sub, stale)


# -- receipts that carry their invoice -------------------------------------------------------
def _paid_invoice(repo: Repository) -> Invoice:
    """alice's paid invoice (with a line, a number and metadata), as stored (version 1)."""
    from tenure.domain.invoices import InvoiceLine, LineKind

    invoice = Invoice(
        id="inv-1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=30),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=InvoiceStatus.PAID,
        created_at=T0,
        paid_at=T0,
        number="INV-2026-000007",
        metadata={"provider_payment": "pi_1"},
    )
    repo.commit(Commit(invoices=[invoice]))
    stored = repo.get_invoice("inv-1")
    assert stored is not None and stored.version == 1
    return stored


def _receipt_with_copies(alice: Customer, invoice: Invoice) -> Notice:
    receipt = notice()
    receipt.contact, receipt.invoice = alice.contact, invoice_copy(invoice, invoice.version)
    return receipt


def test_a_receipt_with_its_invoice_comes_back_with_it_whole(repo: Repository) -> None:
    alice, _ = _alice_and_her_subscription(repo)
    invoice = _paid_invoice(repo)
    repo.commit(Commit(notices=[_receipt_with_copies(alice, invoice)]))
    (found,) = repo.due_notices(T0)
    assert found.contact == alice.contact
    assert found.invoice is not None and found.invoice.version == 1
    assert found.invoice.number == "INV-2026-000007" and found.invoice.lines == invoice.lines
    assert found.invoice.metadata == {}  # what no email shows is not copied
    assert found.invoice == invoice_copy(invoice, 1)


@pytest.mark.parametrize("credited", [0, 300])
def test_a_receipts_invoice_copy_comes_back_as_it_was_copied(
    repo: Repository, credited: int
) -> None:
    """Every field an invoice may hold, set or at its default, survives the notice's copy
    (which leaves out what reads back the same when absent)."""
    alice, _ = _alice_and_her_subscription(repo)
    invoice = _paid_invoice(repo)
    invoice.attempts, invoice.failures, invoice.disputed = 2, 1, True
    invoice.credit_notes, invoice.credited, invoice.refunds_credited = 1, credited, 0
    invoice.installment_plan_id, invoice.credit_due_at = "ipl-1", T0
    repo.commit(Commit(notices=[_receipt_with_copies(alice, invoice)]))
    (found,) = repo.due_notices(T0)
    assert found.invoice == invoice_copy(invoice, invoice.version)


def test_a_receipt_whose_invoice_copy_would_pass_a_write_unit_is_stored_without_it(
    local_stack: LocalStack,
) -> None:
    """DynamoDB bills a write by the started kilobyte, in the table and again in the due
    index: a long invoice is read when its receipt is sent rather than copied into it (the
    email is the same either way: tests/unit/services/test_receipt_copies.py)."""
    from tenure.domain.invoices import InvoiceLine, LineKind
    from tenure.store.dynamodb import DynamoRepository
    from tenure.store.sizes import WRITE_UNIT_BYTES, item_size

    local_stack.reset_table()
    client, table = local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"]
    repo = DynamoRepository(client, table)
    alice, _ = _alice_and_her_subscription(repo)
    short = _paid_invoice(repo)
    seats = [InvoiceLine(LineKind.PLAN, f"Seat {n} of the team plan", 1000) for n in range(12)]
    repo.commit(Commit(invoices=[replace(short, id="inv-2", lines=seats, version=0)]))
    long = repo.get_invoice("inv-2")
    assert long is not None
    for key, invoice in (("short:receipt:now:0", short), ("long:receipt:now:0", long)):
        receipt = _receipt_with_copies(alice, invoice)
        receipt.key = key
        repo.commit(Commit(notices=[receipt]))
    stored = {
        key: client.get_item(
            TableName=table, Key={"PK": {"S": f"NOTICE#{key}"}, "SK": {"S": "NOTICE"}}
        )["Item"]
        for key in ("short:receipt:now:0", "long:receipt:now:0")
    }
    assert "invoice" in stored["short:receipt:now:0"]
    assert item_size(stored["short:receipt:now:0"]) <= WRITE_UNIT_BYTES
    assert "invoice" not in stored["long:receipt:now:0"]
    assert item_size(stored["long:receipt:now:0"]) <= WRITE_UNIT_BYTES
    found = repo.get_notice("long:receipt:now:0")
    assert found is not None and found.invoice is None and found.contact == alice.contact


@pytest.mark.parametrize("stale", [None, "changed", "missing"])
def test_a_claim_checks_the_receipts_invoice_copy(repo: Repository, stale: str | None) -> None:
    alice, _ = _alice_and_her_subscription(repo)
    invoice = _paid_invoice(repo)
    receipt = _receipt_with_copies(alice, invoice)
    if stale == "changed":
        invoice.amount_refunded = 500
        repo.commit(Commit(invoices=[invoice]))  # version 2 now
    elif stale == "missing":
        receipt.invoice = invoice_copy_of_another(invoice)
    repo.commit(Commit(notices=[receipt]))
    stored = repo.get_notice(receipt.key)
    assert stored is not None and stored.invoice is not None
    stored.status = NoticeStatus.SENDING
    marker = Marker(f"email:{stored.key}", T0 + timedelta(days=400))
    check = CopyCheck("alice", alice.contact, invoice_id=stored.invoice.id, invoice_version=1)
    claim = Commit(notices=[stored], markers=[marker], copy_checks=[check])
    if stale is None:
        repo.commit(claim)
        assert repo.has_marker(f"email:{stored.key}")
        return
    with pytest.raises(StaleCopyError) as raised:
        repo.commit(claim)
    assert raised.value.what == "invoice"
    assert not repo.has_marker(f"email:{stored.key}")
    after = repo.get_notice(receipt.key)
    assert after is not None and after.status is NoticeStatus.SCHEDULED


def invoice_copy_of_another(invoice: Invoice) -> Invoice:
    """A copy naming an invoice the store does not hold."""
    from dataclasses import replace

    return invoice_copy(replace(invoice, id="inv-gone"), 1)


# -- the record of late invoices -------------------------------------------------------------
def _invoice(n: int, failures: int = 0, customer: str = "alice") -> Invoice:
    start = T0 + timedelta(days=30 * n)
    return Invoice(
        id=f"inv-{customer}-{n}",
        subscription_id="sub-1",
        customer_id=customer,
        kind=InvoiceKind.RENEWAL,
        period_start=start,
        period_end=start + timedelta(days=30),
        currency="USD",
        lines=[],
        status=InvoiceStatus.OPEN,
        created_at=start,
        failures=failures,
    )


def test_late_invoices_are_recorded_per_customer_each_once(repo: Repository) -> None:
    on_time, late, written_off = _invoice(0), _invoice(1, failures=1), _invoice(2)
    written_off.mark_uncollectible()
    repo.commit(Commit(invoices=[on_time, late, written_off, _invoice(0, 2, customer="ben")]))
    late.failures = 2
    repo.commit(Commit(invoices=[late]))  # written again, still late: recorded once
    assert repo.late_invoices("alice") == [
        (late.period_start, late.id),
        (written_off.period_start, written_off.id),
    ]
    assert repo.late_invoices("ben") == [(T0, "inv-ben-0")]
    assert repo.late_invoices("carol") == []


@pytest.mark.parametrize(("late", "refused"), [(0, False), (1, False), (2, True), (3, True)])
def test_a_claim_checking_for_a_late_payer_fails_from_as_many_late_invoices(
    repo: Repository, late: int, refused: bool
) -> None:
    alice, sub = _alice_and_her_subscription(repo)
    if late:
        repo.commit(Commit(invoices=[_invoice(n, failures=1) for n in range(late)]))
    check = CopyCheck("alice", alice.contact, "sub-1", sub.version, late_under=2)
    if not refused:
        _claim(repo, sub, check)
        assert repo.has_marker("email:sub-1:upcoming_renewal:x:3")
        return
    with pytest.raises(StaleCopyError) as raised:
        _claim(repo, sub, check)
    assert raised.value.what == "late_payments"
    assert not repo.has_marker("email:sub-1:upcoming_renewal:x:3")


def test_shards_holding_more_than_their_share_fill_the_limit_so_fewer_means_none_left(
    repo: Repository,
) -> None:
    # 40 notices over 8 shards: a limit of 16 gives each shard a share of 2, and the
    # shards with more than 2 due fill what the others left.
    keys = [f"sub-{n}:receipt:now:0" for n in range(40)]
    repo.commit(Commit(notices=[notice(key, T0) for key in keys]))
    assert len(repo.due_notices(T0, limit=16)) == 16
    assert len(repo.due_notices(T0, limit=37)) == 37
    everything = repo.due_notices(T0, limit=41)
    assert sorted(n.key for n in everything) == sorted(keys)


# -- many claims at once --------------------------------------------------------------------
def _claims(repo: Repository, keys: list[str], checks: list[CopyCheck | None]) -> list[Commit]:
    repo.commit(Commit(notices=[notice(key) for key in keys]))
    changes = []
    for key, check in zip(keys, checks, strict=True):
        stored = repo.get_notice(key)
        assert stored is not None
        stored.status = NoticeStatus.SENDING
        marker = Marker(f"email:{key}", T0 + timedelta(days=400))
        copy_checks = [check] if check is not None else []
        changes.append(Commit(notices=[stored], markers=[marker], copy_checks=copy_checks))
    return changes


def test_claims_made_together_each_hold_or_fail_on_their_own(repo: Repository) -> None:
    from dataclasses import replace

    alice, sub = _alice_and_her_subscription(repo)
    holds = CopyCheck("alice", alice.contact, "sub-1", sub.version)
    stale = replace(holds, contact=replace(alice.contact, name="Alicia"))
    keys = ["a:receipt:x:0", "b:receipt:x:0", "c:receipt:x:0", "d:receipt:x:0", "e:receipt:x:0"]
    changes = _claims(repo, keys, [None, stale, holds, None, holds])
    repo.commit(Commit(markers=[Marker("email:d:receipt:x:0", T0)]))  # claimed by another run

    results = repo.commit_each(changes)

    assert [type(r).__name__ for r in results] == [
        "NoneType",
        "StaleCopyError",
        "NoneType",
        "AlreadyExistsError",
        "NoneType",
    ]
    assert isinstance(results[1], StaleCopyError) and results[1].what == "contact"
    for key, claimed in zip(keys, (True, False, True, False, True), strict=True):
        stored = repo.get_notice(key)
        assert stored is not None
        expected = NoticeStatus.SENDING if claimed else NoticeStatus.SCHEDULED
        assert stored.status is expected, key
    assert [c.notices[0].version for c in changes] == [2, 1, 2, 1, 2]
    assert not repo.has_marker("email:b:receipt:x:0")


def test_a_claim_made_again_with_the_others_loses_to_the_first(repo: Repository) -> None:
    (first,) = _claims(repo, ["a:receipt:x:0"], [None])
    (again,) = _claims(repo, ["b:receipt:x:0"], [None])
    assert repo.commit_each([first]) == [None]
    stale_copy = repo.get_notice("a:receipt:x:0")
    assert stale_copy is not None
    stale_copy.version -= 1  # as read before the first claim
    results = repo.commit_each([Commit(notices=[stale_copy]), again])
    assert isinstance(results[0], ConcurrencyError) and results[1] is None


def test_claims_of_one_customer_checked_on_the_same_items_are_all_made(
    repo: Repository,
) -> None:
    alice, sub = _alice_and_her_subscription(repo)
    holds = CopyCheck("alice", alice.contact, "sub-1", sub.version)
    keys = [f"n{n}:receipt:x:0" for n in range(20)]  # 20 × 5 items: more than one transaction
    changes = _claims(repo, keys, [holds] * len(keys))
    assert repo.commit_each(changes) == [None] * len(keys)
    assert all(repo.has_marker(f"email:{key}") for key in keys)
