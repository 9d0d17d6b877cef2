"""Scenario files with mistakes: every mistake reported at once, in plain words, with its line."""

import json
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.scenario import Problem, ScenarioError, load, parse

GOOD = """\
start: 2026-01-31T09:00:00Z
until: 2026-03-01T00:00:00Z
plans:
  - {id: basic, amount: 1000, currency: USD, interval: month}
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
actions:
  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, id: sub-alice}
"""
# pydantic's phrasings, which speak of Python rather than of the file.
PYDANTIC_WORDS = ("Input should", "Value error", "Field required", "Extra inputs", "String should")


def problems_of(tmp_path: Path, text: str, name: str = "s.yaml") -> list[Problem]:
    (tmp_path / name).write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path / name)
    return caught.value.problems


def places(problems: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.path) for p in problems]


def test_a_good_file_loads() -> None:
    assert [c.id for c in parse(yaml.safe_load(GOOD)).customers] == ["alice"]


def test_every_mistake_of_a_broken_file_is_reported_at_once_each_with_its_line(
    tmp_path: Path,
) -> None:
    text = """\
start: 2026-01-31T09:00:00Z
until: 2026-03-01T00:00:00Z
colour: blue
plans:
  - {id: basic, amount: "1000", currency: USD, interval: fortnight}
customers:
  - {id: alice, email: alice@example, card: "4242424242424242"}
actions:
  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, id: sub-alice}
  - {at: 2026-02-10T00:00:00Z, do: change_plan, subscription: sub-alice, plan: gold}
  - {at: 2026-02-30T00:00:00Z, do: resume, subscription: sub-alice}
  - {at: 2026-02-11T00:00:00Z, do: update_card, customer: bob, card: "4242424242424242"}
"""
    found = problems_of(tmp_path, text)

    assert places(found) == [
        (3, "colour"),
        (5, "plans[0].amount"),
        (5, "plans[0].interval"),
        (7, "customers[0].email"),
        (10, "actions[1].plan"),
        (11, "actions[2].at"),
        (12, "actions[3].customer"),
    ]


