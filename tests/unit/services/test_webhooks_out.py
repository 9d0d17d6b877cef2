"""Outbound webhooks through the use cases, on the in-memory store with time injected: what
a receiver gets, how a failing one is retried, and what is refused."""

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tenure.clock import SystemClock
from tenure.domain.errors import ConcurrencyError, NotFoundError, ValidationFailedError
from tenure.domain.webhooks_out import (
    RETRY_WINDOW,
    DeliveryStatus,
    EndpointStatus,
    WebhookEndpoint,
    check_url,
    retry_wait,
)
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services import webhooks_out
from tenure.services.context import Services
from tenure.services.webhooks_out import SendFailedError

PUBLIC = ["93.184.215.14"]


def an_event(n: int = 1, kind: str = "InvoicePaid") -> dict[str, object]:
    return {
        "id": f"evt_{n}",
        "type": kind,
        "occurred_at": "2026-03-02T09:00:00Z",
        "entity_id": "in_1",
        "customer_id": "cus_1",
        "data": {"amount_minor": 1500, "currency": "EUR"},
    }


@dataclass
class Receiver:
    """Answers with the statuses it is given, in turn (None: no answer), then 200."""

    answers: list[int | None] = field(default_factory=list)
    got: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def post(self, url: str, headers: dict[str, str], body: str) -> int:
        self.got.append((url, headers, body))
        answer = self.answers.pop(0) if self.answers else 200
        if answer is None:
            raise SendFailedError("connection refused")
        return answer


@pytest.fixture
def clock() -> FixedClock:
    # The library checks a delivery's timestamp against the wall clock (5 minutes either
    # way), so the injected clock starts from it, then moves only when told to.
    return FixedClock(SystemClock().now().replace(microsecond=0))


@pytest.fixture
def svc(clock: FixedClock) -> Services:
    return Services(repo=InMemoryRepository(), clock=clock)


def register(svc: Services, url: str = "https://app.example.com/hooks", **kw: object) -> str:
    events = kw.pop("events", ["*"])
    endpoint = webhooks_out.register_endpoint(
        svc,
        url,
        events,
        local=bool(kw.pop("local", False)),
        addresses=lambda host: PUBLIC,  # type: ignore[arg-type]
    )
    return endpoint.id


def send_one(svc: Services, receiver: Receiver, event: dict[str, object] | None = None) -> str:
    [delivery] = webhooks_out.fan_out(svc, event or an_event(), version=3)
    webhooks_out.attempt(svc, receiver, delivery.id)
    return delivery.id


def test_a_delivery_verifies_with_the_standard_webhooks_library(svc: Services) -> None:
    endpoint = webhooks_out.get_endpoint(svc, register(svc))
    receiver = Receiver()
    send_one(svc, receiver)
    [(url, headers, body)] = receiver.got
    assert url == "https://app.example.com/hooks"
    assert endpoint.secret.startswith("whsec_")
    verified = Webhook(endpoint.secret).verify(body, headers)
    assert verified["type"] == "InvoicePaid"
    assert verified["data"]["id"] == "evt_1"
    assert verified["data"]["object_version"] == 3


def test_a_tampered_delivery_does_not_verify(svc: Services) -> None:
    endpoint = webhooks_out.get_endpoint(svc, register(svc))
    receiver = Receiver()
    send_one(svc, receiver)
    [(_, headers, body)] = receiver.got
    tampered = body.replace("1500", "15000")
    assert tampered != body
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body, headers | {"webhook-id": "msg_other"})


def test_a_receiver_that_fails_five_times_then_succeeds_gets_the_event_once_more(
    svc: Services, clock: FixedClock
) -> None:
    register(svc)
    receiver = Receiver(answers=[500, None, 503, 502, 429])
    delivery_id = send_one(svc, receiver)
    for failures in range(1, 6):
        delivery = svc.repo.get_webhook_delivery(delivery_id)
        assert delivery is not None and delivery.status is DeliveryStatus.PENDING
        assert delivery.next_attempt_at == clock.now() + retry_wait(failures)
        # Not due yet: a try a second early sends nothing.
        clock.set(delivery.next_attempt_at - timedelta(seconds=1))
        webhooks_out.attempt(svc, receiver, delivery_id)
        assert len(receiver.got) == failures
        clock.set(delivery.next_attempt_at)
        webhooks_out.attempt(svc, receiver, delivery_id)
    assert len(receiver.got) == 6
    done = svc.repo.get_webhook_delivery(delivery_id)
    assert done is not None and done.status is DeliveryStatus.SUCCEEDED
    assert done.attempts == 6 and done.last_status == 200
    # Every try carries the same webhook-id, each freshly signed.
    assert {h["webhook-id"] for _, h, _ in receiver.got} == {delivery_id}
    webhooks_out.attempt(svc, receiver, delivery_id)
    assert len(receiver.got) == 6  # succeeded: never sent again


