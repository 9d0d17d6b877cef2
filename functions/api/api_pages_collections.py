"""The collections page (signed link from an email): pay an overdue balance in full, or choose
a repayment plan, through the API's services (the same refusals either way)."""

from api_pages_visit import FormFieldRefused, Visit, outcome_of, page_route, refusal_text
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure.domain.collection_cases import CaseStatus
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.notify.customer_links import make_portal_link
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import collections_page

router = APIGatewayHttpRouter()
route = page_route(router)


# -- a collections case ----------------------------------------------------------------------
@route("GET", "/pages/collections", LinkPurpose.COLLECTIONS)
def _show_collections(visit: Visit) -> Response[str]:
    claims = visit.claims
    view = collections_page.load_collections_page(visit.svc, claims.customer_id, claims.subject)
    return _collections(visit, 200, view)


@route("POST", "/pages/collections", LinkPurpose.COLLECTIONS)
def _settle_case(visit: Visit) -> Response[str]:
    """Pay the balance in full now, or choose a repayment plan: the API's services, so the
    same refusals (nothing written) whichever way the customer comes."""
    customer_id, case_id = visit.claims.customer_id, visit.claims.subject
    view = collections_page.load_collections_page(visit.svc, customer_id, case_id)
    action = visit.form.get("action", "")
    try:
        if action == "pay":
            view = collections_page.pay_in_full(visit.svc, customer_id, case_id)
        elif action == "plan":
            count, every = _repayment_choice(visit.form, view)
            view = collections_page.choose_plan(visit.svc, customer_id, case_id, count, every)
        else:
            raise FormFieldRefused("repayment_invalid")
    except FormFieldRefused as refused:
        return _collections(visit, 422, view, outcome_of("bad", visit.text(refused.key)))
    except (IllegalTransitionError, ValidationFailedError) as exc:
        view = collections_page.load_collections_page(visit.svc, customer_id, case_id)
        if done := _done_before(visit, action, view):
            # A double submit: what the form asks for is what the first post did.
            return _collections(visit, 200, view, outcome_of("ok", visit.text(done)))
        return _collections(visit, 409, view, outcome_of("bad", refusal_text(visit, exc)))
    case = view.case
    if case.status == "settled":
        return _collections(visit, 200, view, outcome_of("ok", visit.text("paid_thanks")))
    if action == "pay":
        if invoice_id := collections_page.payment_to_confirm(visit.svc, view):
            # The bank asks the customer to confirm: send them on to the page that does it,
            # with the same way back, rather than telling them it failed.
            confirm_url = _onward_link(visit, LinkPurpose.CONFIRM_PAYMENT, invoice_id)
            outcome = outcome_of("bad", visit.text("case_pay_needs_confirmation"))
            return _collections(visit, 200, view, outcome, confirm_url=confirm_url)
        # Declined: the instalment is dunned like any, and the emails say what comes next;
        # the page offers the card page the message mentions, rather than a dead end.
        card_url = _onward_link(visit, LinkPurpose.UPDATE_CARD, customer_id)
        outcome = outcome_of("bad", visit.text("case_pay_declined"))
        return _collections(visit, 200, view, outcome, card_url=card_url)
    return _collections(visit, 200, view, outcome_of("ok", visit.text("case_plan_chosen")))


def _done_before(visit: Visit, action: str, view: collections_page.CollectionsPage) -> str | None:
    """The answer's text when the case already stands as the refused form asks (the case
    paid, or in the very plan chosen): that form was posted twice. None otherwise."""
    case, plan = view.case, view.plan
    if action == "pay" and case.status is CaseStatus.SETTLED:
        return "paid_thanks"
    if action == "plan" and case.status is CaseStatus.IN_PLAN and plan is not None:
        count, every = _repayment_choice(visit.form, view)
        if (plan.count, str(plan.every)) == (count, every):
            return "case_plan_chosen"
    return None


def _onward_link(visit: Visit, purpose: LinkPurpose, subject: str) -> str:
    """A signed link for the same customer to another page, with the same way back."""
    url, _ = make_portal_link(
        visit.settings,
        visit.claims.customer_id,
        purpose,
        subject,
        visit.svc.clock.now(),
        visit.claims.return_url,
    )
    return url


def _repayment_choice(
    form: dict[str, str], view: collections_page.CollectionsPage
) -> tuple[int, str]:
    """The count and interval a plan form asks for, exactly as the page writes them: a count
    the policy allows in ASCII digits ("3", never " 3", "03" or Arabic-Indic digits), and one
    of the policy's intervals."""
    counts = {str(n): n for n in view.counts}
    raw_count, every = form.get("count", ""), form.get("every", "")
    if raw_count not in counts or every not in {str(e) for e in view.policy.every}:
        raise FormFieldRefused("repayment_invalid")
    return counts[raw_count], every


def _collections(
    visit: Visit,
    status: int,
    view: collections_page.CollectionsPage,
    outcome: dict[str, str] | None = None,
    confirm_url: str | None = None,
    card_url: str | None = None,
) -> Response[str]:
    from tenure.notify.lines import case_line_facts
    from tenure.notify.render import worded_facts  # Babel's import: paid by the pages only

    facts = case_line_facts(view.case, view.invoices)
    lines = worded_facts(facts, visit.locale, view.customer.timezone or "UTC")
    return visit.render(
        status,
        "collections.html",
        "title_collections",
        view=view,
        lines=lines,
        action_url="/pages/collections",
        outcome=outcome,
        confirm_url=confirm_url,
        card_url=card_url,
    )
