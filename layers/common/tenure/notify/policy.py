"""The reminder policy: how far ahead each reminder goes out, and the quiet hours.

Defaults (docs/emails.md): upcoming renewal 3 days before for weekly and monthly plans, 7 for
quarterly, 30 and 7 for semiannual and annual; trial ending 3 days before; pause ending 7;
late payers (two or more late invoices in the last 6 months) one more, 1 day before.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from tenure.notify.timing import QuietHours


def _default_leads() -> dict[str, tuple[int, ...]]:
    return {"week": (3,), "month": (3,), "quarter": (7,), "half": (30, 7), "year": (30, 7)}


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    leads: dict[str, tuple[int, ...]] = field(default_factory=_default_leads)
    trial_ending_days: int = 3
    pause_ending_days: int = 7
    late_payer_days: int = 1  # the extra upcoming-renewal reminder for late payers
    late_payer_invoices: int = 2  # this many late invoices ...
    late_payer_window: timedelta = timedelta(days=183)  # ... within this long make a late payer
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    resend_throttled_after: timedelta = timedelta(hours=1)

    def renewal_leads(self, period: timedelta) -> tuple[int, ...]:
        """Lead days for a billing period of this length; only leads shorter than the period."""
        days = period.total_seconds() / 86400
        if days <= 8:
            family = "week"
        elif days <= 31:
            family = "month"
        elif days <= 92:
            family = "quarter"
        elif days <= 184:
            family = "half"
        else:
            family = "year"
        return tuple(d for d in self.leads.get(family, ()) if d < days)


def parse_leads(text: str) -> dict[str, tuple[int, ...]]:
    """`week=3,month=3,quarter=7,half=30/7,year=30/7` (the TENURE_REMINDER_LEADS setting)."""
    leads = _default_leads()
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, values = part.partition("=")
        if name not in leads:
            raise ValueError(f"unknown plan interval {name!r} in reminder leads")
        try:
            days = tuple(sorted({int(v) for v in values.split("/") if v}, reverse=True))
        except ValueError as exc:
            raise ValueError(f"reminder leads for {name!r} must be whole days") from exc
        if any(d <= 0 for d in days):
            raise ValueError(f"reminder leads for {name!r} must be positive")
        leads[name] = days
    return leads
