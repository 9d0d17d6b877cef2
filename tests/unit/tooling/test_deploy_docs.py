"""The deploy guide's parameter table is template.yaml's parameters, and samconfig.toml agrees."""

from __future__ import annotations

import copy
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tenure_local.stack.deploy_docs import (
    BEGIN,
    DEPLOY_DOC,
    END,
    StaleDocError,
    main,
    parameter_rows,
    parameter_table,
    with_table,
)
from tenure_local.stack.template import REPO_ROOT, load_template

TEMPLATE = load_template()


def _guide_table() -> str:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()


def test_the_deploy_guide_lists_every_template_parameter_as_the_template_describes_it() -> None:
    assert _guide_table() == parameter_table(TEMPLATE)


def test_a_parameter_added_to_the_template_but_not_to_the_guide_is_caught() -> None:
    grown = copy.deepcopy(TEMPLATE)
    grown["Parameters"]["CardRetryLimit"] = {
        "Type": "Number",
        "Default": 3,
        "MinValue": 1,
        "Description": "How many times a card is retried.",
    }

    assert _guide_table() != parameter_table(grown)
    assert "| `CardRetryLimit` | `3` | at least 1 | How many times a card is retried. |" in (
        parameter_table(grown)
    )


def test_a_parameter_described_differently_in_the_template_is_caught() -> None:
    reworded = copy.deepcopy(TEMPLATE)
    reworded["Parameters"]["BusinessName"]["Description"] = "The brand."

    assert _guide_table() != parameter_table(reworded)


def test_each_row_shows_the_default_the_allowed_values_and_the_meaning_in_one_line() -> None:
    rows = {row.name: row for row in parameter_rows(TEMPLATE)}

    assert list(rows) == list(TEMPLATE["Parameters"])
    assert rows["SenderEmail"].default == "required"
    assert rows["WebhookSecretArn"].default == "empty"
    assert rows["EnvironmentName"].allowed == "`dev`, `staging`, `prod`"
    assert rows["ChargerMaxConcurrency"].allowed == "2 to 1000"
    assert rows["BusinessName"].allowed == "up to 100 characters"
    assert rows["StripePublishableKey"].allowed.startswith("a Stripe publishable key")
    assert all("\n" not in row.meaning for row in rows.values())


def test_a_pipe_in_a_description_does_not_split_the_table_cell() -> None:
    template = {"Parameters": {"Mode": {"Type": "String", "Description": "either a | b"}}}

    row = parameter_table(template).splitlines()[-1]

    assert row == "| `Mode` | required | any text | either a \\| b |"


def test_a_guide_without_the_markers_is_refused_with_the_markers_named() -> None:
    with pytest.raises(StaleDocError, match="parameters:begin"):
        with_table("# Deploying\n\nno table here\n", "| table |")


def test_check_reports_a_stale_guide_and_leaves_it_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "deploy.md"
    stale = f"# Deploying\n\n{BEGIN}\n| old |\n{END}\n\nafter\n"
    doc.write_text(stale, encoding="utf-8")

    assert main(["--check", "--doc", str(doc)]) == 1
    assert doc.read_text(encoding="utf-8") == stale
    assert "make docs" in capsys.readouterr().err


def test_writing_replaces_only_the_table_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    doc = tmp_path / "deploy.md"
    doc.write_text(f"# Deploying\n\n{BEGIN}\n| old |\n{END}\n\nafter\n", encoding="utf-8")

    assert main(["--doc", str(doc)]) == 0
    written = doc.read_text(encoding="utf-8")
    assert written.startswith(f"# Deploying\n\n{BEGIN}\n| parameter |")
    assert written.endswith(f"|\n{END}\n\nafter\n")
    assert main(["--check", "--doc", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == written


def test_a_guide_without_markers_exits_with_a_clear_error_and_is_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "deploy.md"
    doc.write_text("# Deploying\n", encoding="utf-8")

    assert main(["--doc", str(doc)]) == 2
    assert doc.read_text(encoding="utf-8") == "# Deploying\n"
    assert "parameters:end" in capsys.readouterr().err


# -- samconfig.toml ----------------------------------------------------------------------------
SAMCONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
ENVIRONMENTS = [name for name, section in SAMCONFIG.items() if isinstance(section, dict)]


def _overrides(environment: str) -> dict[str, str]:
    text = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(text))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_overrides_only_template_parameters_with_values_the_template_allows(
    environment: str,
) -> None:
    parameters: dict[str, Any] = TEMPLATE["Parameters"]

    for name, value in _overrides(environment).items():
        assert name in parameters, f"{environment}: {name} is not a template parameter"
        spec = parameters[name]
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (environment, name, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (environment, name, value)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_grants_the_capabilities_the_template_needs_and_confirms_changes(
    environment: str,
) -> None:
    deploy = SAMCONFIG[environment]["deploy"]["parameters"]

    # SAM roles carry no fixed names (that would need CAPABILITY_NAMED_IAM).
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert not any(
        "RoleName" in resource.get("Properties", {}) for resource in TEMPLATE["Resources"].values()
    )
    assert deploy["confirm_changeset"] is True
    assert deploy["s3_prefix"] == SAMCONFIG[environment]["global"]["parameters"]["stack_name"]


def test_the_guide_names_the_environments_samconfig_defines() -> None:
    guide = DEPLOY_DOC.read_text(encoding="utf-8")

    assert ENVIRONMENTS == ["default", "staging", "prod"]
    for environment in ENVIRONMENTS:
        stack = SAMCONFIG[environment]["global"]["parameters"]["stack_name"]
        overrides = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
        assert f"| `{environment}`" in guide and f"`{stack}`" in guide
        assert f"`{overrides}`" in guide