def test_the_waits_double_from_thirty_seconds_up_to_twelve_hours() -> None:
    assert [retry_wait(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert retry_wait(12) == timedelta(hours=12)
    assert retry_wait(400) == timedelta(hours=12)


def drive_until_settled(
    svc: Services, clock: FixedClock, receiver: Receiver, delivery_id: str
) -> None:
    while True:
        delivery = svc.repo.get_webhook_delivery(delivery_id)
        assert delivery is not None
        if delivery.status is not DeliveryStatus.PENDING or delivery.next_attempt_at is None:
            return
        clock.set(delivery.next_attempt_at)
        webhooks_out.attempt(svc, receiver, delivery_id)


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_delivery_stops(
    svc: Services, clock: FixedClock
) -> None:
    endpoint_id = register(svc)
    receiver = Receiver(answers=[500] * 100)
    start = clock.now()
    delivery_id = send_one(svc, receiver)
    drive_until_settled(svc, clock, receiver, delivery_id)
    delivery = svc.repo.get_webhook_delivery(delivery_id)
    assert delivery is not None and delivery.status is DeliveryStatus.FAILED
    assert delivery.last_attempt_at is not None
    assert delivery.last_attempt_at - start <= RETRY_WINDOW
    assert delivery.last_attempt_at + retry_wait(delivery.failures) - start > RETRY_WINDOW
    endpoint = webhooks_out.get_endpoint(svc, endpoint_id)
    assert endpoint.status is EndpointStatus.DISABLED
    assert webhooks_out.fan_out(svc, an_event(2), version=1) == []


def test_an_endpoint_that_succeeded_meanwhile_stays_enabled(
    svc: Services, clock: FixedClock
) -> None:
    endpoint_id = register(svc)
    always_down = Receiver(answers=[500] * 100)
    stuck = send_one(svc, always_down)
    clock.advance(timedelta(days=1))
    send_one(svc, Receiver(), an_event(2))  # a later event gets through
    drive_until_settled(svc, clock, always_down, stuck)
    assert webhooks_out.get_endpoint(svc, endpoint_id).status is EndpointStatus.ENABLED


def test_a_replay_sends_a_failed_delivery_again_with_fresh_tries(
    svc: Services, clock: FixedClock
) -> None:
    endpoint_id = register(svc)
    receiver = Receiver(answers=[500] * 100)
    delivery_id = send_one(svc, receiver)
    drive_until_settled(svc, clock, receiver, delivery_id)
    webhooks_out.enable_endpoint(svc, endpoint_id)
    receiver.answers.clear()
    replayed = webhooks_out.replay(svc, delivery_id)
    assert replayed.next_attempt_at == clock.now()
    webhooks_out.attempt(svc, receiver, delivery_id)
    after = svc.repo.get_webhook_delivery(delivery_id)
    assert after is not None and after.status is DeliveryStatus.SUCCEEDED
    assert receiver.got[-1][1]["webhook-id"] == delivery_id


def test_an_endpoint_gets_only_the_events_it_names(svc: Services) -> None:
    register(svc, events=["PaymentFailed"])
    assert webhooks_out.fan_out(svc, an_event(1, "InvoicePaid"), version=1) == []
    assert len(webhooks_out.fan_out(svc, an_event(2, "PaymentFailed"), version=1)) == 1


def test_an_event_seen_twice_makes_one_delivery(svc: Services) -> None:
    register(svc)
    receiver = Receiver()
    first = send_one(svc, receiver)
    [again] = webhooks_out.fan_out(svc, an_event(), version=3)
    assert again.id == first and again.status is DeliveryStatus.SUCCEEDED
    webhooks_out.attempt(svc, receiver, again.id)
    assert len(receiver.got) == 1


def test_no_endpoint_means_no_delivery_and_nothing_stored(svc: Services) -> None:
    assert webhooks_out.fan_out(svc, an_event(), version=1) == []
    assert svc.repo.list_webhook_endpoints() == []


def test_a_deleted_endpoint_stops_its_pending_deliveries(svc: Services) -> None:
    endpoint_id = register(svc)
    [delivery] = webhooks_out.fan_out(svc, an_event(), version=1)
    webhooks_out.delete_endpoint(svc, endpoint_id)
    receiver = Receiver()
    after = webhooks_out.attempt(svc, receiver, delivery.id)
    assert receiver.got == []
    assert after is not None and after.status is DeliveryStatus.FAILED
    with pytest.raises(NotFoundError):
        webhooks_out.delete_endpoint(svc, endpoint_id)


def refused(svc: Services, url: str, addresses: list[str] = PUBLIC, *, local: bool = False) -> str:
    with pytest.raises(ValidationFailedError) as caught:
        webhooks_out.register_endpoint(
            svc, url, ["*"], local=local, addresses=lambda host: addresses
        )
    assert svc.repo.list_webhook_endpoints() == []
    return str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://app.example.com/hooks",
        "ftp://app.example.com/",
        "https:///nohost",
        "app.example.com",
        "https://[::1/hooks",
        "https://[nope]/hooks",
        "https://app.example.com:port/",
        "https://user:pw@app.example.com/",
        "https://app.example.com/\u00e9",
    ],
)
def test_a_url_not_https_or_malformed_is_refused_and_nothing_stored(
    svc: Services, url: str
) -> None:
    assert refused(svc, url).startswith("url:")


