"""The test tree collects as one: pytest imports test modules by their file name (rootdir
mode, no packages), so two files of one name in different folders stop the whole run."""

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_files_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name.startswith("test_") or path.name == "conftest.py":
            by_name[path.name].append(str(path.relative_to(TESTS)))
    clashes = {
        name: paths for name, paths in by_name.items() if len(paths) > 1 and name != "conftest.py"
    }
    assert not clashes, f"rename one of each: {clashes}"
