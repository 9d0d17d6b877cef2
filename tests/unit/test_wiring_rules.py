"""Rules of the wiring that hold across the tree: handlers reach the store only through
services, and everything, the tests included, reads settings through bootstrap."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANDLERS = sorted((REPO / "functions").glob("*/*.py"))
SOURCES = sorted(
    p
    for folder in ("functions", "local", "layers/common/tenure", "tests")
    for p in (REPO / folder).rglob("*.py")
    if ".venv" not in p.parts
)


def store_reaches(source: str) -> list[str]:
    """What in `source` bypasses the services: an import of tenure.store, or a `.repo`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tenure.store"):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.startswith("tenure.store")
            ]
        if isinstance(node, ast.Attribute) and node.attr == "repo":
            found.append(f"line {node.lineno}: .repo")
    return found


def settings_reads(source: str) -> list[str]:
    """Where `source` names get_settings (a second, cached path to the settings)."""
    return [
        f"line {node.lineno}"
        for node in ast.walk(ast.parse(source))
        if (isinstance(node, ast.Name) and node.id == "get_settings")
        or (isinstance(node, ast.alias) and node.name == "get_settings")
    ]


def test_handlers_reach_the_store_only_through_services() -> None:
    assert HANDLERS
    found = {
        str(p.relative_to(REPO)): reaches
        for p in HANDLERS
        if (reaches := store_reaches(p.read_text(encoding="utf-8")))
    }

    assert found == {}


def test_only_bootstrap_hands_out_settings_even_to_the_tests() -> None:
    found = {
        str(p.relative_to(REPO)): reads
        for p in SOURCES
        if p.name != "settings.py" and (reads := settings_reads(p.read_text(encoding="utf-8")))
    }

    assert found == {}


def test_the_rules_would_notice_a_handler_that_reads_the_store_itself() -> None:
    source = (
        "from tenure.store.dynamodb import DynamoRepository\n"
        "import tenure.store.codec\n"
        "def get(svc):\n"
        "    return svc.repo.get_plan('basic')\n"
    )

    assert store_reaches(source) == [
        "line 1: from tenure.store.dynamodb import ...",
        "line 2: import tenure.store.codec",
        "line 4: .repo",
    ]
    assert settings_reads("from tenure.settings import get_settings\nget_settings()\n") == [
        "line 1",
        "line 2",
    ]
