"""Every date-time a body gives is a moment UTC can hold: one with its zone that falls before
year 1 or after year 9999 once in UTC is a 422 on its field that changes nothing, never a 500
from the first comparison (Python's astimezone overflows)."""

from typing import Any

import pytest
from api_harness import Api
from test_api_bad_input import locs, refused

NOTE = {"note": "asked by the customer"}
# Valid ISO-8601 date-times with a zone, each outside datetime's range in UTC.
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-14:00"

ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("/v1/subscriptions/sub-1/pause", "until", {}),
    ("/v1/plans/basic/price-changes", "effective_at", {"amount": 1200}),
    (
        "/v1/customers/alice/installment-plans",
        "start",
        {"amount": 1000, "currency": "USD", "count": 2, "every": "month", "description": "Sofa"},
    ),
    ("/v1/coupons", "redeem_by", {"id": "late", "percent_off": 10, "duration": "once"}),
    ("/v1/subscriptions/sub-1/extend-trial", "until", NOTE),
    ("/v1/subscriptions/sub-1/renewal-date", "at", NOTE),
]


@pytest.fixture
def world(api: Api) -> Api:
    api.plan("basic", 1000)
    api.customer("alice")
    api.subscription("sub-1")
    api.activate("sub-1")
    return api


@pytest.mark.parametrize("moment", [BEFORE_YEAR_1, AFTER_YEAR_9999])
@pytest.mark.parametrize(("path", "field", "body"), ROUTES)
def test_a_moment_outside_what_utc_holds_is_a_422_on_its_field(
    world: Api, path: str, field: str, body: dict[str, Any], moment: str
) -> None:
    reply = refused(world, "POST", path, body | {field: moment})

    assert (reply.status, locs(reply)) == (422, [["body", field]])
    assert "between the years 1 and 9999 in UTC" in reply.text
