"""POST /webhooks/{provider} under hostile input, through the real handler: never a 5xx, and
whatever is refused or rejected changes nothing else.

Four sources of input, each drawn by hypothesis: any text as the signature header (and as
the provider's name); signature headers built from the pieces a careless or hostile sender
would use (non-ASCII digits, huge and negative integers, many fields, empty parts); any JSON,
validly signed with the test secret; and the provider's own events about a real invoice with
one value replaced by a hostile one (out-of-range times, amounts that are not integers,
missing ids, wrong shapes), validly signed too. Every example runs on a fresh copy of a shop
whose debit is pending or paid, so the events can settle, refund and dispute real things.

Examples per test: `max(200, the profile's max_examples)` (tests/conftest.py: the `deep`
profile raises it).
"""

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhooks_harness import SECRET, Endpoint, Shop, new_shop

from tenure import bootstrap
from tenure.webhooks import razorpay_events, stripe_events
from tenure.webhooks.jsonbody import LATEST
from tenure_local.runtime import functions
from tenure_local.runtime.state import build_state

HOUR = timedelta(hours=1)
RAZORPAY_SECRET = "rzp_test_secret"  # as the endpoint fixture configures it
EXAMPLES = max(200, settings.default.max_examples)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The endpoint fixture only sets environment variables; each example builds its own
    # shop from a cached one, so nothing is shared between examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- the shops each example starts from ----------------------------------------------------------
@dataclass(frozen=True)
class World:
    pending: Shop  # a bank debit is pending: payment events settle it
    paid: Shop  # the same, its payment applied: refund and dispute events act on it
    events: tuple[dict[str, Any], ...]  # every event the provider sent about them
    ids: tuple[str, ...]  # every id in play, so mutated events can name real things


@functools.cache
def world() -> World:
    shop = new_shop()
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    pending = shop.fork()
    shop.deliver(shop.last("payment_intent.succeeded"))
    payment_id = shop.payment_of(invoice_id)
    shop.clock.advance(HOUR)
    shop.refund(invoice_id, 300, "dashboard-1")
    dispute_id = shop.gateway.open_dispute(payment_id, "dispute-1")
    shop.gateway.close_dispute(dispute_id, "lost")
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is not None
    shop.gateway.auto_update_card(
        customer.default_payment_method, customer.provider_customer_id, "4242424242424242"
    )
    events = tuple(copy.deepcopy(shop.events()))
    ids = (invoice_id, payment_id, dispute_id, "alice", "sub-1", customer.default_payment_method)
    return World(pending, shop, events, (*ids, str(customer.provider_customer_id)))


@pytest.fixture
def fresh(endpoint: Endpoint) -> Iterator[Any]:
    """A function giving, per example, a fresh copy of a shop installed behind the handler."""

    def start(paid: bool) -> Endpoint:
        shop = (world().paid if paid else world().pending).fork()
        bootstrap.use(bootstrap.Wiring(shop.svc))
        return Endpoint(shop)

    yield start


# -- hostile values --------------------------------------------------------------------------
# Digits of other scripts (int() reads them) and superscripts (str.isdigit() says yes, int()
# raises), mixed with ASCII ones.
LOOKALIKES = "0123456789\u0663\u06f5\u0966\u09e7\u00b2\u00b3\u00b9\u2460"
NON_ASCII_DIGITS = st.text(st.sampled_from(LOOKALIKES), min_size=1, max_size=12) | st.text(
    st.characters(categories=["Nd", "No"]), min_size=1, max_size=12
)
ASCII_DIGITS = st.from_regex(r"[0-9]{1,25}", fullmatch=True)
HUGE = st.integers(min_value=10**18, max_value=10**4000) | st.integers(max_value=-1)
EDGES = st.sampled_from([0, 1, -1, 2**31, 2**63, 10**12, 10**15 + 1, 10**20, LATEST - 1, LATEST])
INTEGERS = st.integers() | HUGE | EDGES
NUMBERS = (
    INTEGERS
    | st.floats(allow_nan=False, allow_infinity=False)
    | NON_ASCII_DIGITS
    | ASCII_DIGITS
    | st.sampled_from(["1_000", "+1", " 1", "1e3", "1.5", "", "NaN"])
    | st.booleans()
    | st.none()
)
SCALARS = st.none() | st.booleans() | INTEGERS | st.floats(allow_nan=False) | st.text(max_size=40)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)