@pytest.mark.parametrize(
    "address",
    ["10.0.0.8", "192.168.1.2", "127.0.0.1", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"],
)
def test_a_host_resolving_to_a_private_address_is_refused_when_deployed(
    svc: Services, address: str
) -> None:
    assert address in refused(svc, "https://hooks.example.com/in", ["93.184.215.14", address])


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::169.254.169.254",  # IPv4-compatible (deprecated; Python calls it global)
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (Python calls it global)
        "64:ff9b::a00:8",  # NAT64 of 10.0.0.8
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (Python calls it global)
        "2002:c0a8:102::1",  # 6to4 of 192.168.1.2
    ],
)
def test_an_ipv6_address_that_carries_a_private_ipv4_one_is_refused_when_deployed(
    svc: Services, address: str
) -> None:
    # A gateway that translates these (NAT64, 6to4, a dual-stack socket) reaches the IPv4
    # address inside, which the docs promise is never called.
    assert address in refused(svc, "https://hooks.example.com/in", [address])


def test_a_host_that_does_not_resolve_is_refused(svc: Services) -> None:
    def nowhere(host: str) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(ValidationFailedError, match="does not resolve"):
        webhooks_out.register_endpoint(
            svc, "https://nowhere.example/", ["*"], local=False, addresses=nowhere
        )
    assert svc.repo.list_webhook_endpoints() == []


def test_loopback_http_is_allowed_only_in_local_mode(svc: Services) -> None:
    refused(svc, "http://127.0.0.1:8080/hooks")
    refused(svc, "http://10.1.2.3:8080/hooks", local=True)
    assert register(svc, "http://127.0.0.1:8080/hooks", local=True).startswith("we_")


@pytest.mark.parametrize(
    ("events", "says"),
    [([], "at least one"), (["*", "InvoicePaid"], "alone"), (["InvoiceEaten"], "InvoiceEaten")],
)
def test_a_bad_event_list_is_refused_and_nothing_stored(
    svc: Services, events: list[str], says: str
) -> None:
    with pytest.raises(ValidationFailedError, match=says):
        webhooks_out.register_endpoint(
            svc, "https://app.example.com/", events, local=False, addresses=lambda h: PUBLIC
        )
    assert svc.repo.list_webhook_endpoints() == []


def test_each_endpoint_gets_its_own_secret(svc: Services) -> None:
    one = webhooks_out.get_endpoint(svc, register(svc))
    two = webhooks_out.get_endpoint(svc, register(svc))
    assert one.id != two.id and one.secret != two.secret


def test_the_payload_is_the_event_in_the_standard_envelope(svc: Services) -> None:
    register(svc)
    [delivery] = webhooks_out.fan_out(svc, an_event(), version=7)
    body = json.loads(delivery.payload)
    assert body["type"] == "InvoicePaid" and body["timestamp"] == "2026-03-02T09:00:00Z"
    assert body["data"]["entity_id"] == "in_1" and body["data"]["object_version"] == 7


