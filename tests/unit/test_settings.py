"""Settings come from the environment; keyword arguments override it; bad values are refused."""

import pytest
from pydantic import ValidationError

from tenure.settings import Settings


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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROVIDER_RATE_LIMIT", "0"),
        ("PROVIDER_RATE_LIMIT", "fast"),
        ("CHARGER_MAX_CONCURRENCY", "0"),
    ],
)
def test_a_bad_value_in_the_environment_is_refused_with_its_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_settings_cannot_be_changed_once_read() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.table_name = "other"  # type: ignore[misc]
