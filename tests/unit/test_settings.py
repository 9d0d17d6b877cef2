"""Settings come from the environment; keyword arguments override it; bad values are refused."""

import dataclasses
import re

import pytest

from tenure.settings import Settings, SettingsError


def test_fields_are_read_from_their_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-env")
    monkeypatch.setenv("PROVIDER_RATE_LIMIT", "12.5")
    monkeypatch.setenv("SOMETHING_ELSE", "ignored")
    settings = Settings()
    assert (settings.table_name, settings.provider_rate_limit) == ("from-env", 12.5)


def test_defaults_apply_when_the_environment_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHARGER_MAX_CONCURRENCY", raising=False)
    assert Settings().charger_max_concurrency == 20


def test_keyword_arguments_by_alias_or_by_name_override_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-env")
    assert Settings(TABLE_NAME="by-alias").table_name == "by-alias"
    assert Settings(table_name="by-name").table_name == "by-name"
    monkeypatch.setenv("CHARGER_MAX_CONCURRENCY", "4")
    assert Settings(CHARGER_MAX_CONCURRENCY=8).charger_max_concurrency == 8
    assert Settings(charger_max_concurrency="16").charger_max_concurrency == 16
    assert Settings(unknown="ignored").charger_max_concurrency == 4


def test_numbers_are_parsed_as_pydantic_parsed_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGER_MAX_CONCURRENCY", " 1_000.0 ")
    monkeypatch.setenv("PROVIDER_RATE_LIMIT", "80")
    settings = Settings()
    assert settings.charger_max_concurrency == 1000
    assert isinstance(settings.charger_max_concurrency, int)
    assert settings.provider_rate_limit == 80.0
    assert isinstance(settings.provider_rate_limit, float)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PROVIDER_RATE_LIMIT", "0", "greater than 0"),
        ("PROVIDER_RATE_LIMIT", "nan", "greater than 0"),
        ("PROVIDER_RATE_LIMIT", "fast", "a number"),
        ("PROVIDER_RATE_LIMIT", "", "a number"),
        ("CHARGER_MAX_CONCURRENCY", "0", "at least 1"),
        ("CHARGER_MAX_CONCURRENCY", "2.5", "an integer"),
        ("CHARGER_MAX_CONCURRENCY", "1e3", "an integer"),
        ("TENURE_MAX_BODY_BYTES", "lots", "an integer"),
        ("TENURE_PORTAL_LINK_TTL_MINUTES", "4", "at least 5"),
        ("TENURE_PORTAL_LINK_TTL_MINUTES", "10081", "at most 10080"),
        ("TENURE_PORTAL_LINK_TTL_MINUTES", "1.5", "an integer"),
    ],
)
def test_a_bad_value_in_the_environment_is_refused_with_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(f"{name} must be {problem}, got '{value}'")):
        Settings()


def test_bad_keyword_arguments_are_refused_like_the_environment() -> None:
    with pytest.raises(SettingsError, match="CHARGER_MAX_CONCURRENCY must be at least 1"):
        Settings(charger_max_concurrency=0)
    with pytest.raises(SettingsError, match="TABLE_NAME must be a string, not int"):
        Settings(TABLE_NAME=5)


def test_every_bad_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_RATE_LIMIT", "-1")
    monkeypatch.setenv("CHARGER_MAX_CONCURRENCY", "many")
    with pytest.raises(ValueError, match=r"PROVIDER_RATE_LIMIT .*; CHARGER_MAX_CONCURRENCY "):
        Settings()


def test_settings_cannot_be_changed_once_read() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.table_name = "other"  # type: ignore[misc]
