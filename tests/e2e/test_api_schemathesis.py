"""Schemathesis against a running `tenure serve`: every operation of /openapi.json, given valid
and invalid input, answers no 5xx, only the status codes it documents, each with the content
type and body schema documented for it (issue 13, item 10).

The examples are bounded and derandomized, so CI runs the same cases every time; the counts
are printed (`pytest -s`) for the README's reliability table."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serve_process import serving

TOKEN = "schemathesis-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 25  # per operation and generation mode: about a minute in all on 2 busy cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
POSITIVE = schemathesis.GenerationMode.POSITIVE
NEGATIVE = schemathesis.GenerationMode.NEGATIVE

# Fields whose rule a JSON schema cannot say (an ISO currency, an IANA zone, an address the
# mailer accepts, a record that exists): a valid case generated at random is almost always
# refused for them, so half of the valid cases take one of these values and reach the
# success paths (a plan with intro phases and tax, a charged subscription, a plan change).
REAL_VALUES: dict[str, list[Any]] = {
    "currency": ["USD", "EUR", "JPY"],
    "email": ["bob@example.com", "o'hara+billing@example.co.uk"],
    "timezone": ["UTC", "Europe/Moscow", "Asia/Riyadh"],
    "customer": ["st-alice"],
    "plan": ["st-basic", "st-pro"],
    "payment_method": ["pm_card_visa", "pm_card_chargeDeclined"],
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-schemathesis")
    with serving(folder, {"TENURE_API_TOKEN": TOKEN}, ("--no-schedules",)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def known_ids(base_url: str) -> dict[str, list[str]]:
    """Real records, so that generated paths sometimes name something that exists: two plans,
    a customer with a card, and three active subscriptions with their first invoices."""
    for plan_id, amount in (("st-basic", 1000), ("st-pro", 2500)):
        plan = {"id": plan_id, "amount": amount, "currency": "USD", "interval": "month"}
        post(f"{base_url}/v1/plans", plan)
    post(f"{base_url}/v1/customers", {"id": "st-alice", "email": "alice@example.com"})
    card = {"payment_method": "pm_card_visa", "default": True}
    post(f"{base_url}/v1/customers/st-alice/payment-methods", card)
    subscriptions = ["st-sub-1", "st-sub-2", "st-sub-3"]
    invoices = []
    for sub_id in subscriptions:
        sub = {"id": sub_id, "customer": "st-alice", "plan": "st-basic"}
        created = post(f"{base_url}/v1/subscriptions", sub)
        assert created["subscription"]["status"] == "active", created
        invoices.append(created["invoice"]["id"])
    return {
        "customer_id": ["st-alice"],
        "subscription_id": subscriptions,
        "invoice_id": invoices,
    }


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url, json=body, headers=AUTH, timeout=60)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def cases(
    operation: Any, mode: schemathesis.GenerationMode, known: dict[str, list[str]]
) -> st.SearchStrategy[schemathesis.Case]:
    """The operation's generated cases and, about as many, cases that name real records in
    their path (random ids almost never do) and, when valid, carry real values in their body."""
    generated = operation.as_strategy(generation_mode=mode)
    real_paths = [
        operation.as_strategy(generation_mode=mode, path_parameters={param.name: value})
        for param in operation.path_parameters
        for value in known.get(param.name, [])
    ]
    real = st.one_of(real_paths) if real_paths else generated
    if mode is POSITIVE:  # invalid input stays as generated
        real = st.tuples(real, st.data()).map(with_real_values)
    return st.one_of(generated, real)


def with_real_values(pair: tuple[schemathesis.Case, st.DataObject]) -> schemathesis.Case:
    case, data = pair
    if isinstance(case.body, dict):
        for field, values in REAL_VALUES.items():
            if field in case.body:
                case.body[field] = data.draw(st.sampled_from(values))
    return case


def exercise(
    operation: Any, mode: schemathesis.GenerationMode, known: dict[str, list[str]], base: str
) -> Counter[int]:
    """Run one operation's bounded cases in one generation mode; count the answers by status."""
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run, so CI is stable
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(case=cases(operation, mode, known))
    def check(case: schemathesis.Case) -> None:
        response = validated_call(case, base)
        statuses[response.status_code] += 1

    check()
    return statuses


