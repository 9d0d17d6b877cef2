"""The garbage collector around a handler's import (tenure/cold_start.py): paused while a
cold start imports, then resumed with what the import built frozen; left alone in a process
that already holds the layer, as the simulator and the tests are."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))

# What the collector does while, and after, a handler module runs: `before` runs first (the
# process's earlier life), then the handler module is loaded as Lambda loads it, while a
# callback counts the collections from the moment tenure.cold_start has run (reading the
# module's code, and tenure.cold_start's own, may collect before anything can pause).
PROBE = """
import gc, importlib.util, json, sys
folder, layer, before = sys.argv[1:4]
sys.path[:0] = [layer, folder]
exec(before)
frozen = gc.get_freeze_count()
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
code = spec.loader.get_code("app")
passes = []
def count(phase, info):
    if phase == "start" and hasattr(sys.modules.get("tenure.cold_start"), "done"):
        passes.append(1)
gc.callbacks.append(count)
exec(code, vars(module))
gc.callbacks.clear()
print(json.dumps([len(passes), gc.isenabled(), gc.get_freeze_count() - frozen]))
"""


def import_handler(function: str, before: str = "") -> tuple[int, bool, int]:
    """(collections while the handler module ran, collector enabled after, objects it froze)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(REPO / "functions" / function),
            str(REPO / "layers/common"),
            before,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    passes, enabled, frozen = json.loads(done.stdout.strip().splitlines()[-1])
    return passes, enabled, frozen


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_handler_module_pauses_the_collector_before_all_its_imports_and_resumes_it_last(
    function: str,
) -> None:
    body = ast.parse((REPO / "functions" / function / "app.py").read_text()).body
    imports = [n for n in body if isinstance(n, ast.Import | ast.ImportFrom)]

    assert ast.unparse(imports[0]) == "from tenure import cold_start"
    assert ast.unparse(body[-1]) == "cold_start.done()"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_imports_without_collections_and_resumes_the_collector_after(
    function: str,
) -> None:
    passes, enabled, frozen = import_handler(function)

    assert passes == 0
    assert enabled
    assert frozen > 10_000  # what the import built is never walked again


def test_a_process_that_holds_the_layer_already_keeps_its_collector_as_it_was() -> None:
    # The simulator and the tests load handlers among objects of their own: none is frozen,
    # and the collector runs through the import as it always does.
    passes, enabled, frozen = import_handler("webhooks", "import tenure.settings")

    assert passes > 0
    assert enabled
    assert frozen == 0


def test_a_collector_disabled_before_the_import_stays_disabled() -> None:
    passes, enabled, frozen = import_handler("webhooks", "import gc; gc.disable()")

    assert (passes, enabled, frozen) == (0, False, 0)
