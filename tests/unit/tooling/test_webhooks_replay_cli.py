"""`tenure webhooks replay` as the README writes it: each event to its provider's route,
signed with its provider's secret, found in the environment or in the running `tenure serve`."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure_local.cli import webhooks as webhooks_cli
from tenure_local.cli.main import app
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "events" / "webhooks"
SECRETS = ("TENURE_STRIPE_WEBHOOK_SECRET", "TENURE_RAZORPAY_WEBHOOK_SECRET")


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(url, secret) of every post, none of which leaves the process."""
    sent: list[tuple[str, str]] = []
    secrets: list[str] = []
    real = webhooks_cli.signed_headers

    def signed(name: str, body: bytes, secret: str, kept: dict[str, str]) -> dict[str, str]:
        secrets.append(secret)
        return real(name, body, secret, kept)

    def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        sent.append((url, secrets[-1]))
        return 200, '{"received": true, "result": "unmatched"}'

    monkeypatch.setattr(webhooks_cli, "signed_headers", signed)
    monkeypatch.setattr(webhooks_cli, "post", post)
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    return sent


def serving(monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None) -> list[int]:
    """Pretend a `tenure serve` runs here with `env` (None: none runs); count the looks."""
    looks: list[int] = []

    def attach(path: Path | None = None) -> dict[str, str] | None:
        looks.append(1)
        return env

    monkeypatch.setattr(LocalStack, "attach", staticmethod(attach))
    return looks


def replay(*args: str) -> Any:
    return CliRunner().invoke(app, ["webhooks", "replay", *args])


def test_the_readme_line_posts_each_sample_to_its_providers_route_with_the_serving_secrets(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = serving(
        monkeypatch,
        {
            "TENURE_STRIPE_WEBHOOK_SECRET": "whsec_s,whsec_old",
            "TENURE_RAZORPAY_WEBHOOK_SECRET": "rz",
        },
    )

    done = replay(str(SAMPLES), "--url", "http://127.0.0.1:3000/webhooks/stripe")

    assert done.exit_code == 0, done.output
    samples = sorted(SAMPLES.glob("*.json"))
    assert len(posted) == len(samples)
    assert posted[0] == ("http://127.0.0.1:3000/webhooks/razorpay", "rz")
    assert set(posted[1:]) == {("http://127.0.0.1:3000/webhooks/stripe", "whsec_s")}
    assert looks == [1]  # one look for the whole run


def test_a_secret_in_the_environment_wins_over_the_serving_one(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = serving(monkeypatch, {"TENURE_STRIPE_WEBHOOK_SECRET": "whsec_serving"})
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_mine")

    done = replay(str(SAMPLES / "stripe-charge-refunded.json"))

    assert done.exit_code == 0, done.output
    assert posted == [("http://127.0.0.1:3000/webhooks/stripe", "whsec_mine")]
    assert looks == []


def test_secret_env_names_the_one_variable_used_for_every_provider(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    serving(monkeypatch, {"TENURE_STRIPE_WEBHOOK_SECRET": "whsec_serving"})
    monkeypatch.setenv("MY_SECRET", "whsec_named")

    done = replay(str(SAMPLES), "--url", "http://127.0.0.1:3000", "--secret-env", "MY_SECRET")

    assert done.exit_code == 0, done.output
    assert {secret for _, secret in posted} == {"whsec_named"}


def test_with_no_secret_anywhere_nothing_is_sent_and_the_message_says_what_to_set(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    serving(monkeypatch, None)
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_s")  # Razorpay's is missing

    done = replay(str(SAMPLES), "--url", "http://127.0.0.1:3000/webhooks/stripe")

    assert done.exit_code == 2
    assert posted == []  # not even the Stripe events, whose secret was there
    assert "no signing secret for razorpay: no `tenure serve` is running here" in done.output
    assert "TENURE_RAZORPAY_WEBHOOK_SECRET is not set" in done.output


def test_a_remote_url_never_gets_the_local_stacks_secret(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = serving(monkeypatch, {"TENURE_STRIPE_WEBHOOK_SECRET": "whsec_local_dev"})

    done = replay(
        str(SAMPLES / "stripe-charge-refunded.json"), "--url", "https://api.example.com/prod"
    )

    assert done.exit_code == 2
    assert posted == [] and looks == []
    assert "no signing secret for stripe: TENURE_STRIPE_WEBHOOK_SECRET is not set" in done.output


def test_a_named_secret_variable_that_is_unset_is_refused(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    serving(monkeypatch, {"TENURE_STRIPE_WEBHOOK_SECRET": "whsec_serving"})

    done = replay(str(SAMPLES / "stripe-charge-refunded.json"), "--secret-env", "NOPE_UNSET")

    assert done.exit_code == 2 and posted == []
    assert "NOPE_UNSET is not set" in done.output


def test_an_event_for_a_provider_tenure_does_not_know_is_skipped_not_a_traceback(
    posted: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serving(monkeypatch, {"TENURE_STRIPE_WEBHOOK_SECRET": "whsec_s"})
    sample = json.loads((SAMPLES / "stripe-charge-refunded.json").read_text())
    (tmp_path / "a.json").write_text(
        json.dumps(sample | {"pathParameters": {"provider": "paypal"}})
    )
    (tmp_path / "b.json").write_text(json.dumps(sample))

    done = replay(str(tmp_path))

    assert done.exit_code == 1
    assert "skip" in done.output and "no webhook provider named 'paypal'" in done.output
    assert posted == [("http://127.0.0.1:3000/webhooks/stripe", "whsec_s")]


@pytest.mark.parametrize(
    ("url", "provider", "target"),
    [
        ("http://h:3000", "razorpay", "http://h:3000/webhooks/razorpay"),
        ("http://h/webhooks/stripe", "razorpay", "http://h/webhooks/razorpay"),
        ("http://h/webhooks/razorpay", "razorpay", "http://h/webhooks/razorpay"),
        ("https://x/prod/webhooks/stripe?trace=1", "razorpay",
         "https://x/prod/webhooks/razorpay?trace=1"),
        ("http://h/webhooks/custom", "stripe", "http://h/webhooks/custom"),
    ],
)  # fmt: skip
def test_an_event_goes_to_its_own_providers_route(url: str, provider: str, target: str) -> None:
    assert webhooks_cli.endpoint(url, provider) == target
