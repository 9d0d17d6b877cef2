"""Reminder emails of trials without a card: asked for one before the trial ends, the
card-required email when it converts without one, and the collections case it can end in."""

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from conftest import Shop
from test_reminders import REAL, RecordingMailer, run, text_of

from tenure.domain.notices import NoticeKind, NoticeStatus


# -- trials without a card ----------------------------------------------------------------------
def trial_ending_text(shop: Shop) -> str:
    """The text of the one trial-ending email sent by day 12 of a 14-day trial."""
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=12), mailer, REAL)
    (trial,) = mailer.of(NoticeKind.TRIAL_ENDING)
    return text_of(trial.message)


def test_a_trial_with_a_card_is_told_which_card_will_be_charged(card_trial: Shop) -> None:
    shop = card_trial
    text = trial_ending_text(shop)

    assert "to your Visa card ending 4242." in text
    assert "add a card by" not in text


def test_a_trial_without_a_card_is_asked_to_add_one_by_the_trials_end(cardless_trial: Shop) -> None:
    shop = cardless_trial
    text = trial_ending_text(shop)

    assert "add a card by" in text and "to your card" not in text
    assert "Add a card: https://pages.test/update_card/alice/alice/" in text


def test_a_card_added_during_a_card_less_trial_is_the_card_its_ending_email_names(
    cardless_trial: Shop,
) -> None:
    shop = cardless_trial
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.TRIAL_ENDING]
    assert notice.data["card_on_file"] is False and notice.subscription is not None
    shop.clock.set(shop.start + timedelta(days=5))
    shop.add_card("5555555555554444")
    text = trial_ending_text(shop)

    assert "to your Mastercard card ending 4444." in text
    assert "add a card by" not in text


def test_a_trial_that_converts_without_a_card_sends_one_card_required_email_with_the_link(
    cardless_trial: Shop,
) -> None:
    shop = cardless_trial
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=16), mailer, REAL)

    (first,) = shop.invoices()
    assert first.attempts == 0 and first.dunning_ends_at is not None
    (required,) = mailer.of(NoticeKind.CARD_REQUIRED)
    text = text_of(required.message)
    assert "no card on file to pay $10.00" in text
    assert "Add a card: https://pages.test/update_card/alice/alice/" in text
    key = f"{first.id}:card_required:now:0"
    assert required.message["X-Tenure-Notice"] == key
    # Planned again (the same commit replayed): still owed once, and sent once.
    run(shop, shop.start + timedelta(days=30), mailer, REAL)
    assert len(mailer.of(NoticeKind.CARD_REQUIRED)) == 1


def test_a_card_added_before_the_card_required_email_goes_out_skips_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    mailer = RecordingMailer()
    _converted_without_a_card(shop)  # no reminders run has sent anything yet
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.CARD_REQUIRED]
    shop.add_card("4242424242424242")
    run(shop, notice.due_at + timedelta(hours=1), mailer, REAL)

    (first,) = shop.invoices()
    assert first.status.value == "paid"
    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    stored = shop.repo.get_notice(notice.key)
    assert stored is not None and stored.status is NoticeStatus.SKIPPED


def test_a_card_required_email_still_unsent_at_the_deadline_is_skipped(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    dunning_ended = _unpaid_with_a_case(shop)  # dunning ends: the subscription is unpaid
    mailer = RecordingMailer()
    run(shop, dunning_ended + timedelta(hours=1), mailer, REAL)

    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.CARD_REQUIRED]
    assert notice.status is NoticeStatus.SKIPPED and notice.reason == "deadline_passed"


def test_a_trial_that_converts_with_a_card_sends_no_card_required_email(card_trial: Shop) -> None:
    shop = card_trial
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=16), mailer, REAL)

    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    assert [s.kind for s in mailer.sent] == ["trial_ending", "receipt"]


def test_a_trial_ending_notice_planned_before_cards_were_recorded_keeps_its_old_words(
    card_trial: Shop,
) -> None:
    shop = card_trial
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.TRIAL_ENDING]
    notice.data = {"trial_end": notice.data["trial_end"], "zone": notice.data["zone"]}
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=12), mailer, REAL)

    (trial,) = mailer.of(NoticeKind.TRIAL_ENDING)
    assert "we will charge $10.00 to your card." in text_of(trial.message)


# -- collections ------------------------------------------------------------------------------
def _converted_without_a_card(shop: Shop) -> None:
    """A card-less trial, worked up to the moment it converts."""
    shop.subscribe("basic-trial")
    trial_end = shop.sub().trial_end
    assert trial_end is not None
    shop.clock.set(trial_end)
    shop.run_due(trial_end)


def _unpaid_with_a_case(shop: Shop) -> datetime:
    """A card-less trial that converts and runs through dunning to unpaid: its case opens.
    Returns when dunning ended."""
    _converted_without_a_card(shop)
    (first,) = shop.invoices()
    assert first.dunning_ends_at is not None
    shop.clock.set(first.dunning_ends_at)
    shop.run_due(first.dunning_ends_at)
    return first.dunning_ends_at


def test_a_case_that_opens_sends_one_collections_email_with_every_line_and_the_link(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    opened = _unpaid_with_a_case(shop)
    (case,) = shop.repo.list_collection_cases("alice")
    mailer = RecordingMailer()
    run(shop, opened + timedelta(days=1), mailer, REAL)

    (sent,) = mailer.of(NoticeKind.COLLECTIONS_OPENED)
    text = text_of(sent.message)
    assert "The balance is $10.00." in text
    # The line as a receipt words it: the plan and the period it paid for.
    assert re.search(r"^  Basic, March 16\W+April 16, 2026: \$10\.00$", text, re.MULTILINE)
    assert f"https://pages.test/collections/alice/{case.id}/" in text
    assert sent.message["X-Tenure-Notice"] == f"{case.id}:collections_opened:now:0"
    run(shop, opened + timedelta(days=3), mailer, REAL)
    assert len(mailer.of(NoticeKind.COLLECTIONS_OPENED)) == 1


def test_a_plan_chosen_before_the_collections_email_goes_out_skips_it(
    make_shop: Callable[..., Shop],
) -> None:
    from tenure.services import collections

    shop = make_shop()
    opened = _unpaid_with_a_case(shop)
    (case,) = shop.repo.list_collection_cases("alice")
    collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    mailer = RecordingMailer()
    run(shop, opened + timedelta(hours=1), mailer, REAL)

    assert mailer.of(NoticeKind.COLLECTIONS_OPENED) == []
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.COLLECTIONS_OPENED]
    assert notice.status is NoticeStatus.SKIPPED and notice.reason == "case_in_plan"
