"""Secrets, the replay tool, sample re-signing, the courier and the scenario's provider actions."""

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from webhooks_harness import ROOT

from tenure.payments import stripe_objects
from tenure.payments.sandbox import SandboxGateway
from tenure.webhooks import stripe_events
from tenure.webhooks.errors import SecretNotConfiguredError
from tenure_local.cli import webhooks as webhooks_cli
from tenure_local.simulator.scenario import (
    CardAutoUpdated,
    Dispute,
    ProviderRefund,
    ScenarioError,
    parse,
)
from tenure_local.simulator.webhooks_provider import WebhookCourier

sys.path.append(str(ROOT / "functions" / "webhooks"))
import webhooks_secrets

SAMPLES = ROOT / "events" / "webhooks"


# -- secrets -----------------------------------------------------------------------------------
def test_a_local_secret_may_list_two_during_a_rollover(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", " whsec_new , whsec_old ,")
    assert webhooks_secrets.secrets_for("stripe") == ("whsec_new", "whsec_old")


@pytest.mark.parametrize(
    ("text", "provider", "expected"),
    [
        ("whsec_a", "stripe", ("whsec_a",)),  # docs/deploy.md: a plain string is Stripe's
        ("whsec_a,whsec_b", "stripe", ("whsec_a", "whsec_b")),
        ("whsec_a", "razorpay", ()),
        ('{"stripe": ["whsec_a", "whsec_b"], "razorpay": "r1"}', "stripe", ("whsec_a", "whsec_b")),
        ('{"stripe": ["whsec_a"], "razorpay": "r1,r0"}', "razorpay", ("r1", "r0")),
        ('{"stripe": "whsec_a"}', "razorpay", ()),
        ("{not json", "stripe", ()),
    ],
)
def test_the_aws_secret_may_be_plain_or_json_by_provider(
    text: str, provider: str, expected: tuple[str, ...]
) -> None:
    assert webhooks_secrets._from_secret_string(provider, text) == expected


def test_no_secret_anywhere_is_refused_as_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENURE_RAZORPAY_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("WEBHOOK_SECRET_ARN", raising=False)
    with pytest.raises(SecretNotConfiguredError):
        webhooks_secrets.secrets_for("razorpay")


# -- the replay tool and the samples ----------------------------------------------------------
def test_every_sample_is_an_api_gateway_event_the_replay_tool_can_read() -> None:
    samples = sorted(SAMPLES.glob("*.json"))
    assert {p.name.split("-")[0] for p in samples} == {"stripe", "razorpay"}
    for path in samples:
        provider, body, headers = webhooks_cli.load_delivery(path)
        assert provider in ("stripe", "razorpay")
        assert json.loads(body)
        assert headers.get("stripe-signature") or headers.get("x-razorpay-signature")


def test_a_placeholder_signature_is_resigned_now_and_a_real_one_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_local")
    sample = json.loads((SAMPLES / "stripe-payment-intent-succeeded.json").read_text())
    resigned = webhooks_cli.resign_sample(sample)
    header = resigned["headers"]["stripe-signature"]
    assert "SAMPLE" not in header
    stripe_events.verify(
        resigned["body"].encode(),
        resigned["headers"],
        ["whsec_local"],
        int(datetime.now(UTC).timestamp()),
    )
    stale = json.loads((SAMPLES / "stripe-rejected-stale-signature.json").read_text())
    assert webhooks_cli.resign_sample(stale) == stale


def test_a_razorpay_sample_keeps_its_event_id_when_resigned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TENURE_RAZORPAY_WEBHOOK_SECRET", "rzp_local")
    sample = json.loads((SAMPLES / "razorpay-payment-captured.json").read_text())
    resigned = webhooks_cli.resign_sample(sample)
    assert resigned["headers"]["x-razorpay-event-id"] == sample["headers"]["x-razorpay-event-id"]
    assert resigned["headers"]["x-razorpay-signature"] != "SAMPLE"


def test_bare_provider_events_are_recognised(tmp_path: Path) -> None:
    stripe_file = tmp_path / "evt.json"
    stripe_file.write_text(json.dumps({"id": "evt_1", "object": "event"}))
    razorpay_file = tmp_path / "rzp.json"
    razorpay_file.write_text(json.dumps({"entity": "event", "event": "payment.captured"}))
    assert webhooks_cli.load_delivery(stripe_file)[0] == "stripe"
    assert webhooks_cli.load_delivery(razorpay_file)[0] == "razorpay"
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(webhooks_cli.ReplayError):
        webhooks_cli.load_delivery(tmp_path / "other.json")
    assert len(webhooks_cli.replay_files([tmp_path])) == 3


def test_replay_fails_on_an_event_the_endpoint_recorded_as_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tenure_local.cli.main import app

    (tmp_path / "evt.json").write_text(json.dumps({"id": "evt_1", "object": "event"}))
    answers = iter(
        [
            (200, '{"received": true, "result": "rejected", "reason": "unreadable"}'),
            (200, '{"received": true, "result": "applied"}'),
        ]
    )
    monkeypatch.setattr(webhooks_cli, "post", lambda url, body, headers: next(answers))
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_test")

    first = CliRunner().invoke(app, ["webhooks", "replay", str(tmp_path)])
    second = CliRunner().invoke(app, ["webhooks", "replay", str(tmp_path)])

    assert (first.exit_code, second.exit_code) == (1, 0)
    assert webhooks_cli.rejected('{"result": "rejected"}')
    assert not webhooks_cli.rejected("not json") and not webhooks_cli.rejected("[]")


def test_replay_signs_fresh_and_keeps_the_other_headers() -> None:
    kept = {"stripe-signature": "t=1,v1=old", "user-agent": "Stripe/1.0", "content-length": "9"}
    headers = webhooks_cli.signed_headers("stripe", b"{}", "whsec_x", kept)
    assert headers["stripe-signature"] != "t=1,v1=old"
    assert headers["user-agent"] == "Stripe/1.0" and "content-length" not in headers
    assert webhooks_cli.endpoint("http://h:3000", "stripe") == "http://h:3000/webhooks/stripe"
    assert webhooks_cli.endpoint("http://h/webhooks/stripe", "x") == "http://h/webhooks/stripe"


# -- the simulator's courier -------------------------------------------------------------------
def courier_run(chaos: bool, seed: int) -> tuple[list[tuple[int, str]], WebhookCourier]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    gateway = SandboxGateway()
    for n in range(20):
        gateway.events.append(
            stripe_objects.event(
                id=f"evt_{n}",
                type="customer.created",
                obj={"id": f"cus_{n}"},
                created=int(start.timestamp()) + n,
            )
        )
    sent: list[tuple[int, str]] = []
    now = [start]

    def send(provider: str, body: bytes, headers: dict[str, str]) -> int:
        at = int(now[0].timestamp())
        stripe_events.verify(body, headers, ["whsec"], at)  # signed at delivery
        sent.append((at, json.loads(body)["id"]))
        return 200

    until = start + timedelta(hours=3)
    courier = WebhookCourier(gateway, "whsec", send, until, chaos=chaos, seed=seed)
    courier.collect(start)
    while (next_at := courier.next_at()) is not None:
        now[0] = max(next_at, now[0])
        courier.deliver_due(now[0])
    assert all(at <= int(until.timestamp()) for at, _ in sent)  # drained by until
    return sent, courier


def test_calm_delivery_is_at_once_and_in_order() -> None:
    sent, courier = courier_run(chaos=False, seed=0)
    assert [event_id for _, event_id in sent] == [f"evt_{n}" for n in range(20)]
    assert courier.stats.duplicates_sent == 0


def test_events_handed_to_the_courier_leave_the_provider_and_are_delivered_once() -> None:
    sent, courier = courier_run(chaos=False, seed=0)
    assert courier.gateway.events == []
    courier.collect(datetime(2026, 3, 1, 5, tzinfo=UTC))
    assert courier.next_at() is None and len(sent) == 20


def test_chaos_is_late_duplicated_reordered_and_the_same_for_the_same_seed() -> None:
    sent, courier = courier_run(chaos=True, seed=4)
    ids = [event_id for _, event_id in sent]
    assert set(ids) == {f"evt_{n}" for n in range(20)}
    assert len(ids) > 20 and courier.stats.duplicates_sent == len(ids) - 20
    assert ids != sorted(ids, key=lambda i: int(i.split("_")[1]))
    assert courier_run(chaos=True, seed=4)[0] == sent
    assert courier_run(chaos=True, seed=5)[0] != sent


# -- scenario actions at the provider ----------------------------------------------------------
def scenario(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-04-01T00:00:00Z",
        "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
        "customers": [{"id": "alice", "email": "a@example.com", "card": "4242424242424242"}],
        "actions": [
            {
                "at": "2026-01-01T00:00:00Z",
                "do": "subscribe",
                "customer": "alice",
                "plan": "basic",
                "id": "s1",
            },
            *actions,
        ],
    }


REFUND = {"do": "provider_refund", "subscription": "s1", "period_start": "2026-01-01T00:00:00Z"}
DISPUTE = {
    "do": "dispute",
    "subscription": "s1",
    "period_start": "2026-01-01T00:00:00Z",
    "outcome": "lost",
    "closed_at": "2026-02-01T00:00:00Z",
}
UPDATED = {"do": "card_auto_updated", "customer": "alice", "card": "5555 5555 5555 4444"}


def test_the_provider_actions_parse() -> None:
    parsed = parse(
        scenario(
            {"at": "2026-01-10T00:00:00Z", **REFUND, "amount": 300},
            {"at": "2026-01-11T00:00:00Z", **DISPUTE},
            {"at": "2026-01-12T00:00:00Z", **UPDATED},
        )
    )
    kinds = [type(a) for a in parsed.actions[1:]]
    assert kinds == [ProviderRefund, Dispute, CardAutoUpdated]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"do": "dispute", "subscription": "s1", "period_start": "2026-01-01T00:00:00Z",
          "outcome": "lost", "closed_at": "2026-01-05T00:00:00Z"}, "closed_at"),
        ({"do": "dispute", "subscription": "s1", "period_start": "2026-01-01T00:00:00Z",
          "outcome": "maybe", "closed_at": "2026-02-05T00:00:00Z"}, "actions[1].outcome"),
        ({"do": "provider_refund", "subscription": "nope", "period_start": "2026-01-01T00:00:00Z"},
         "unknown subscription"),
        ({"do": "provider_refund", "subscription": "s1", "period_start": "2026-01-01T00:00:00Z",
          "amount": 0}, "actions[1].amount"),
        ({"do": "card_auto_updated", "customer": "alice", "card": "1234"}, "unknown test card"),
    ],
)  # fmt: skip
def test_a_bad_provider_action_is_refused_before_anything_runs(
    action: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(scenario({"at": "2026-01-10T00:00:00Z", **action}))