@pytest.mark.parametrize(
    ("mistake", "path", "words"),
    [
        ("  - {at: 2026-02-10T00:00:00Z, do: resume, subscription: sub-alice, when: now}",
         "actions[1].when", "unknown key 'when'; expected one of: at, do, subscription"),
        ("  - {at: 2026-02-10T00:00:00Z, do: cancel, subscription: sub-alice, at_period_end: 7}",
         "actions[1].at_period_end", "got the number 7; expected true or false"),
        ("  - {at: 2026-02-30T00:00:00Z, do: resume, subscription: sub-alice}",
         "actions[1].at", "'2026-02-30T00:00:00Z' is not a date and time; expected one like"),
        ("  - {at: 2026-02-10T00:00:00, do: resume, subscription: sub-alice}",
         "actions[1].at", "has no time zone; expected Z (UTC) or an offset"),
        ("  - {at: 2026-02-10T00:00:00Z, do: resume}",
         "actions[1].subscription", "missing; expected the id of a subscription"),
        ("  - {at: 2026-02-10T00:00:00Z, do: teleport, subscription: sub-alice}",
         "actions[1].do", "unknown action 'teleport'; expected one of: subscribe, change_plan"),
        ("  - {at: 2026-02-10T00:00:00Z, do: refund, subscription: sub-alice}",
         "actions[1]", "name the invoice: `invoice`, or `subscription` with `period_start`"),
        ("  - {at: 2026-02-10T00:00:00Z, do: refund, invoice: in_1, amount: 0}",
         "actions[1].amount", "expected more than 0"),
        ("  - {at: 2026-02-10T00:00:00Z, do: cancel, subscription: sub-alice, refund: half}",
         "actions[1].refund", "none"),
        ("  - {at: 2026-02-10T00:00:00Z, subscription: sub-alice}",
         "actions[1].do", "missing; every action needs `do`, one of: subscribe"),
        ("  - resume sub-alice",
         "actions[1]", "got the text 'resume sub-alice'; expected a mapping with `do` and `at`"),
        ("  - {at: 2026-02-10T00:00:00Z, do: change_plan, subscription: sub-alice, plan: gold}",
         "actions[1].plan", "unknown plan 'gold'; expected one of the plans: basic"),
        ("  - {at: 2026-02-10T00:00:00Z, do: update_card, customer: bob, card: '4242424242424242'}",
         "actions[1].customer", "unknown customer 'bob'; expected one of the customers: alice"),
        ("  - {at: 2026-02-10T00:00:00Z, do: pause, subscription: sub-bob}",
         "actions[1].subscription", "unknown subscription 'sub-bob' (no earlier subscribe action"
         " creates it); expected one of: sub-alice"),
        ("  - {at: 2026-04-10T00:00:00Z, do: resume, subscription: sub-alice}",
         "actions[1].at", "is outside start..until; expected a moment from 2026-01-31T09:00:00"),
        ("  - {at: 2026-02-10T00:00:00Z, do: update_card, customer: alice, card: '1234'}",
         "actions[1].card", "unknown test card '1234'; expected one of Stripe's public test"),
        ("  - {at: 2026-02-10T00:00:00Z, do: update_card, customer: alice,"
         " card: '4242424242424242', card_expires: 2027-13}",
         "actions[1].card_expires", "'2027-13' is not of the expected form; expected a month"
         " written YYYY-MM"),
        ("  - {at: 2026-02-10T00:00:00Z, do: provider_refund, subscription: sub-alice,"
         " period_start: 2026-01-31T09:00:00Z, amount: 0}",
         "actions[1].amount", "got 0; expected more than 0"),
        ("  - {at: 2026-02-10T00:00:00Z, do: subscribe, customer: alice, plan: basic,"
         " id: sub-alice}",
         "actions[1].id", "subscription 'sub-alice' is created twice"),
        ("  - {at: 2026-02-10T00:00:00Z, do: update_customer, customer: alice, locale: de}",
         "actions[1].locale", "unsupported locale 'de'; expected one of: en, ru, ar"),
        ("  - {at: 2026-02-10T00:00:00Z, do: update_customer, customer: alice,"
         " timezone: Mars/Olympus}",
         "actions[1].timezone", "unknown IANA time zone 'Mars/Olympus'"),
    ],
)  # fmt: skip
def test_a_bad_action_is_reported_in_plain_words_at_its_line(
    tmp_path: Path, mistake: str, path: str, words: str
) -> None:
    found = problems_of(tmp_path, GOOD + mistake + "\n")

    assert [(p.line, p.path) for p in found] == [(9, path)]
    assert words in found[0].what
    assert not any(w in found[0].what for w in PYDANTIC_WORDS)


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        ("amount: 1000,", "amount: -5,", "plans[0].amount", "got -5; expected at least 0"),
        ("currency: USD", "currency: XXQ", "plans[0].currency",
         "unknown currency 'XXQ'; expected a three-letter ISO 4217 code"),
        ("interval: month}", "interval: month, trial: 3}", "plans[0].trial",
         "unknown key 'trial'; expected one of: id, name, amount"),
        ("alice@example.com", "alice at example", "customers[0].email",
         "must be an address the mailer can write to"),
        ("{id: alice,", "{id: alice, locale: de,", "customers[0].locale",
         "unsupported locale 'de'; expected one of: en, ru, ar"),
        ("{id: alice,", "{id: alice, locale: en-US,", "customers[0].locale",
         "unsupported locale 'en-US'"),
        ("{id: alice,", "{id: 'alice smith',", "customers[0].id",
         "'alice smith' is not of the expected form; expected an id of letters, digits"),
        ("start: 2026-01-31T09:00:00Z", "start: soon", "start",
         "'soon' is not a date and time"),
        ("plans:\n  - {id: basic", "plans: {basic: 1}\nnothing:\n  - {id: basic", "plans",
         "got a mapping; expected a list"),
    ],
)  # fmt: skip
def test_a_bad_plan_customer_or_date_is_reported_in_plain_words(
    tmp_path: Path, old: str, new: str, path: str, words: str
) -> None:
    assert old in GOOD
    found = problems_of(tmp_path, GOOD.replace(old, new, 1))

    hits = [p for p in found if p.path == path]
    assert hits, found
    assert words in hits[0].what
    assert hits[0].line is not None
    assert not any(w in p.what for p in found for w in PYDANTIC_WORDS)


def test_a_plan_refused_for_its_amount_is_not_also_called_unknown_where_it_is_used(
    tmp_path: Path,
) -> None:
    found = problems_of(tmp_path, GOOD.replace("amount: 1000,", "amount: lots,"))

    assert [p.path for p in found] == ["plans[0].amount"]


def test_a_key_given_twice_is_reported_though_yaml_would_keep_the_last_quietly(
    tmp_path: Path,
) -> None:
    text = GOOD.replace(
        "until: 2026-03-01T00:00:00Z", "until: 2026-03-01T00:00:00Z\nuntil: 2026-03-01T00:00:00Z"
    )

    found = problems_of(tmp_path, text)

    assert places(found) == [(3, "until")]
    assert "given twice" in found[0].what


def test_ids_given_twice_are_each_reported(tmp_path: Path) -> None:
    text = GOOD.replace(
        "customers:\n",
        "customers:\n  - {id: alice, email: a2@example.com}\n"
        "  - {id: alice, email: a3@example.com}\n",
    )

    found = problems_of(tmp_path, text)

    assert places(found) == [(7, "customers[1].id"), (8, "customers[2].id")]


def test_until_before_start_is_reported_beside_the_other_problems_and_once(tmp_path: Path) -> None:
    text = GOOD.replace("until: 2026-03-01", "until: 2026-01-01").replace("USD", "usd!")

    found = problems_of(tmp_path, text)

    assert places(found) == [(2, "until"), (4, "plans[0].currency")]
    assert "2026-01-01T00:00:00+00:00 is not after start (2026-01-31T09:00:00+00:00)" in str(
        found[0]
    )


