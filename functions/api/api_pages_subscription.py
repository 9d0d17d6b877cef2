"""The subscription page (signed link from an email): pause, cancel (with the offers that
might keep the customer), resume, change plan, seats or add-ons, redeem points."""

from api_pages_visit import FormFieldRefused, Visit, outcome_of, page_route, refusal_text
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.offers import EXIT_REASONS
from tenure.domain.plans import Plan
from tenure.domain.pricing import MAX_QUANTITY, Item, Items
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify import pages
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import self_service
from tenure.services.self_service import LinkAlreadyUsedError

router = APIGatewayHttpRouter()
route = page_route(router)


# The customer's own words about leaving, with the "other" reason: shorter than the API's
# offers.REASON_TEXT_MAX, so that the whole form, percent-encoded Arabic or Cyrillic (6 bytes
# a letter), stays under MAX_FORM_BYTES.
PAGE_REASON_TEXT_MAX = 500
# A points count the form takes: ASCII digits only (int() would also read Arabic-Indic and
# other Unicode digits, which no browser's number field sends), at most nine of them.
MAX_POINTS_DIGITS = 9


# -- the subscription ---------------------------------------------------------------------------
_DONE = {
    "pause": "paused_done",
    "cancel": "cancel_done",
    "keep": "keep_done",
    "accept_offer": "offer_done",
    "decline_offers": "cancel_done",
}
# The actions that cancel, and so carry the exit reason the customer picked.
_CANCELLING = ("cancel", "decline_offers")


@route("GET", "/pages/subscription", LinkPurpose.MANAGE_SUBSCRIPTION)
def _show_subscription(visit: Visit) -> Response[str]:
    return _subscription(visit, 200, _subscription_now(visit))


def _subscription_now(visit: Visit) -> self_service.SubscriptionPage:
    """The link's subscription page as it stands now (after a refusal: as it was)."""
    claims = visit.claims
    return self_service.load_subscription_page(
        visit.svc, claims.customer_id, claims.subject, visit.link
    )


def _subscription_refused(visit: Visit, status: int, text: str) -> Response[str]:
    """The subscription page as it stands, saying why the form changed nothing."""
    return _subscription(visit, status, _subscription_now(visit), outcome_of("bad", text))


@route("POST", "/pages/subscription", LinkPurpose.MANAGE_SUBSCRIPTION)
def _change_subscription(visit: Visit) -> Response[str]:
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    action = visit.form.get("action", "")
    if action == "redeem_points":
        return _redeem_points(visit)
    if action in ("preview_plan", "change_plan"):
        return _switch_plan(visit, action)
    if action in ("preview_items", "change_items"):
        return _switch_items(visit, action)
    reason, reason_text, months = None, None, None
    try:
        if action in _CANCELLING:
            reason, reason_text = _exit_reason(visit.form)
        if action == "pause":
            months = _pause_months(visit.form)
        view = self_service.change_subscription(
            visit.svc,
            customer_id,
            subscription_id,
            action,
            visit.link,
            visit.form.get("offer"),
            reason=reason,
            reason_text=reason_text,
            months=months,
        )
    except FormFieldRefused as refused:
        return _subscription_refused(visit, 422, visit.text(refused.key, **refused.values))
    except LinkAlreadyUsedError as exc:
        return _subscription_refused(visit, 409, visit.text(f"link_used_{exc.action}"))
    except (IllegalTransitionError, ValidationFailedError, NotFoundError) as exc:
        return _subscription_refused(visit, 409, refusal_text(visit, exc))
    if view.offers:
        intro = outcome_of("ok", visit.text("offers_intro"))
        # Declining the offers goes on with this cancellation: it carries the same reason.
        return _subscription(visit, 200, view, intro, reason=reason, reason_text=reason_text)
    if action == "pause" and months is not None and view.subscription.paused_until is not None:
        until = pages.day(view.subscription.paused_until, visit.locale, view.customer.timezone)
        return _subscription(
            visit, 200, view, outcome_of("ok", visit.text("paused_done_until", date=until))
        )
    done = _DONE.get(action)
    return _subscription(visit, 200, view, outcome_of("ok", visit.text(done)) if done else None)


