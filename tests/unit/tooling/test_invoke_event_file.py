"""`tenure invoke FUNCTION -e EVENT`: an event file it cannot use is refused before any
stack starts, with its path and why, exit code 2, never a traceback."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


def invoke(event: Path) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["invoke", "renewals", "-e", str(event)])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, flat(done.output)


@pytest.fixture(autouse=True)
def no_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach or start a stack fails the test: refusals come first."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stack was reached for an event that cannot be used")

    monkeypatch.setattr("tenure_local.stack.local_stack.LocalStack.attach", refuse)
    monkeypatch.setattr("tenure_local.stack.local_stack.LocalStack.__init__", refuse)


def test_an_event_that_is_not_utf8_is_refused_with_the_reason(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(b"\xff\xfe{}")

    code, said = invoke(event)

    assert code == 2 and flat(f"cannot read event {event}") in said and flat("utf-8") in said


@pytest.mark.parametrize(
    ("text", "kind"), [("[1, 2]", "an array"), ('"hello"', "a string"), ("42", "a single value")]
)
def test_an_event_that_is_not_a_json_object_is_refused_saying_what_it_holds(
    tmp_path: Path, text: str, kind: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(text)

    code, said = invoke(event)

    assert code == 2 and flat(f"it holds {kind}; expected a JSON object") in said


def test_an_event_that_is_not_json_is_refused_with_the_parsers_words(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"a":')

    code, said = invoke(event)

    assert code == 2 and flat(f"cannot read event {event}: Expecting value") in said


def test_an_event_the_function_cannot_take_is_its_error_in_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`{}` for the API: the handler's KeyError, said as Lambda would (type and message)."""
    event = tmp_path / "event.json"
    event.write_text("{}")
    monkeypatch.setattr("tenure_local.stack.local_stack.LocalStack.attach", lambda: {})

    def handler_fails(name: str, payload: dict[str, object]) -> object:
        return {}["requestContext"]

    monkeypatch.setattr("tenure_local.runtime.functions.invoke", handler_fails)

    code, said = invoke(event)

    assert code == 1
    assert flat("renewals failed on this event: KeyError: 'requestContext'") in said
    assert flat("Traceback") not in said
