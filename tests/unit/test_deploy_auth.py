"""`sam deploy --guided` finds every route's authentication declared, so it never stops to ask.

SAM CLI asks "<Function> has no authentication. Is this okay? [y/N]" for each HTTP event
without an `Auth`, and a guided deploy answered with the default aborts. These tests run SAM
CLI's own check (`auth_per_resource`) on template.yaml, offline, in the tools environment
(`.venv-tools`, where `make validate` runs SAM CLI), rather than a copy of its rules.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tenure_local.stack.template import REPO_ROOT, TEMPLATE_PATH, load_template

TOOLS_PYTHON = REPO_ROOT / ".venv-tools" / "bin" / "python"

# What `sam deploy --guided` does before it asks: build the stacks from the template with
# the region the user picked, then list each function's HTTP events with their auth.
_SAM_AUTH_PROBE = """
import json, sys
from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

found = []
for template in sys.argv[1:]:
    stacks, _ = SamLocalStackProvider.get_stacks(
        template, global_parameter_overrides={"AWS::Region": "us-east-1"}
    )
    found.append(auth_per_resource(stacks))
print(json.dumps(found))
"""

# Two declarations of the template, taken away below to show the check bites: the API's
# default (which covers a route that declares nothing) and the webhook route's own.
API_DEFAULT_AUTH = (
    "      Auth:\n        EnableIamAuthorizer: true\n        DefaultAuthorizer: AWS_IAM\n"
)
WEBHOOK_AUTH = (
    "            Auth:\n"
    "              Authorizer: NONE  # the function checks the provider's signature\n"
)


def sam_auth_per_resource(*templates: Path) -> list[list[tuple[str, bool]]]:
    """SAM CLI's verdict on each template, from one interpreter (it takes seconds to import)."""
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"{TOOLS_PYTHON} is missing: run `make tools` (SAM CLI lives there)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [str(TOOLS_PYTHON), "-c", _SAM_AUTH_PROBE, *map(str, templates)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [[(name, has_auth) for name, has_auth in found] for found in json.loads(done.stdout)]


@pytest.fixture(scope="module")
def sam_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, bool]]]:
    # Stripped only of what is there: the test of the template itself must not depend on it.
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    stripped = tmp_path_factory.mktemp("stripped") / "template.yaml"
    stripped.write_text(
        text.replace(API_DEFAULT_AUTH, "").replace(WEBHOOK_AUTH, ""), encoding="utf-8"
    )
    ours, without_webhook_auth = sam_auth_per_resource(TEMPLATE_PATH, stripped)
    return {"template": ours, "without_webhook_auth": without_webhook_auth}


def _http_events(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, event_name, event.get("Properties", {}))
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event_name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] == "HttpApi"
    ]


def test_sam_cli_finds_the_authentication_of_every_http_function_in_the_template(
    sam_verdicts: dict[str, list[tuple[str, bool]]],
) -> None:
    checked = sam_verdicts["template"]

    assert {name for name, _ in checked} == {"ApiFunction", "WebhooksFunction"}
    assert [name for name, has_auth in checked if not has_auth] == []


def test_sam_cli_would_stop_the_guided_deploy_at_a_route_that_declares_no_auth(
    sam_verdicts: dict[str, list[tuple[str, bool]]],
) -> None:
    # The check above can fail: without the API's default and the route's own declaration,
    # SAM CLI names the function (as it named both on the template before routes declared).
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert text.count(API_DEFAULT_AUTH) == 1 and text.count(WEBHOOK_AUTH) == 1
    checked = sam_verdicts["without_webhook_auth"]

    assert ("WebhooksFunction", False) in checked
    assert ("ApiFunction", False) not in checked


def test_the_api_is_closed_by_default_so_a_new_route_without_auth_is_never_public() -> None:
    api_auth = load_template()["Resources"]["HttpApi"]["Properties"]["Auth"]

    assert api_auth == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}


def test_every_route_names_its_authorizer_and_says_who_checks_the_caller() -> None:
    events = _http_events(load_template())

    assert len(events) == 5
    for name, event_name, properties in events:
        assert properties.get("Auth", {}).get("Authorizer") == "NONE", (name, event_name)
    # Every opt-out carries its reason on the line, where a reviewer of a new route sees it.
    lines = TEMPLATE_PATH.read_text(encoding="utf-8").splitlines()
    opt_outs = [line for line in lines if line.strip().startswith("Authorizer: NONE")]
    assert len(opt_outs) == len(events)
    assert all("  # " in line for line in opt_outs), opt_outs
