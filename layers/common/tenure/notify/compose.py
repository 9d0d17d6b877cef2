"""From a notice's facts to the MIME message: render in the customer's language, then wrap."""

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage

from tenure.domain.customers import Customer
from tenure.domain.notices import EmailFacts, Notice


class ComposeError(Exception):
    """The email cannot be built (a template or translation problem): counted, not sent."""


class Composer:
    """The production Compose: Jinja2 + Babel templates (tenure.notify.render)."""

    def __init__(self, sender: str, business_name: str) -> None:
        self.sender = sender
        self.business_name = business_name

    def __call__(
        self,
        notice: Notice,
        customer: Customer,
        facts: EmailFacts,
        links: Mapping[str, str],
        sent_at: datetime,
    ) -> tuple[EmailMessage, tuple[str, ...]]:
        # Imported here: the templates load only in the functions that send email.
        from tenure.notify.message import build_message
        from tenure.notify.render import RenderError, render

        try:
            rendered = render(
                notice.kind,
                customer.locale,
                facts,
                links,
                timezone=customer.timezone,
                business_name=self.business_name,
            )
        except RenderError as exc:
            raise ComposeError(str(exc)) from exc
        message = build_message(
            rendered,
            to=customer.email,
            to_name=customer.name,
            sender=self.sender,
            sender_name=self.business_name,
            sent_at=sent_at,
            notice_key=notice.key,
        )
        return message, rendered.warnings