def _pause_months(form: dict[str, str]) -> int | None:
    """The months a pause form asks for: exactly one of the page's choices, written as the
    page writes it ("1", "2", "3"); none at all pauses for one period, as the page's first
    pause button did."""
    if "months" not in form:
        return None
    raw = form["months"]
    choices = {str(m): m for m in self_service.PAUSE_MONTHS}
    if raw not in choices:  # no stripping, no Unicode digits, no "01": only what the page sends
        raise FormFieldRefused("pause_months_invalid")
    return choices[raw]


def _exit_reason(form: dict[str, str]) -> tuple[str, str | None]:
    """The exit reason a cancel form carries, one of EXIT_REASONS (required), and the
    customer's words, kept only with "other" (a browser sends the text box whichever
    reason ends up picked)."""
    reason = form.get("reason", "")
    if reason not in EXIT_REASONS:
        raise FormFieldRefused("exit_reason_missing")
    text = " ".join(form.get("reason_text", "").split())  # one line, as typed
    if len(text) > PAGE_REASON_TEXT_MAX:
        raise FormFieldRefused("exit_reason_too_long", max=str(PAGE_REASON_TEXT_MAX))
    return reason, (text or None) if reason == "other" else None


def _switch_plan(visit: Visit, action: str) -> Response[str]:
    """Preview a plan change (nothing changes), or make the change the preview showed."""
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    plan_id = visit.form.get("plan", "")
    try:
        if action == "preview_plan":
            view = self_service.preview_plan_change(
                visit.svc, customer_id, subscription_id, plan_id, visit.link
            )
            return _subscription(visit, 200, view)
        view = self_service.change_plan(
            visit.svc, customer_id, subscription_id, plan_id, visit.link
        )
    except ValidationFailedError as exc:
        view = _subscription_now(visit)
        if exc.field == "plan" and view.plan_choices:
            return _subscription(
                visit, 422, view, outcome_of("bad", visit.text("plan_not_offered"))
            )
        return _subscription(visit, 409, view, outcome_of("bad", refusal_text(visit, exc)))
    except IllegalTransitionError as exc:
        return _subscription_refused(visit, 409, refusal_text(visit, exc))
    done = visit.text("plan_changed", plan=view.plan.name or view.plan.id)
    return _subscription(visit, 200, view, outcome_of("ok", done))


def _switch_items(visit: Visit, action: str) -> Response[str]:
    """Preview a change of seats or add-ons (nothing changes), or make the change the
    preview showed. Confirming the items the subscription already has is answered as done
    (a double submit), changing nothing."""
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    view = _subscription_now(visit)
    try:
        items = _asked_items(visit.form, view)
        if action == "preview_items" and items == view.subscription.items:
            raise FormFieldRefused("items_same")
        if action == "preview_items":
            view = self_service.preview_items_change(
                visit.svc, customer_id, subscription_id, items, visit.link
            )
            return _subscription(visit, 200, view)
        view = self_service.change_items(visit.svc, customer_id, subscription_id, items, visit.link)
    except FormFieldRefused as refused:
        text = visit.text(refused.key, **refused.values)
        return _subscription(visit, 422, view, outcome_of("bad", text))
    except (ValidationFailedError, IllegalTransitionError) as exc:
        return _subscription_refused(visit, 409, refusal_text(visit, exc))
    return _subscription(visit, 200, view, outcome_of("ok", visit.text("items_changed")))


def _asked_items(form: dict[str, str], view: self_service.SubscriptionPage) -> Items:
    """The seats and add-ons an items form asks for: the add-ons read are only those the
    page offers (`addon_<id>` ticked, `addon_qty_<id>` how many); each quantity a whole
    number from 1 to MAX_QUANTITY, written in ASCII digits."""
    quantity = _item_quantity(form.get("quantity", ""))
    addons = tuple(
        Item(plan.id, _item_quantity(form.get(f"addon_qty_{plan.id}", "1")))
        for plan in view.addon_choices
        if form.get(f"addon_{plan.id}") == "1"
    )
    return Items(quantity, addons)


