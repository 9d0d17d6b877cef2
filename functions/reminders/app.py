"""Reminders: every hour, send the emails that are due where each customer is awake.

`lambda_handler` runs on the hourly schedule (and on demand with a `scheduled_time`);
`feedback_handler` takes SES bounce and complaint notifications (through SNS) and stops
writing to those addresses.
"""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.domain.timeutil import iso
from tenure.notify.compose import Composer
from tenure.notify.message import valid_address
from tenure.services.reminders import RunReport, send_due, suppress_address

logger = Logger()
emf = Metrics()
# One pass reads at most this many due notices (each of the 8 due shards gives its share);
# passes repeat until nothing is due or the run's time is nearly up, and what is left waits
# for the next hour (SES sends 14/s in a new account, so 1,000 take about a minute).
RUN_LIMIT = 1000
MAX_PASSES = 20
SPARE_MS = 60_000  # stop starting passes when less than this is left of the timeout


@logger.inject_lambda_context
@emf.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wired = bootstrap.wiring()
    svc, settings = wired.services, wired.settings
    now = bootstrap.scheduled_time(event) or svc.clock.now()
    compose = Composer(settings.mail_from, settings.business_name)
    mailer, links = wired.mailer, wired.link_maker()
    report = RunReport()
    for _ in range(MAX_PASSES):
        done = send_due(
            svc, mailer, compose, links, now, limit=RUN_LIMIT, valid_address=valid_address
        )
        report.add(done)
        # A pass that read less than its limit read everything due (the repository fills
        # the limit from every shard), so another would find nothing but the notices that
        # stayed due; one whose notices all stayed due (claimed by a concurrent run
        # meanwhile, or left for later after an error) would read them again: stop there too.
        stayed = done.counts.get("duplicate", 0) + done.counts.get("retry", 0)
        if done.read < RUN_LIMIT or stayed == done.read:
            break
        if context.get_remaining_time_in_millis() < SPARE_MS:
            break
    for outcome, count in report.counts.items():
        emf.add_metric(name=f"Emails_{outcome}", unit=MetricUnit.Count, value=count)
    emf.add_metric(name="EmailsDue", unit=MetricUnit.Count, value=report.read)
    result = {"now": iso(now), **report.to_dict()}
    logger.info("reminders run", extra=result)
    return result


@logger.inject_lambda_context
def feedback_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SES notifications via SNS: permanent bounces and complaints suppress the address."""
    svc = bootstrap.wiring().services
    suppressed = 0
    for record in event.get("Records", []):
        try:
            note = json.loads(record["Sns"]["Message"])
        except (KeyError, TypeError, ValueError):
            logger.warning("not an SES notification; ignored")
            continue
        kind = note.get("notificationType") or note.get("eventType")
        if kind == "Bounce" and note.get("bounce", {}).get("bounceType") == "Permanent":
            recipients = note["bounce"].get("bouncedRecipients", [])
        elif kind == "Complaint":
            recipients = note.get("complaint", {}).get("complainedRecipients", [])
        else:
            continue  # transient bounces and deliveries change nothing
        for recipient in recipients:
            address = recipient.get("emailAddress")
            if address:
                suppress_address(svc, address, str(kind).lower())
                suppressed += 1
    emf.add_metric(name="EmailsSuppressed", unit=MetricUnit.Count, value=suppressed)
    emf.flush_metrics()
    return {"suppressed": suppressed}


cold_start.done()
