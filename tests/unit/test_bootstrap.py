"""The composition root: one wiring built from settings and the adapters given, nothing kept
between builds, and one seam through which local tooling hands the handlers its own."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.notify.mailers import OutboxMailer, SesMailer, TeeMailer
from tenure.payments.rate_limit import RateLimitedGateway
from tenure.services.context import Services
from tenure.settings import Settings, SettingsError

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_process_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("PAYMENT_PROVIDER", "sandbox")
    bootstrap.use(None)
    yield
    bootstrap.use(None)


class RecordingClients:
    """An AWS client factory that says which clients were asked for."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, service: str) -> Any:
        self.made.append(service)
        return object()


def test_a_build_uses_the_adapters_it_is_given_and_makes_the_rest_from_the_settings() -> None:
    store, clock = InMemoryRepository(), FixedClock(T0)

    wired = bootstrap.build(Settings(PAYMENT_PROVIDER="sandbox"), store=store, clock=clock)

    assert wired.services.repo is store and wired.services.clock is clock
    assert isinstance(wired.services.gateway, RateLimitedGateway)


def test_two_builds_share_nothing() -> None:
    settings = Settings(PAYMENT_PROVIDER="sandbox")
    first = bootstrap.build(settings, store=InMemoryRepository())
    second = bootstrap.build(settings, store=InMemoryRepository())

    assert isinstance(first.services.gateway, RateLimitedGateway)
    assert isinstance(second.services.gateway, RateLimitedGateway)
    assert first.services.gateway.inner is not second.services.gateway.inner
    assert first.services.gateway.throttle is not second.services.gateway.throttle
    assert first.clients is not second.clients


def test_the_process_wiring_is_built_once_until_local_tooling_hands_over_its_own() -> None:
    built = bootstrap.wiring()
    assert bootstrap.wiring() is built

    ours = bootstrap.Wiring(Services(InMemoryRepository(), FixedClock(T0)))
    bootstrap.use(ours)
    assert bootstrap.wiring() is ours

    bootstrap.use(None)
    assert bootstrap.wiring() not in (built, ours)


def test_the_mailer_is_made_on_first_use_once_and_copies_to_the_outbox_when_set(
    tmp_path: Path,
) -> None:
    clients = RecordingClients()
    settings = Settings(TENURE_OUTBOX_DIR=str(tmp_path))
    wired = bootstrap.Wiring(
        Services(InMemoryRepository(), FixedClock(T0)),
        settings,
        clients=bootstrap.AwsClients(clients),
    )
    assert clients.made == []  # no SES client for a function that sends nothing

    mailer = wired.mailer

    assert wired.mailer is mailer and clients.made == ["ses"]
    assert isinstance(mailer, TeeMailer)


def test_a_mailer_given_is_used_and_kept_when_the_settings_change() -> None:
    given = OutboxMailer(Path("unused"))
    wired = bootstrap.Wiring(Services(InMemoryRepository(), FixedClock(T0)), mailer=given)

    rewired = wired.with_settings(Settings(SENDER_EMAIL="billing@shop.example"))

    assert wired.mailer is given and rewired.mailer is given
    assert rewired.services is wired.services
    assert rewired.settings.mail_from == "billing@shop.example"


def test_without_an_outbox_the_mailer_is_ses_alone() -> None:
    wired = bootstrap.Wiring(
        Services(InMemoryRepository(), FixedClock(T0)),
        Settings(TENURE_OUTBOX_DIR=""),
        clients=bootstrap.AwsClients(RecordingClients()),
    )

    assert isinstance(wired.mailer, SesMailer)


def test_settings_are_the_wirings_when_the_handlers_run_on_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "From The Environment")
    given = Settings(business_name="Lantern Tea Club")
    bootstrap.use(bootstrap.Wiring(Services(InMemoryRepository(), FixedClock(T0)), given))

    assert bootstrap.settings() is given


def test_settings_without_a_wiring_are_read_from_the_environment_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootstrap.use(None)
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Lantern Tea Club")
    first = bootstrap.settings().business_name
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Harbour Books")

    assert (first, bootstrap.settings().business_name) == ("Lantern Tea Club", "Harbour Books")


def test_the_collections_policy_comes_from_the_settings() -> None:
    settings = Settings(
        TENURE_REPAYMENT_MIN_COUNT=3,
        TENURE_REPAYMENT_MAX_COUNT=8,
        TENURE_COLLECTIONS_SETTLE="close",
    )
    wired = bootstrap.build(settings, store=InMemoryRepository(), clock=FixedClock(T0))
    policy = wired.services.collections
    assert (policy.min_count, policy.max_count, str(policy.settle)) == (3, 8, "close")


@pytest.mark.parametrize(
    "bad",
    [
        {"TENURE_REPAYMENT_MIN_COUNT": 5, "TENURE_REPAYMENT_MAX_COUNT": 4},
        {"TENURE_REPAYMENT_MAX_COUNT": 13},
        {"TENURE_COLLECTIONS_SETTLE": "forgive"},
    ],
)
def test_collections_settings_that_make_no_policy_are_refused_naming_them(
    bad: dict[str, Any],
) -> None:
    with pytest.raises(SettingsError, match="TENURE_REPAYMENT_MIN_COUNT"):
        bootstrap.build(Settings(**bad), store=InMemoryRepository(), clock=FixedClock(T0))


def test_the_mandate_authentication_limit_comes_from_the_settings() -> None:
    settings = Settings(TENURE_MANDATE_FRESH_AUTH_ABOVE=500_000)
    wired = bootstrap.build(settings, store=InMemoryRepository(), clock=FixedClock(T0))
    assert wired.services.mandates.fresh_auth_above_minor == 500_000
    default = bootstrap.build(Settings(), store=InMemoryRepository(), clock=FixedClock(T0))
    assert default.services.mandates.fresh_auth_above_minor == 1_500_000


def test_a_negative_mandate_authentication_limit_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError, match="TENURE_MANDATE_FRESH_AUTH_ABOVE"):
        Settings(TENURE_MANDATE_FRESH_AUTH_ABOVE=-1)
