"""Notices on both repositories: planned writes never fail, due ones come back whole, claims
hold, and the renewals scheduler never sees an email."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.errors import AlreadyExistsError, ConcurrencyError
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.fakes import InMemoryRepository
from tenure.ports import Commit, Marker, Repository
from tenure.store.dynamodb import DynamoRepository

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield InMemoryRepository()
        return
    stack = request.getfixturevalue("local_stack")
    stack.reset_table()
    yield DynamoRepository(stack.dynamodb_client(), stack.env["TABLE_NAME"])


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