def hostile_value(ids: tuple[str, ...]) -> st.SearchStrategy[Any]:
    texts = st.text(max_size=300) | st.text(st.characters(codec="ascii"), max_size=300)
    return NUMBERS | texts | st.sampled_from(ids) | JSON | st.just("x" * 100_000)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with these fields, a few left out, so that most examples get deep."""
    dropped = st.sets(st.sampled_from(sorted(fields)), max_size=2)
    return st.builds(
        lambda whole, gone: {k: v for k, v in whole.items() if k not in gone},
        st.fixed_dictionaries(fields),
        dropped,
    )


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path into nested objects and lists (the root excluded)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in items:
        yield (*prefix, key)
        if isinstance(inner, (dict, list)):
            yield from paths(inner, (*prefix, key))


def replaced(event: dict[str, Any], path: tuple[Any, ...], value: Any, drop: bool) -> Any:
    mutated = copy.deepcopy(event)
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return mutated


# -- what every answer must be ---------------------------------------------------------------
def contents(shop: Shop) -> dict[str, Any]:
    return copy.deepcopy(vars(shop.repo))


def check(shop: Shop, before: dict[str, Any], status: int, answer: Any) -> None:
    """Never a 5xx; a 4xx changes nothing; a rejection adds its own marker and nothing else;
    whatever was applied still makes a state.json."""
    assert status < 500, answer
    after = contents(shop)
    if status >= 400:
        assert after == before, answer
    elif answer["result"] == "rejected":
        added = set(after["markers"]) - set(before["markers"])
        assert all(key.startswith("webhook-rejected:") for key in added), added
        assert after["commits"] - before["commits"] == len(added) <= 1
        unchanged = ("markers", "commits")
        assert {k: v for k, v in after.items() if k not in unchanged} == {
            k: v for k, v in before.items() if k not in unchanged
        }
    else:
        assert answer["result"] in {"applied", "duplicate", "ignored", "unmatched", "unchanged"}
        json.dumps(build_state(shop.repo, ["alice"]))


def post(
    endpoint: Endpoint, body: bytes, headers: dict[str, str], provider: str = "stripe"
) -> None:
    before = contents(endpoint.shop)
    status, answer = endpoint.post(body, headers, provider=provider)
    check(endpoint.shop, before, status, answer)


def signed(endpoint: Endpoint, body: bytes) -> dict[str, str]:
    return stripe_events.sign(body, SECRET, int(endpoint.shop.clock.now().timestamp()))


# -- unsigned input ----------------------------------------------------------------------------
@FUZZ
@given(
    header=st.text(max_size=600) | st.just("t=1,v1=" + "a" * 5000) | st.just("t=1," * 2000),
    body=st.binary(max_size=200) | st.just(b"{}"),
)
def test_any_text_as_the_signature_header_is_a_4xx_and_changes_nothing(
    fresh: Any, header: str, body: bytes
) -> None:
    endpoint = fresh(paid=False)
    before = contents(endpoint.shop)
    status, answer = endpoint.post(body, {"stripe-signature": header})
    assert 400 <= status < 500, answer
    check(endpoint.shop, before, status, answer)


TIMESTAMPS = (
    NON_ASCII_DIGITS
    | INTEGERS.map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(str)
    | st.sampled_from(["", "1_772_445_600", " 1772445600", "+1772445600", "0x10", "now"])
)
PART = st.one_of(
    TIMESTAMPS.map(lambda t: f"t={t}"),
    st.text(st.characters(codec="ascii"), max_size=70).map(lambda v: f"v1={v}"),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda v: f"v1={v}"),
    st.sampled_from(["", "=", "t", "v1", "t=", "v1=", "v0=00", "t==1", " t = 1 "]),
    st.text(max_size=20),
)


@FUZZ
@given(
    parts=st.lists(PART, max_size=80),
    signed_too=st.booleans(),
    body=st.just(b"{}") | st.binary(max_size=60),
)
def test_signature_headers_built_from_hostile_parts_are_a_4xx_and_change_nothing(
    fresh: Any, parts: list[str], signed_too: bool, body: bytes
) -> None:
    endpoint = fresh(paid=False)
    if signed_too:  # a genuine t and v1 among the junk: the junk must still not crash it
        parts = [*parts, *signed(endpoint, body)["stripe-signature"].split(",")]
    before = contents(endpoint.shop)
    status, answer = endpoint.post(body, {"stripe-signature": ",".join(parts)})
    assert status < 500, answer
    check(endpoint.shop, before, status, answer)


@FUZZ
@given(
    name=st.text(max_size=60),
    query=st.none() | st.text(max_size=30),
    header=st.text(max_size=80),
)
def test_any_provider_name_path_or_query_is_a_4xx_and_changes_nothing(
    fresh: Any, name: str, query: str | None, header: str
) -> None:
    endpoint = fresh(paid=False)
    path = f"/webhooks/{name}" + ("" if query is None else f"?{query}")
    event = functions.http_event("POST", path, headers={"stripe-signature": header}, raw_body=b"{}")
    before = contents(endpoint.shop)
    response = functions.invoke("webhooks", event)
    status = int(response["statusCode"])
    assert 400 <= status < 500, response
    check(endpoint.shop, before, status, json.loads(response["body"]))


# -- signed input ----------------------------------------------------------------------------
def stripe_shaped(ids: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """An event envelope whose fields are each either plausible or hostile, a few missing."""
    value = hostile_value(ids)
    names = st.sampled_from(ids) | st.text(max_size=40)
    obj = shaped(
        {
            "id": names | value,
            "status": st.sampled_from(["succeeded", "failed", "lost", "processing"]) | value,
            "amount": st.integers(0, 10_000) | NUMBERS,
            "amount_refunded": st.integers(0, 10_000) | NUMBERS,
            "currency": st.sampled_from(["usd", "jpy", "kwd", "huf", "isk"]) | value,
            "metadata": shaped(
                {
                    "tenure_invoice_id": names,
                    "tenure_attempt": st.sampled_from(["1", "2"]) | NUMBERS,
                    "tenure_subscription_id": names,
                    "tenure_customer_id": names,
                }
            )
            | value,
            "last_payment_error": shaped({"code": value, "decline_code": value}) | value,
            "payment_intent": names | value,
            "customer": names | value,
            "payment_method": names | value,
            "type": st.just("card") | value,
            "card": shaped(
                {"brand": value, "last4": value, "exp_month": NUMBERS, "exp_year": NUMBERS}
            )
            | value,
            "refunds": st.fixed_dictionaries({"data": st.lists(value, max_size=3)}) | value,
        }
    )
    types = st.sampled_from(sorted(stripe_events.HANDLED)) | st.text(max_size=40)
    now = int(world().pending.clock.now().timestamp())
    return shaped(
        {
            "id": names | value,
            "type": types | value,
            "created": st.just(now) | NUMBERS,
            "data": st.fixed_dictionaries(
                {"object": obj | value}, optional={"previous_attributes": value}
            )
            | value,
        }
    )


@FUZZ
@given(data=st.data(), paid=st.booleans())
def test_any_signed_json_is_never_a_5xx_and_a_rejection_changes_nothing_else(
    fresh: Any, data: st.DataObject, paid: bool
) -> None:
    endpoint = fresh(paid=paid)
    ids = world().ids
    doc = data.draw(stripe_shaped(ids) | JSON, label="body")
    body = json.dumps(doc).encode()
    post(endpoint, body, signed(endpoint, body))


@FUZZ
@given(
    raw=st.sampled_from(
        [
            b"[" * 50_000,
            b'{"id": "evt_1", "type": "x", "created": ' + b"9" * 5000 + b"}",
            b'{"id": "evt_1", "type": "x", "created": NaN, "data": {"object": {}}}',
            b'{"id": "evt_1", "type": "x", "created": 1e999, "data": {"object": {}}}',
            b"\xff\xfe",
            b"",
            b"null",
        ]
    )
    | st.binary(max_size=300)
)
def test_any_signed_bytes_are_never_a_5xx(fresh: Any, raw: bytes) -> None:
    endpoint = fresh(paid=False)
    post(endpoint, raw, signed(endpoint, raw))


@FUZZ
@given(data=st.data(), paid=st.booleans(), drop=st.booleans())
def test_a_real_event_with_one_hostile_value_is_never_a_5xx(
    fresh: Any, data: st.DataObject, paid: bool, drop: bool
) -> None:
    endpoint = fresh(paid=paid)
    event = data.draw(st.sampled_from(world().events), label="event")
    path = data.draw(st.sampled_from(list(paths(event))), label="path")
    value = data.draw(hostile_value(world().ids), label="value")
    body = json.dumps(replaced(event, path, value, drop)).encode()
    post(endpoint, body, signed(endpoint, body))


def razorpay_shaped(ids: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    value = hostile_value(ids)
    entity = shaped(
        {
            "id": st.sampled_from(ids) | value,
            "amount": st.integers(0, 10_000) | NUMBERS,
            "amount_refunded": st.integers(0, 10_000) | NUMBERS,
            "currency": st.just("INR") | value,
            "status": st.sampled_from(["processed", "lost", "open"]) | value,
            "payment_id": st.sampled_from(ids) | value,
            "notes": shaped({"tenure_invoice_id": value, "tenure_attempt": NUMBERS}) | value,
            "error_reason": value,
        }
    )
    wrapped = st.fixed_dictionaries({"entity": entity}) | value
    events = st.sampled_from(
        ["payment.captured", "payment.failed", "refund.processed", "payment.dispute.lost"]
    )
    now = int(world().pending.clock.now().timestamp())
    return shaped(
        {
            "entity": st.just("event") | value,
            "event": events | value,
            "created_at": st.just(now) | NUMBERS,
            "payload": shaped({"payment": wrapped, "refund": wrapped, "dispute": wrapped}) | value,
        }
    )


@FUZZ
@given(data=st.data(), event_id=st.none() | st.text(max_size=300), paid=st.booleans())
def test_any_signed_razorpay_body_or_event_id_is_never_a_5xx(
    fresh: Any, data: st.DataObject, event_id: str | None, paid: bool
) -> None:
    endpoint = fresh(paid=paid)
    doc = data.draw(razorpay_shaped(world().ids) | JSON, label="body")
    body = json.dumps(doc).encode()
    headers = razorpay_events.sign(body, RAZORPAY_SECRET)
    if event_id is not None:
        headers[razorpay_events.EVENT_ID_HEADER] = event_id
    post(endpoint, body, headers, provider="razorpay")