def test_a_json_file_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["plans"][0]["amount"] = "ten"
    raw["customers"][0]["email"] = "nobody"
    text = json.dumps(raw, indent=2, default=lambda d: d.isoformat())

    found = problems_of(tmp_path, text, "s.json")

    lines = text.splitlines()
    assert [p.path for p in found] == ["plans[0].amount", "customers[0].email"]
    assert all(p.line is not None for p in found)
    assert '"amount": "ten"' in lines[found[0].line - 1]  # type: ignore[operator]
    assert '"email": "nobody"' in lines[found[1].line - 1]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "name", "words"),
    [
        ("", "s.yaml", "the file is empty; expected a mapping with start, until"),
        ("- 1\n- 2\n", "s.yaml", "the file holds a list; expected a mapping"),
        ("start: [unclosed\n", "s.yaml", "not valid YAML"),
        ('{"start": }', "s.json", "not valid JSON"),
        ("just words", "s.yaml", "the file holds the text 'just words'"),
    ],
)
def test_a_file_that_is_not_a_scenario_at_all_says_so(
    tmp_path: Path, text: str, name: str, words: str
) -> None:
    found = problems_of(tmp_path, text, name)

    assert len(found) == 1 and words in found[0].what


def test_a_file_that_is_not_text_is_refused_plainly(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_bytes(b"\xff\xfe\x00garbage")

    with pytest.raises(ScenarioError, match="is not UTF-8 text"):
        load(tmp_path / "s.yaml")


def test_a_huge_hostile_value_is_shown_cut_short(tmp_path: Path) -> None:
    found = problems_of(tmp_path, GOOD.replace("{id: alice,", "{id: '" + "x" * 10_000 + "',"))

    assert [p.path for p in found] == ["customers[0].id", "actions[0].customer"]
    assert all(len(str(p)) < 400 for p in found)


def test_the_cli_prints_every_problem_on_its_own_line_and_runs_nothing(tmp_path: Path) -> None:
    text = GOOD.replace("currency: USD", "currency: '[bold]XX'") + (
        "  - {at: 2026-02-10T00:00:00Z, do: pause, subscription: sub-bob}\n"
    )
    (tmp_path / "s.yaml").write_text(text)

    done = CliRunner().invoke(
        app, ["simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]
    )

    assert done.exit_code == 2
    lines = done.output.splitlines()
    assert "2 problems, nothing was run" in lines[0]
    assert lines[1].startswith(
        "  line 4, plans[0].currency: '[bold]XX' is too long; expected at most 3"
    )
    assert lines[2].startswith("  line 9, actions[1].subscription: unknown subscription")
    assert not (tmp_path / "out").exists()


def test_a_file_nested_thousands_deep_is_refused_plainly(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "start: " + "[" * 5000 + "]" * 5000 + "\n")

    assert len(found) == 1 and "nests lists or mappings thousands deep" in found[0].what


def test_a_billion_laughs_of_aliases_is_refused_in_moments(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\n" + GOOD.replace("plans:\n", "plans: *a8\nunused:\n")
    began = time.monotonic()

    found = problems_of(tmp_path, text)

    assert time.monotonic() - began < 10  # 10^9 strings if walked through every alias
    assert {p.path for p in found} >= {f"a{i}" for i in range(9)} | {"plans[0]", "plans[9]"}


def test_a_customer_may_carry_the_buyer_details_an_invoice_prints() -> None:
    raw = yaml.safe_load(GOOD)
    raw["customers"][0] |= {"billing_name": "ACME", "tax_id": "DE123", "billing_address": "a\nb"}
    [alice] = parse(raw).customers
    assert (alice.billing_name, alice.billing_address, alice.tax_id) == ("ACME", "a\nb", "DE123")


def test_a_tax_id_an_invoice_cannot_print_is_refused_at_load(tmp_path: Path) -> None:
    text = GOOD.replace("email: alice@example.com,", 'email: alice@example.com, tax_id: "DE<1>",')
    [problem] = problems_of(tmp_path, text)
    assert problem.path.startswith("customers[0]")
    assert "tax_id" in problem.what


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_each_locale_the_api_takes_loads(locale: str) -> None:
    text = GOOD.replace("{id: alice,", f"{{id: alice, locale: {locale},")
    change = "do: update_customer, customer: alice"
    text += f"  - {{at: 2026-02-10T00:00:00Z, {change}, locale: {locale}}}\n"
    scenario = parse(yaml.safe_load(text))
    assert scenario.customers[0].locale == locale


def test_the_engines_diff_reports_a_broken_file_as_simulate_does_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tenure_local.simulator.engine_diff import main

    (tmp_path / "s.yaml").write_text(GOOD.replace("{id: alice,", "{id: alice, locale: de,"))
    assert main([str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr().err
    assert "1 problem, nothing was run" in printed
    assert "line 6, customers[0].locale: unsupported locale 'de'" in printed
    assert not (tmp_path / "out").exists()