def _ascii_number(text: str, max_digits: int) -> bool:
    """Whether `text` is 1 to `max_digits` ASCII digits (int() would also read Arabic-Indic
    and other Unicode digits, which no browser's number field sends)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def _item_quantity(raw: str) -> int:
    text = raw.strip()
    if not _ascii_number(text, len(str(MAX_QUANTITY))):
        raise FormFieldRefused("items_quantity_invalid", max=str(MAX_QUANTITY))
    if not 1 <= int(text) <= MAX_QUANTITY:
        raise FormFieldRefused("items_quantity_invalid", max=str(MAX_QUANTITY))
    return int(text)


def _item_list(visit: Visit, plan: Plan, items: Items | None) -> str:
    """The items a preview is for, as the page words them: "Team × 8, SSO × 1"."""
    named = [(p.name, p.quantity) for p in plan.items] or [
        (plan.name or plan.id, items.quantity if items is not None else 1)
    ]
    return ", ".join(
        visit.text("item_times", item=name, quantity=str(quantity)) for name, quantity in named
    )


def _redeem_points(visit: Visit) -> Response[str]:
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    view = _subscription_now(visit)
    if view.points is None:  # the loyalty program is off: the page shows no such form
        return _subscription(visit, 409, view, outcome_of("bad", visit.text("points_off")))
    try:
        count = _points_count(visit.form.get("points", ""), view.points.balance)
        view = self_service.redeem_points(
            visit.svc, customer_id, subscription_id, count, visit.link, visit.form.get("f", "")
        )
    except FormFieldRefused as refused:
        text = visit.text(refused.key, **refused.values)
        return _subscription(visit, 422, view, outcome_of("bad", text))
    except ValidationFailedError:
        # Nothing to invoice the credit on, or a concurrent redemption took the points.
        return _subscription_refused(visit, 409, visit.text("points_refused"))
    value = pages.money(count * view.point_value_minor, view.subscription.currency, visit.locale)
    done = visit.text("points_done", points=str(count), value=value)
    return _subscription(visit, 200, view, outcome_of("ok", done))


def _points_count(raw: str, balance: int) -> int:
    """The whole number of points a redeem form asks for, within `balance`."""
    text = raw.strip()
    if not _ascii_number(text, MAX_POINTS_DIGITS):
        if text.isascii() and text.isdigit():  # all digits, only too many: over any balance
            raise FormFieldRefused("points_over_balance", balance=str(balance))
        raise FormFieldRefused("points_not_a_number")
    count = int(text)
    if count == 0:
        raise FormFieldRefused("points_zero")
    if count > balance:
        raise FormFieldRefused("points_over_balance", balance=str(balance))
    return count


def _subscription(
    visit: Visit,
    status: int,
    view: self_service.SubscriptionPage,
    outcome: dict[str, str] | None = None,
    reason: str | None = None,
    reason_text: str | None = None,
) -> Response[str]:
    return visit.render(
        status,
        "subscription.html",
        "title_subscription",
        view=view,
        actions=[] if view.offers else [a for a in _actions(view) if a[0] not in view.used],
        offers=[(offer_id, visit.text(key, **words)) for offer_id, key, words in view.offers],
        action_url="/pages/subscription",
        outcome=outcome,
        exit_reasons=EXIT_REASONS,
        reason=reason,
        reason_text=reason_text,
        reason_text_max=PAGE_REASON_TEXT_MAX,
        plan_price=lambda plan: _plan_price(visit, plan),
        item_list=lambda plan, items: _item_list(visit, plan, items),
        max_quantity=MAX_QUANTITY,
        points_value=(
            pages.money(
                view.points.balance * view.point_value_minor,
                view.subscription.currency,
                visit.locale,
            )
            if view.points is not None and view.points.balance > 0
            else None
        ),
    )


def _plan_price(visit: Visit, plan: Plan) -> str:
    """A plan's price as the page words it: "$20.00 every month", "$50.00 every 3 months"."""
    amount = pages.money(plan.amount, plan.currency, visit.locale)
    unit = str(plan.interval)
    if plan.interval_count == 1:
        return visit.text(f"every_{unit}", amount=amount)
    return visit.text(f"every_n_{unit}", amount=amount, count=str(plan.interval_count))


def _actions(view: self_service.SubscriptionPage) -> list[tuple[str, str, str]]:
    """(action, label, style) of the buttons the subscription's state allows."""
    sub = view.subscription
    if sub.status is SubscriptionStatus.CANCELED:
        return [("come_back", "come_back", "")]
    if sub.status is SubscriptionStatus.PAUSED:
        return [("keep", "resume", "")]
    if sub.cancel_at_period_end:
        return [("keep", "keep", "")]
    found = []
    if sub.status is SubscriptionStatus.ACTIVE:
        found.append(("pause", "pause", "secondary"))
    if sub.status in (
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    ):
        found.append(("cancel", "cancel", "secondary"))
    return found
