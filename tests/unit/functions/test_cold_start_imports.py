"""What a cold start imports: each function's handler module, loaded as Lambda loads it (its
folder and the layer on the path, nothing else imported first), leaves the heavy libraries
that only some invocations need to be imported when one does. A module moved back to the
top of a handler's import chain fails here, not months later in a benchmark."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))

# Never at import time, in any function: the Stripe SDK (until a Stripe call), email and
# page templating (until an email or a page), PDF layout and shaping (until a PDF).
DEFERRED_EVERYWHERE = ("stripe", "jinja2", "babel", "fpdf", "uharfbuzz")
# Building pydantic models is the largest share of a cold start after boto3 itself: only
# the API validates bodies with them; the others read the same data as dataclasses.
DEFERRED_BUT_IN = {"pydantic": {"api"}, "pydantic_core": {"api"}}

PROBE = """
import importlib.util, json, sys
folder = sys.argv[1]
sys.path[:0] = [sys.argv[2], folder]
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by_import(function: str) -> set[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(REPO / "functions" / function),
            str(REPO / "layers/common"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def imported(loaded: set[str], root: str) -> bool:
    return any(m == root or m.startswith(root + ".") for m in loaded)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_leaves_the_heavy_libraries_for_the_invocations_that_need_them(
    function: str,
) -> None:
    loaded = loaded_by_import(function)
    assert "tenure.bootstrap" in loaded  # the probe did load the handler's real chain
    early = [root for root in DEFERRED_EVERYWHERE if imported(loaded, root)]
    early += [
        root
        for root, allowed in DEFERRED_BUT_IN.items()
        if function not in allowed and imported(loaded, root)
    ]
    assert early == [], f"functions/{function} imports {early} at cold start"


def test_every_function_is_probed() -> None:
    assert {"api", "renewals", "webhooks", "reminders", "metrics", "events"} <= set(FUNCTIONS)
