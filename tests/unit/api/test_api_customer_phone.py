"""A customer's optional phone (E.164): taken on POST and PATCH /v1/customers, checked by one
rule, shown only when given, erased with the customer's other details, and passed to Razorpay
as the contact its recurring payments ask for."""

import json
from typing import Any

import pytest
from api_harness import Api
from test_api_bad_input import locs, refused

from tenure import bootstrap
from tenure.domain.customers import validate_phone
from tenure.domain.errors import ValidationFailedError
from tenure.payments.razorpay_gateway import HttpRequest, HttpResponse, RazorpayGateway
from tenure.payments.razorpay_sandbox import SANDBOX_KEY, RazorpaySandbox
from tenure.payments.sandbox import SandboxGateway
from tenure.services import cards, privacy
from tenure.services.context import Services
from tenure.store.codec import customer_from_attrs, customer_to_attrs

PHONE = "+919876543210"
NOT_E164 = [
    "9876543210",  # no country code
    "+09876543210",  # a country code never starts with 0
    "+91 98765 43210",  # spaces
    "+91-9876543210",
    "+1234567",  # too short
    "+1234567890123456",  # more than 15 digits
    "+٩١٩٨٧٦٥٤٣٢١٠",  # Arabic-Indic digits: not what a provider takes
    "",
]


@pytest.mark.parametrize("number", ["+919876543210", "+14155550123", "+4915112345678"])
def test_an_e164_number_is_taken_as_given(number: str) -> None:
    assert validate_phone(number) == number


@pytest.mark.parametrize("number", NOT_E164)
def test_a_number_that_is_not_e164_is_refused_by_name(number: str) -> None:
    with pytest.raises(ValidationFailedError) as refused_number:
        validate_phone(number)
    assert refused_number.value.field == "phone"


def test_a_customer_created_with_a_phone_shows_it_and_one_without_shows_no_field(
    api: Api,
) -> None:
    made = api.customer("asha", phone=PHONE)
    assert made["phone"] == PHONE
    assert api.get("/v1/customers/asha").json["phone"] == PHONE
    assert "phone" not in api.customer("ravi")


@pytest.mark.parametrize("number", [*NOT_E164, 919876543210])
def test_a_bad_phone_on_creation_is_a_422_naming_it_and_creates_nothing(
    api: Api, number: Any
) -> None:
    body = {"id": "asha", "email": "asha@example.com", "phone": number}
    reply = refused(api, "POST", "/v1/customers", body)
    assert reply.status == 422 and ["body", "phone"] in locs(reply)


def test_a_patch_sets_and_null_clears_the_phone(api: Api) -> None:
    api.customer("asha")
    set_to = api.call("PATCH", "/v1/customers/asha", {"phone": PHONE})
    assert set_to.status == 200 and set_to.json["phone"] == PHONE
    cleared = api.call("PATCH", "/v1/customers/asha", {"phone": None})
    assert cleared.status == 200 and "phone" not in cleared.json


def test_a_bad_phone_in_a_patch_is_a_422_and_changes_nothing(api: Api) -> None:
    api.customer("asha", phone=PHONE)
    reply = refused(api, "PATCH", "/v1/customers/asha", {"phone": "98765", "name": "Asha"})
    assert reply.status == 422
    assert api.get("/v1/customers/asha").json["phone"] == PHONE


def test_the_phone_is_stored_only_when_given(api: Api) -> None:
    api.customer("asha", phone=PHONE)
    api.customer("ravi")
    asha, ravi = api.repo.get_customer("asha"), api.repo.get_customer("ravi")
    assert asha is not None and ravi is not None
    assert customer_to_attrs(asha)["phone"] == PHONE
    assert customer_from_attrs(customer_to_attrs(asha)).phone == PHONE
    assert "phone" not in customer_to_attrs(ravi)


def test_erasing_a_customer_erases_the_phone(api: Api) -> None:
    api.customer("asha", phone=PHONE)
    privacy.erase_customer(bootstrap.wiring().services, "asha", actor="dpo", note="request 7")
    found = api.repo.get_customer("asha")
    assert found is not None and found.phone is None
    assert PHONE not in str(customer_to_attrs(found))


def test_razorpay_gets_the_phone_as_the_contact_of_the_customer_and_each_debit(
    api: Api,
) -> None:
    rzp, sent = RazorpaySandbox(clock=api.clock.now), []

    def transport(request: HttpRequest, timeout: float) -> HttpResponse:
        sent.append(request)
        return rzp(request, timeout)

    gateway = RazorpayGateway(*SANDBOX_KEY, transport=transport, max_retries=0)
    base = bootstrap.wiring().services
    default = SandboxGateway(clock=api.clock.now)
    services = Services(base.repo, base.clock, default, gateways={"razorpay": gateway})
    bootstrap.use(bootstrap.Wiring(services))
    api.plan("monthly-inr", 50_000, currency="INR")
    api.customer("asha", provider="razorpay", phone=PHONE)
    cards.update_payment_method(services, "asha", "token_upi_success", "razorpay", True)
    api.subscription("sub-asha", customer="asha", plan="monthly-inr")

    [customer] = rzp.customers.values()
    assert customer["contact"] == PHONE
    [debit] = [r for r in sent if r.url.endswith("/payments/create/recurring")]
    assert json.loads(debit.body or b"{}")["contact"] == PHONE
