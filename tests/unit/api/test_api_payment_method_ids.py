"""POST /v1/customers/{id}/payment-methods takes what the providers' ids can be: Stripe's
pm_/tok_ ids, Razorpay's token_ ids and UPI ids (name@handle, as scenario files take them),
and nothing with spaces, control characters or of unbounded length."""

from collections.abc import Iterator

import pytest
from api_harness import Api
from test_api_bad_input import refused

from tenure import bootstrap
from tenure.payments.razorpay_gateway import RazorpayGateway
from tenure.payments.razorpay_sandbox import SANDBOX_KEY, RazorpaySandbox
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services

PATH = "/v1/customers/asha/payment-methods"


@pytest.fixture
def asha(api: Api) -> Iterator[Api]:
    """asha pays through Razorpay (its sandbox behind the real adapter)."""
    gateway = RazorpayGateway(*SANDBOX_KEY, transport=RazorpaySandbox(), max_retries=0)
    base = bootstrap.wiring().services
    default = SandboxGateway(clock=api.clock.now)
    services = Services(base.repo, base.clock, default, gateways={"razorpay": gateway})
    bootstrap.use(bootstrap.Wiring(services))
    api.customer("asha", provider="razorpay")
    yield api


@pytest.mark.parametrize("vpa", ["success@razorpay", "failure@razorpay"])
def test_a_razorpay_upi_id_is_taken_as_scenario_files_take_it(asha: Api, vpa: str) -> None:
    reply = asha.post(PATH, {"payment_method": vpa, "default": True})

    assert reply.status == 201, reply.text
    customer = asha.repo.get_customer("asha")
    assert customer is not None and customer.default_payment_method == vpa


def test_a_razorpay_token_id_is_still_taken(asha: Api) -> None:
    reply = asha.post(PATH, {"payment_method": "token_upi_success", "default": True})

    assert reply.status == 201, reply.text


@pytest.mark.parametrize(
    "value",
    [
        "success @razorpay",  # a space
        "success@razorpay\n",  # a control character
        "success\u202e@razorpay",  # a bidi override
        "a@b@c",  # two handles
        "@razorpay",  # no name
        "success@",  # no handle
        "pm_" + "x" * 98,  # longer than any provider's id
    ],
)
def test_ids_no_provider_makes_are_a_422_on_the_field(asha: Api, value: str) -> None:
    reply = refused(asha, "POST", PATH, {"payment_method": value})

    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "payment_method"]]
