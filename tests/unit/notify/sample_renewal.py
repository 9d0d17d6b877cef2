"""The sample upcoming-renewal email with one more invoice line, for the line-wording tests."""

from dataclasses import replace
from typing import Any

from tenure.domain.notices import LineFact, NoticeKind
from tenure.notify.render import RenderedEmail, render
from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts


def renewal_email_with(line: LineFact, locale: str, **facts: Any) -> RenderedEmail:
    """The sample renewal email in `locale` with `line` after its lines, the amount kept their
    sum plus tax (so nothing is shown differently for not adding up); `facts`: more changes.
    It must render without a warning."""
    sample, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)
    lines = (*sample.lines, line)
    assert sample.amount is not None and sample.tax is not None
    amount = sum(ln.amount for ln in lines) + sample.tax
    email = render(
        NoticeKind.UPCOMING_RENEWAL,
        locale,
        replace(sample, lines=lines, amount=amount, **facts),
        links,
        timezone=SAMPLE_TIMEZONE,
        business_name="Northwind Coffee Club",
    )
    assert email.warnings == ()
    return email
