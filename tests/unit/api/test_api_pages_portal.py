"""The customer portal's subscription page beyond cancelling: a pause of one to three months
with the dates it ends on, resumed early at will. Each refused form is a page that says why
and changes nothing."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    Pages,
    manage,
    pages,
    subscribed,
)

from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify import pages as page_strings
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import self_service, subscriptions
from tenure.services.due import work_due
from tenure.services.self_service import LinkUse

SUB = "/pages/subscription"


# -- pausing for months ---------------------------------------------------------------------------
def test_the_page_offers_a_pause_of_one_to_three_months_with_the_day_each_resumes(
    subscribed: Pages,
) -> None:
    text = subscribed.open(SUB, manage(subscribed)).text

    assert "<legend>Pause for how long?</legend>" in text
    assert '<label for="pause-1">1 month, resuming on May 1, 2026</label>' in text
    assert '<label for="pause-2">2 months, resuming on June 1, 2026</label>' in text
    assert '<label for="pause-3">3 months, resuming on July 1, 2026</label>' in text
    assert 'id="pause-1" aria-describedby="pause-explain" required checked>' in text


@pytest.mark.parametrize(
    ("months", "until"),
    [("1", datetime(2026, 5, 1, tzinfo=UTC)), ("3", datetime(2026, 7, 1, tzinfo=UTC))],
)
def test_a_pause_for_the_chosen_months_ends_on_the_day_the_page_showed(
    subscribed: Pages, months: str, until: datetime
) -> None:
    reply = subscribed.submit(SUB, manage(subscribed), action="pause", months=months)

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.status is SubscriptionStatus.PAUSED and sub.paused_until == until
    shown = f"{until:%B} {until.day}, {until.year}"
    assert f"Paused until {shown}." in reply.text
    assert 'value="keep"' in reply.text  # "Resume now"
    assert 'id="pause-form"' not in reply.text


def test_a_paused_subscription_resumes_early_from_the_page(subscribed: Pages) -> None:
    token = manage(subscribed)
    subscribed.submit(SUB, token, action="pause", months="2")

    reply = subscribed.submit(SUB, token, action="keep")

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.status is SubscriptionStatus.ACTIVE and sub.paused_until is None


def test_a_month_pause_follows_the_api_pause_rules_on_an_ended_subscription(
    subscribed: Pages,
) -> None:
    subscriptions.cancel(subscribed.svc, "sub-alice", at_period_end=False, reason="other")
    token = manage(subscribed)
    assert 'id="pause-form"' not in subscribed.open(SUB, token).text
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, action="pause", months="1")

    assert reply.status == 409 and "cannot be done now" in reply.text
    assert subscribed.api.state() == before


@pytest.mark.parametrize(
    "months",
    ["0", "4", "-1", "", " 2", "02", "2.0", "٢", "２", "9" * 400, "1e1", "two"],
)
def test_a_pause_length_the_page_does_not_offer_is_refused_and_changes_nothing(
    subscribed: Pages, months: str
) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, action="pause", months=months)

    assert reply.status == 422, reply.text
    assert "Choose a pause of 1, 2 or 3 months. Nothing was changed." in reply.text
    assert subscribed.api.state() == before


def test_the_pause_choices_read_in_arabic_right_to_left(subscribed: Pages) -> None:
    subscribed.api.customer("bob", locale="ar")
    subscribed.card("bob", "pm_card_visa")
    subscribed.api.subscription("sub-bob", customer="bob")

    text = subscribed.open(
        SUB, subscribed.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", customer="bob")
    ).text

    assert 'dir="rtl"' in text and "ما مدة الإيقاف المؤقت؟" in text
    assert "شهران، ويُستأنف في" in text


@pytest.mark.parametrize("months", [0, 4, 12])
def test_the_service_refuses_a_pause_the_page_does_not_offer_before_reading_anything(
    subscribed: Pages, months: int
) -> None:
    before = subscribed.api.state()
    link = LinkUse("some-link", datetime(2026, 5, 1, tzinfo=UTC))

    with pytest.raises(ValidationFailedError, match="1 to 3 months"):
        self_service.change_subscription(
            subscribed.svc, "alice", "sub-alice", "pause", link, months=months
        )

    assert subscribed.api.state() == before


# -- changing plan after reading the preview --------------------------------------------------
@pytest.fixture
def plans(subscribed: Pages) -> Pages:
    """Alice on Basic ($10 a month) halfway through April, with Pro ($20), Lite ($4) and a
    euro plan in the catalog."""
    subscribed.api.plan("pro", 2000, name="Pro")
    subscribed.api.plan("lite", 400, name="Lite")
    subscribed.api.plan("euro", 1500, name="Euro", currency="EUR")
    subscribed.api.clock.advance(timedelta(days=15))
    return subscribed


def preview(pages: Pages, token: str, plan: str) -> Any:
    return pages.submit(SUB, token, action="preview_plan", plan=plan)


def test_the_page_lists_the_plans_to_switch_to_with_their_prices(plans: Pages) -> None:
    text = plans.open(SUB, manage(plans)).text

    assert "<legend>Change plan</legend>" in text
    assert '<label for="plan-pro">Pro: $20.00 every month</label>' in text
    assert '<label for="plan-lite">Lite: $4.00 every month</label>' in text
    assert 'id="plan-basic"' not in text  # the current plan
    assert 'id="plan-euro"' not in text  # another currency


def test_the_preview_of_an_upgrade_shows_the_charge_and_changes_nothing(plans: Pages) -> None:
    before = plans.api.state()

    reply = preview(plans, manage(plans), "pro")

    assert reply.status == 200, reply.text
    assert "Switching to Pro" in reply.text
    # Half of April is left: $10 of Pro's time less $5 of Basic's unused time.
    assert '<li id="preview-charge">$5.00 is charged now (April 16, 2026)' in reply.text
    assert "Then $20.00 every month; your next renewal is on May 1, 2026." in reply.text
    assert 'name="plan" value="pro"' in reply.text and 'id="confirm_plan"' in reply.text
    assert plans.api.state() == before


def test_confirming_charges_exactly_what_the_preview_showed(plans: Pages) -> None:
    token = manage(plans)
    shown = preview(plans, token, "pro").text
    charged = re.search(r'<li id="preview-charge">(\$[\d.]+) is charged', shown)
    assert charged is not None

    reply = plans.submit(SUB, token, action="change_plan", plan="pro")

    assert reply.status == 200, reply.text
    assert "Done: your plan is now Pro." in reply.text
    api_view = plans.api.get("/v1/subscriptions/sub-alice").json
    assert api_view["plan"] == "pro"
    (proration,) = [i for i in plans.api.repo.list_invoices("sub-alice") if i.kind == "proration"]
    assert proration.status is InvoiceStatus.PAID
    assert f"${proration.total / 100:.2f}" == charged.group(1) == "$5.00"


def test_the_preview_of_a_downgrade_shows_the_credit_the_change_then_keeps(plans: Pages) -> None:
    token = manage(plans)
    shown = preview(plans, token, "lite").text
    assert "$3.00 is kept as a credit and taken off your next invoice on May 1, 2026." in shown
    assert 'id="preview-charge"' not in shown

    plans.submit(SUB, token, action="change_plan", plan="lite")

    sub = plans.subscription("sub-alice")
    assert sub.plan_id == "lite" and sub.credit == 300


def test_a_double_submitted_plan_change_changes_and_charges_once(plans: Pages) -> None:
    token = manage(plans)
    form_token = plans.form_token(SUB, token)

    first = plans.submit(SUB, token, form_token, action="change_plan", plan="pro")
    again = plans.submit(SUB, token, form_token, action="change_plan", plan="pro")

    assert first.status == 200 and again.status == 200
    assert "Done: your plan is now Pro." in again.text
    kinds = [i.kind for i in plans.api.repo.list_invoices("sub-alice")]
    assert kinds.count("proration") == 1


@pytest.mark.parametrize("action", ["preview_plan", "change_plan"])
@pytest.mark.parametrize(
    "plan", ["euro", "no-such-plan", "", "PRO", "pro ", "p" * 3000, "<script>"]
)
def test_a_plan_the_page_does_not_offer_is_refused_and_changes_nothing(
    plans: Pages, action: str, plan: str
) -> None:
    before = plans.api.state()

    reply = plans.submit(SUB, manage(plans), action=action, plan=plan)

    assert reply.status in (413, 422), reply.text
    if reply.status == 422:
        assert "Choose one of the plans listed. Nothing was changed." in reply.text
        assert "<script>" not in reply.text
    assert plans.api.state() == before


def test_the_current_plan_is_not_previewed_and_choosing_it_again_changes_nothing(
    plans: Pages,
) -> None:
    token = manage(plans)
    before = plans.api.state()

    previewed = preview(plans, token, "basic")
    chosen = plans.submit(SUB, token, action="change_plan", plan="basic")

    assert previewed.status == 422 and "Choose one of the plans listed." in previewed.text
    assert chosen.status == 200 and "your plan is now Basic" in chosen.text  # as it was
    assert plans.api.state() == before


def test_a_canceling_subscription_is_offered_no_plan_change_and_refuses_one(
    plans: Pages,
) -> None:
    token = manage(plans)
    plans.submit(SUB, token, action="cancel", reason="too_expensive")
    assert 'id="plan-form"' not in plans.open(SUB, token).text
    before = plans.api.state()

    reply = plans.submit(SUB, token, action="change_plan", plan="pro")

    assert reply.status == 409 and "cannot be done now" in reply.text
    assert plans.api.state() == before


def test_the_preview_reads_in_arabic_with_money_as_the_emails_write_it(plans: Pages) -> None:
    plans.api.customer("bob", locale="ar")
    plans.card("bob", "pm_card_visa")
    plans.api.subscription("sub-bob", customer="bob")
    token = plans.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", customer="bob")

    reply = preview(plans, token, "pro")

    assert reply.status == 200 and 'dir="rtl"' in reply.text
    assert "الانتقال إلى Pro" in reply.text
    assert page_strings.money(2000, "USD", "ar") in reply.text


# -- invoices -----------------------------------------------------------------------------------
INVOICE_LINK = re.compile(
    r'href="/pages/invoice\?t=([^"&]+)&amp;invoice=([^"]+)" id="invoice-1">([^<]+)<'
)


def open_invoice(pages: Pages, token: str, invoice_id: str) -> Any:
    return pages.api.call(
        "GET", "/pages/invoice", query={"t": token, "invoice": invoice_id}, token=None
    )


def test_the_page_lists_the_customers_invoices_each_with_a_link_to_it(plans: Pages) -> None:
    token = manage(plans)
    plans.submit(SUB, token, action="change_plan", plan="pro")

    text = plans.open(SUB, token).text

    assert '<h2 id="invoices-heading">Your invoices</h2>' in text
    found = INVOICE_LINK.search(text)
    assert found is not None and found.group(1) == token
    newest = found.group(2)
    assert newest == "in_sub-alice_proration_20260416T000000Z_v2"
    proration = plans.api.repo.get_invoice(newest)
    assert proration is not None
    assert found.group(3) == page_strings.invoice_name(proration, "en")  # never by its id
    assert found.group(3).startswith("Pro, April 16")
    assert text.count('href="/pages/invoice?') == 2


def test_an_invoice_opens_as_a_printable_receipt_in_the_emails_words(plans: Pages) -> None:
    token = manage(plans)
    (first,) = plans.api.repo.list_invoices("sub-alice")

    reply = open_invoice(plans, token, first.id)

    assert reply.status == 200, reply.text
    assert reply.headers["Cache-Control"] == "no-store"
    named = page_strings.invoice_name(first, "en")
    assert named.startswith("Basic, April 1")
    assert f'<td>{named}</td><td class="amount">$10.00</td>' in reply.text
    assert '<td class="amount" id="invoice-total"><strong>$10.00</strong></td>' in reply.text
    assert "Paid on" in reply.text and 'id="print"' in reply.text
    assert first.id not in reply.text.replace(f"invoice={first.id}", "")
    assert "<script nonce=" in reply.text and "https://" not in reply.text


def test_an_invoice_shows_its_legal_number_on_its_page_and_in_the_list(plans: Pages) -> None:
    token = manage(plans)
    (first,) = plans.api.repo.list_invoices("sub-alice")
    assert first.number is not None

    page = open_invoice(plans, token, first.id).text
    listing = plans.open(SUB, token).text

    assert f'<dd id="invoice-number" dir="ltr">{first.number}</dd>' in page
    assert f'<span class="muted" dir="ltr">{first.number}</span>' in listing


def test_an_invoice_reads_in_arabic_right_to_left(plans: Pages) -> None:
    plans.api.customer("bob", locale="ar")
    plans.card("bob", "pm_card_visa")
    plans.api.subscription("sub-bob", customer="bob")
    token = plans.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", customer="bob")
    (invoice,) = plans.api.repo.list_invoices("sub-bob")

    reply = open_invoice(plans, token, invoice.id)

    assert reply.status == 200 and 'dir="rtl"' in reply.text
    assert "الإجمالي" in reply.text and page_strings.money(1000, "USD", "ar") in reply.text


def test_another_customers_invoice_is_a_404_that_shows_nothing_of_it(plans: Pages) -> None:
    plans.api.customer("bob")
    plans.card("bob", "pm_card_visa")
    plans.api.subscription("sub-bob", customer="bob")
    (bobs,) = plans.api.repo.list_invoices("sub-bob")
    before = plans.api.state()

    for asked in (bobs.id, "no-such-invoice", "", "../" * 40, "in_sub-alice" + "x" * 2000):
        reply = open_invoice(plans, manage(plans), asked)

        assert reply.status == 404, asked
        assert "We cannot find this invoice" in reply.text
        # Without the page's random CSP nonce, which may spell "bob" by chance.
        shown = re.sub(r'nonce="[^"]*"', "", reply.text)
        assert "$10.00" not in shown and "bob" not in shown
    assert plans.api.state() == before


def test_an_invoice_link_needs_a_valid_link_of_its_own_customer(plans: Pages) -> None:
    (alices,) = plans.api.repo.list_invoices("sub-alice")
    plans.api.customer("bob")
    bobs_link_to_alice = plans.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", customer="bob")
    card_link = plans.link(LinkPurpose.UPDATE_CARD, "alice")
    expired = plans.link(
        LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", expires_in=timedelta(seconds=-1)
    )
    good = manage(plans)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")

    assert open_invoice(plans, bobs_link_to_alice, alices.id).status == 403
    assert open_invoice(plans, card_link, alices.id).status == 403
    assert open_invoice(plans, tampered, alices.id).status == 403
    assert open_invoice(plans, expired, alices.id).status == 410
    assert open_invoice(plans, good, alices.id).status == 200


# -- as an attacker would -------------------------------------------------------------------------
HOSTILE = [
    {"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    {"origin": "https://evil.example", "sec-fetch-site": None},
    {"origin": "null", "sec-fetch-site": "cross-site"},
]


@pytest.mark.parametrize("headers", HOSTILE)
@pytest.mark.parametrize(
    "fields",
    [
        {"action": "pause", "months": "3"},
        {"action": "preview_plan", "plan": "pro"},
        {"action": "change_plan", "plan": "pro"},
    ],
)
def test_a_cross_site_post_of_the_new_forms_is_refused_and_changes_nothing(
    plans: Pages, headers: dict[str, str | None], fields: dict[str, str]
) -> None:
    before = plans.api.state()

    reply = plans.submit(SUB, manage(plans), headers=headers, **fields)  # type: ignore[arg-type]

    assert reply.status == 403 and "This form cannot be accepted" in reply.text
    assert plans.api.state() == before


def test_a_form_repeating_the_plan_or_months_field_is_refused_and_changes_nothing(
    plans: Pages,
) -> None:
    token = manage(plans)
    form_token = plans.form_token(SUB, token)
    before = plans.api.state()
    bodies = [
        f"t={token}&f={form_token}&action=change_plan&plan=lite&plan=pro",
        f"t={token}&f={form_token}&action=pause&months=1&months=3",
        f"t={token}&f={form_token}&action=change_plan&plan=pro" + "&x=1" * 20,
    ]

    replies = [plans.post_raw(SUB, body) for body in bodies]

    assert [r.status for r in replies] == [400, 400, 400]
    assert plans.api.state() == before


def test_a_form_without_its_form_token_cannot_change_the_plan(plans: Pages) -> None:
    before = plans.api.state()

    reply = plans.post_raw(SUB, f"t={manage(plans)}&action=change_plan&plan=pro")

    assert reply.status == 403
    assert plans.subscription("sub-alice").plan_id == "basic"
    assert plans.api.state() == before


# -- contrast -----------------------------------------------------------------------------------
def luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fore: str, back: str) -> float:
    light, dark = sorted((luminance(fore), luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_page_colours_meet_wcag_aa_contrast_for_text(plans: Pages) -> None:
    css = plans.open(SUB, manage(plans)).text
    colours = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6})", css))
    pairs = [
        (colours["ink"], "#ffffff"),  # body text
        (colours["muted"], "#ffffff"),  # labels, the pause explanation
        (colours["accent"], "#ffffff"),  # links
        ("#ffffff", colours["accent"]),  # primary buttons
        (colours["ink"], "#e9edf3"),  # secondary buttons
        (colours["ok"], "#e7f6ee"),  # a done notice
        (colours["bad"], "#fdecea"),  # a refusal notice
    ]

    for fore, back in pairs:
        assert contrast(fore, back) >= 4.5, (fore, back)
    assert "#e9edf3" in css and "#e7f6ee" in css and "#fdecea" in css


def test_the_invoice_list_holds_instalments_named_by_their_line(plans: Pages) -> None:
    body = {"id": "ipl-1", "amount": 3000, "currency": "USD", "count": 3, "every": "month"}
    made = plans.api.post("/v1/customers/alice/installment-plans", body | {"description": "Desk"})
    assert made.status == 201, made.text
    for item in plans.api.repo.due(plans.api.clock.now()):
        work_due(plans.svc, item)  # the first instalment falls due now: invoiced and charged
    token = manage(plans)

    text = plans.open(SUB, token).text
    reply = open_invoice(plans, token, "in_ipl-1_installment_01")

    assert ">Instalment 1 of 3: Desk</a>" in text
    assert reply.status == 200 and '<dd id="invoice-status">Paid</dd>' in reply.text
    assert "<strong>$10.00</strong>" in reply.text
