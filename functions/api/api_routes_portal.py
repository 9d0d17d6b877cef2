"""Portal links: the business's app asks for a signed URL that opens one of a customer's
pages (update the card, confirm a payment, manage the subscription), to send the customer
on to it. Nothing is stored: the link is its own record, signed and expiring."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from tenure import bootstrap
from tenure.domain.errors import ValidationFailedError
from tenure.domain.timeutil import iso
from tenure.notify.customer_links import LinkKeyMissingError, make_portal_link
from tenure.notify.link_tokens import MAX_RETURN_URL, InvalidReturnUrlError, LinkPurpose
from tenure.services import self_service
from tenure.settings import PORTAL_LINK_MAX_MINUTES, PORTAL_LINK_MIN_MINUTES

router = APIGatewayHttpRouter()

CustomerId = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


class PortalPurpose(StrEnum):
    """The pages a portal link may open."""

    UPDATE_CARD = "update_card"
    CONFIRM_PAYMENT = "confirm_payment"
    MANAGE_SUBSCRIPTION = "manage_subscription"
    COLLECTIONS = "collections"


class PortalLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    purpose: PortalPurpose = Field(description="the page the link opens")
    return_url: str | None = Field(
        default=None,
        max_length=MAX_RETURN_URL,
        description=(
            f"where the page's 'Back to <business>' link goes: https (http to a loopback "
            f"address when Tenure runs locally), at most {MAX_RETURN_URL} characters, no user "
            f"info; signed into the link"
        ),
    )
    lifetime_minutes: int | None = Field(
        default=None,
        ge=PORTAL_LINK_MIN_MINUTES,
        le=PORTAL_LINK_MAX_MINUTES,
        strict=True,
        description=(
            f"how long the link works, {PORTAL_LINK_MIN_MINUTES} to {PORTAL_LINK_MAX_MINUTES} "
            f"minutes (default: the deployment's TENURE_PORTAL_LINK_TTL_MINUTES, 24 hours "
            f"unless set)"
        ),
    )


class PortalLinkView(BaseModel):
    url: str = Field(description="the signed page URL; send the customer there")
    purpose: PortalPurpose
    expires_at: str = Field(description="when the link stops working (UTC, ISO 8601)")


@router.post("/v1/customers/<customer_id>/portal-links", security=BEARER, tags=["customers"])
def create_portal_link(customer_id: CustomerId, body: PortalLinkRequest) -> PortalLinkView:
    """A signed link that opens the customer's page for `purpose`, valid for
    `lifetime_minutes` (default TENURE_PORTAL_LINK_TTL_MINUTES, 24 hours unless set). An
    unknown customer: 404. `confirm_payment` with no payment waiting for the customer's
    confirmation, `manage_subscription` with no subscription, or `collections` with no
    open collections case: 409. A `return_url` that is not https, too long or with user
    info, or a lifetime out of bounds: 422. No link key configured: 503. Nothing changes
    either way."""
    wired = bootstrap.wiring()
    svc = wired.services
    purpose = LinkPurpose(body.purpose.value)
    subject = self_service.portal_subject(svc, customer_id, purpose.value)
    try:
        lifetime = (
            None if body.lifetime_minutes is None else timedelta(minutes=body.lifetime_minutes)
        )
        url, expires_at = make_portal_link(
            wired.settings,
            customer_id,
            purpose,
            subject,
            svc.clock.now(),
            body.return_url,
            lifetime,
        )
    except InvalidReturnUrlError as exc:
        raise ValidationFailedError("return_url", str(exc)) from exc
    except LinkKeyMissingError as exc:
        # A deployment without its link key: no link can be made, and no caller can fix it.
        raise ServiceError(503, "customer links are not configured") from exc
    return PortalLinkView(url=url, purpose=body.purpose, expires_at=str(iso(expires_at)))
