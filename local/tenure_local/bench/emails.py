"""`make bench` figure for the customer emails: renders plus RFC 5322 messages per second."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from typing import Any

from tenure import bootstrap
from tenure.domain.notices import NoticeKind
from tenure.notify.message import build_message
from tenure.notify.render import SUPPORTED_LOCALES, RenderedEmail, render
from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts, sample_links


def render_rate(n: int = 2000) -> dict[str, Any]:
    """Render `n` emails, cycling over every kind x locale, then build each one's message
    (as bytes, as SES would take it), timing the two apart. Templates and catalogs are
    warmed up first: the figures are the warm rate of a reminders run, not a cold start."""
    combos = [(kind, locale) for kind in NoticeKind for locale in SUPPORTED_LOCALES]
    samples = {kind: sample_facts(kind) for kind in NoticeKind}
    start_at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    business = bootstrap.settings().business_name

    def rendered(kind: NoticeKind, locale: str) -> RenderedEmail:
        facts, links = samples[kind]
        return render(kind, locale, facts, links, timezone=SAMPLE_TIMEZONE, business_name=business)

    def message(index: int, kind: NoticeKind, email: RenderedEmail) -> bytes:
        return build_message(
            email,
            to="customer@example.com",
            to_name=samples[kind][0].customer_name,
            sender="billing@example.com",
            sender_name=business,
            sent_at=start_at + timedelta(seconds=index),
            notice_key=f"sub_{index}:{kind}:2026-03:0",
        ).as_bytes()

    for index, (kind, locale) in enumerate(combos):
        message(index, kind, rendered(kind, locale))
    plan = list(islice(cycle(combos), n))
    started = time.perf_counter()
    emails = [rendered(kind, locale) for kind, locale in plan]
    rendered_at = time.perf_counter()
    sizes = [
        message(i, kind, email)
        for i, ((kind, _), email) in enumerate(zip(plan, emails, strict=True))
    ]
    finished = time.perf_counter()
    render_s, message_s = rendered_at - started, finished - rendered_at
    total_s = finished - started

    def rate(seconds: float) -> float | None:
        return round(n / seconds, 1) if seconds > 0 else None

    return {
        "emails": n,
        "combinations": len(combos),
        "seconds": round(total_s, 3),
        "emails_per_s": rate(total_s),  # render + message, the row for the table
        "render_per_s": rate(render_s),
        "message_per_s": rate(message_s),
        "ms_per_email": round(1000 * total_s / n, 3) if n else None,
        "avg_message_bytes": round(sum(len(b) for b in sizes) / n) if n else None,
        "ms_per_email_distinct": distinct_ms_per_email(n // 2),
    }


# Names as customers write them: ASCII, accented, Cyrillic, Arabic, and mixed.
_NAMES = ("Zoë Ångström", "John Smith", "Анна Каренина", "محمد الهاشمي", "Zoë Smith")


def distinct_ms_per_email(n: int = 1000) -> float | None:
    """Render plus message for `n` emails each to another customer (own name, own signed
    links), the same kinds and locales in turn: the lines that name the customer or carry
    a link are new in every email, as in a real run, so no cache of them helps."""
    combos = [(kind, locale) for kind in NoticeKind for locale in SUPPORTED_LOCALES]
    business = bootstrap.settings().business_name
    start_at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    jobs = []
    for i, (kind, locale) in enumerate(islice(cycle(combos), n)):
        facts, _ = sample_facts(kind)
        name = f"{_NAMES[i % len(_NAMES)]} {i}"
        links = sample_links(f"cus_{i:06d}", f"sub_{i:06d}")  # signed before the clock runs
        jobs.append((kind, locale, replace(facts, customer_name=name), links, name))
    started = time.perf_counter()
    for i, (kind, locale, facts, links, name) in enumerate(jobs):
        email = render(kind, locale, facts, links, timezone=SAMPLE_TIMEZONE, business_name=business)
        build_message(
            email,
            to=f"customer{i}@example.com",
            to_name=name,
            sender="billing@example.com",
            sender_name=business,
            sent_at=start_at + timedelta(seconds=i),
            notice_key=f"sub_{i:06d}:{kind}:2026-03:0",
        ).as_bytes()
    seconds = time.perf_counter() - started
    return round(1000 * seconds / n, 3) if n else None
