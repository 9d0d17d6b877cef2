"""What a card update reads (cards.update_payment_method): the customer once, its
subscriptions listed once per commit, however often the commit saves the customer's payment
details, and still every invoice owed retried at once."""

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.ports import Commit
from tenure.services import catalog

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
GENERIC_DECLINE = "4000000000000002"


def counting_reads(shop: Any) -> Counter[str]:
    """Counts the shop's repository reads of customers and customers' subscriptions."""
    counts: Counter[str] = Counter()
    for name in ("get_customer", "list_subscriptions"):
        real = getattr(shop.repo, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _real(*args, **kwargs)

        setattr(shop.repo, name, counted)
    return counts


def test_a_first_card_reads_the_customer_once_and_lists_its_subscriptions_once(
    make_shop: Callable[..., Any],
) -> None:
    # A card-less trial: the first card makes the provider customer and attaches the card in
    # one commit, which saves the payer twice; each save used to list the subscriptions again,
    # and the card's default was read back after the commit.
    shop = make_shop()
    shop.subscribe("basic-trial")
    reads = counting_reads(shop)

    shop.add_card(VISA)

    assert reads == {"get_customer": 1, "list_subscriptions": 1}
    assert shop.sub().payer.payment_method is not None
    assert shop.repo.get_customer("alice").default_payment_method == shop.sub().payer.payment_method


def test_a_new_default_card_still_retries_the_declined_invoice_from_the_listing(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined on alice's card
    shop = make_shop()
    renewed_at = shop.renewal_declined(GENERIC_DECLINE)
    invoice = shop.invoice_starting(renewed_at)
    assert shop.invoice(invoice.id).status is InvoiceStatus.OPEN
    shop.clock.set(renewed_at + timedelta(hours=5))
    reads = counting_reads(shop)
    # When she gives a new card, made her default
    shop.add_card(MASTERCARD)
    # Then the invoice is paid at once, the subscriptions listed once for both the card's
    # commit and the retry
    assert shop.invoice(invoice.id).status is InvoiceStatus.PAID
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    assert reads["list_subscriptions"] == 1


def test_saving_the_same_payer_twice_in_one_change_lists_once(
    make_shop: Callable[..., Any],
) -> None:
    shop = make_shop()
    shop.subscribe("basic-trial")
    reads = counting_reads(shop)
    customer = shop.repo.get_customer("alice")
    change = Commit()

    catalog.save_payer(shop.svc, customer, change)
    catalog.save_payer(shop.svc, customer, change)
    catalog.save_payer(shop.svc, customer, Commit())  # another change lists for itself

    assert reads["list_subscriptions"] == 2
    assert [sub.id for sub in change.subscriptions_read["alice"]] == ["sub-1"]