def validated_call(case: schemathesis.Case, base: str) -> schemathesis.Response:
    """Send the case with the token; run every check on the answer (FailureGroup on a failure)."""
    return case.call_and_validate(base_url=base, headers=AUTH, checks=CHECKS, timeout=60)


def cover(operation: Any, base: str) -> tuple[Counter[int], list[str]]:
    """Run the operation's coverage cases: the fixed set schemathesis derives from the schema
    (each boundary of each constraint, each field missing or of the wrong type, other media
    types, other methods), valid and invalid; what its CLI runs before fuzzing (the method is
    public on the schema, if not in its guide). Deterministic; every failure is kept."""
    schema = operation.schema
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=[POSITIVE, NEGATIVE],
        generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
    ):
        try:
            response = validated_call(case, base)
        except FailureGroup as failed:
            failures.append(f"{case.as_curl_command(headers=AUTH)}\n{failed}")
            continue
        statuses[response.status_code] += 1
    return statuses, failures


def in_running_order(schema: Any) -> list[Any]:
    """Every operation; cancelling last, so that the commands before it (pause, resume,
    change plan) find the seeded subscriptions still active rather than all cancelled."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: op.path.endswith("/cancel"))


def has_input(operation: Any) -> bool:
    return bool(list(operation.iter_parameters()) or operation.body)


def test_every_operation_answers_only_what_its_schema_documents(
    base_url: str, known_ids: dict[str, list[str]]
) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    answered: dict[str, Counter[int]] = {}
    failures: dict[str, str] = {}
    for operation in in_running_order(schema):
        label = f"{operation.label} [coverage]"
        answered[label], found = cover(operation, base_url)
        if found:
            failures[label] = "\n\n".join(found)
        # Invalid input needs an input to spoil: an operation with none has no negative case.
        for mode in (POSITIVE, NEGATIVE) if has_input(operation) else (POSITIVE,):
            label = f"{operation.label} [{mode.value}]"
            try:
                answered[label] = exercise(operation, mode, known_ids, base_url)
            except Exception as exc:  # every operation runs; all failures are reported at once
                failures[label] = f"{type(exc).__name__}: {exc}"
    print("\nschemathesis cases per operation (answers by status):")
    for label, statuses in sorted(answered.items()):
        print(f"  {statuses.total():4d}  {label}  {dict(sorted(statuses.items()))}")
    print(f"  {sum(s.total() for s in answered.values()):4d}  in all")
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def test_the_checks_fail_an_answer_the_schema_does_not_document(base_url: str) -> None:
    """The harness itself can fail: with 404 taken out of one operation's documented answers,
    asking for an unknown customer is reported as an undocumented status code."""
    document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
    del document["paths"]["/v1/customers/{customer_id}"]["get"]["responses"]["404"]
    schema = schemathesis.openapi.from_dict(document)
    case = schema["/v1/customers/{customer_id}"]["GET"].Case(
        path_parameters={"customer_id": "nobody-here"}
    )
    with pytest.raises(FailureGroup) as failed:
        case.call_and_validate(base_url=base_url, headers=AUTH, checks=CHECKS, timeout=60)
    assert [type(f).__name__ for f in failed.value.exceptions] == ["UndefinedStatusCode"]


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "QUERY", "HEAD"])
def test_a_method_the_api_has_no_route_for_is_refused_by_the_api_not_the_server(
    base_url: str, method: str
) -> None:
    url = f"{base_url}/v1/customers/st-alice"
    anonymous = requests.request(method, url, timeout=10)
    assert anonymous.status_code == 401
    refused = requests.request(method, url, headers=AUTH, timeout=10)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/json"
    if method == "HEAD":
        assert refused.content == b""  # the length of the body, but never the body
    else:
        assert refused.json()["error"] == "not_found"