def test_a_host_that_now_resolves_to_a_private_address_is_not_sent_to(svc: Services) -> None:
    register(svc)
    [delivery] = webhooks_out.fan_out(svc, an_event(), version=1)
    receiver = Receiver()

    def now_private(url: str) -> None:
        check_url(url, local=False, addresses=lambda host: ["169.254.169.254"])

    after = webhooks_out.attempt(svc, receiver, delivery.id, url_allowed=now_private)
    assert receiver.got == []
    assert after is not None and after.status is DeliveryStatus.PENDING
    assert after.failures == 1 and after.last_error is not None
    assert "169.254.169.254" in after.last_error


def test_after_a_rotation_deliveries_verify_under_both_secrets_until_the_old_one_expires(
    svc: Services, clock: FixedClock
) -> None:
    endpoint_id = register(svc)
    old = webhooks_out.get_endpoint(svc, endpoint_id).secret
    rotated = webhooks_out.rotate_secret(svc, endpoint_id, timedelta(hours=1))
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    assert rotated.previous_secret_until == clock.now() + timedelta(hours=1)
    receiver = Receiver()
    send_one(svc, receiver)
    [(_, headers, body)] = receiver.got
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (rotated.secret, old):  # a receiver on either verifies it
        assert Webhook(secret).verify(body, headers)["data"]["id"] == "evt_1"
    # An hour later only the new secret signs (the library's own signing, since its verify
    # compares the timestamp with the wall clock)
    clock.set(clock.now() + timedelta(hours=1))
    send_one(svc, receiver, an_event(2))
    _, headers, body = receiver.got[-1]
    msg_id, at = headers["webhook-id"], clock.now()
    assert headers["webhook-signature"] == Webhook(rotated.secret).sign(msg_id, at, body)
    assert Webhook(old).sign(msg_id, at, body) not in headers["webhook-signature"]


def test_a_rotation_with_no_grace_stops_the_old_secret_at_once_and_a_second_drops_the_first(
    svc: Services,
) -> None:
    endpoint_id = register(svc)
    first = webhooks_out.get_endpoint(svc, endpoint_id).secret
    second = webhooks_out.rotate_secret(svc, endpoint_id).secret  # the old one kept a day
    third = webhooks_out.rotate_secret(svc, endpoint_id, timedelta(0))
    assert third.previous_secret is None and third.previous_secret_until is None
    assert webhooks_out.get_endpoint(svc, endpoint_id) == third
    receiver = Receiver()
    send_one(svc, receiver)
    [(_, headers, body)] = receiver.got
    assert Webhook(third.secret).verify(body, headers)
    for gone in (first, second):
        with pytest.raises(WebhookVerificationError):
            Webhook(gone).verify(body, headers)


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(hours=24, seconds=1)])
def test_a_grace_outside_a_day_is_refused_and_changes_nothing(
    svc: Services, grace: timedelta
) -> None:
    endpoint_id = register(svc)
    before = webhooks_out.get_endpoint(svc, endpoint_id)
    with pytest.raises(ValidationFailedError, match="previous_secret_expires_in"):
        webhooks_out.rotate_secret(svc, endpoint_id, grace)
    assert webhooks_out.get_endpoint(svc, endpoint_id) == before
    with pytest.raises(NotFoundError):
        webhooks_out.rotate_secret(svc, "we_nope")


def test_two_rotations_at_once_answer_one_secret_and_refuse_the_other(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_id = register(svc)
    repo = svc.repo
    assert isinstance(repo, InMemoryRepository)
    real = repo.rotate_webhook_secret
    winner: list[str] = []

    def racing(endpoint_id_: str, was: str, rotated: WebhookEndpoint, audit: object = None) -> bool:
        if not winner:  # the other rotation commits between this one's read and its write
            monkeypatch.setattr(repo, "rotate_webhook_secret", real)
            winner.append(webhooks_out.rotate_secret(svc, endpoint_id_).secret)
        return real(endpoint_id_, was, rotated, audit)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "rotate_webhook_secret", racing)
    with pytest.raises(ConcurrencyError):
        webhooks_out.rotate_secret(svc, endpoint_id)
    assert webhooks_out.get_endpoint(svc, endpoint_id).secret == winner[0]
