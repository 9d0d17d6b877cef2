"""`make bench` figure for the customer emails: renders plus RFC 5322 messages per second."""

import time
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from typing import Any

from tenure.domain.notices import NoticeKind
from tenure.notify.message import build_message
from tenure.notify.render import SUPPORTED_LOCALES, render
from tenure.notify.samples import SAMPLE_BUSINESS, SAMPLE_TIMEZONE, sample_facts


def render_rate(n: int = 2000) -> dict[str, Any]:
    """Render `n` emails, cycling over every kind x locale, and build each one's message
    (as bytes, as SES would take it). Templates and catalogs are warmed up first: the figure
    is the warm rate of a reminders run, not the first email of a cold start."""
    combos = [(kind, locale) for kind in NoticeKind for locale in SUPPORTED_LOCALES]
    samples = {kind: sample_facts(kind) for kind in NoticeKind}
    start_at = datetime(2026, 3, 1, 9, tzinfo=UTC)

    def one(index: int, kind: NoticeKind, locale: str) -> int:
        facts, links = samples[kind]
        email = render(
            kind, locale, facts, links, timezone=SAMPLE_TIMEZONE, business_name=SAMPLE_BUSINESS
        )
        msg = build_message(
            email,
            to="customer@example.com",
            to_name=facts.customer_name,
            sender="billing@example.com",
            sender_name=SAMPLE_BUSINESS,
            sent_at=start_at + timedelta(seconds=index),
            notice_key=f"sub_{index}:{kind}:2026-03:0",
        )
        return len(msg.as_bytes())

    for index, (kind, locale) in enumerate(combos):
        one(index, kind, locale)
    total_bytes = 0
    started = time.perf_counter()
    for index, (kind, locale) in enumerate(islice(cycle(combos), n)):
        total_bytes += one(index, kind, locale)
    seconds = time.perf_counter() - started
    return {
        "emails": n,
        "combinations": len(combos),
        "seconds": round(seconds, 3),
        "emails_per_s": round(n / seconds, 1) if seconds else None,
        "ms_per_email": round(1000 * seconds / n, 3) if n else None,
        "avg_message_bytes": round(total_bytes / n) if n else None,
    }
