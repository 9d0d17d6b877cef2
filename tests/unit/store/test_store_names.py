"""The store's modules share helpers by public names: none imports another's `_` name, and
the two modules that name the others' parts (dynamodb.py, codec.py) still export all they
did, the old private `_each_shard` included (a test outside the layer imports it)."""

import ast
from pathlib import Path

from tenure.store import codec, dynamodb, table

LAYER = Path(__file__).resolve().parents[3] / "layers" / "common" / "tenure"


def private_store_imports(source: str) -> list[str]:
    """Where `source` takes a `_` name from a tenure.store module, by import or attribute."""
    found = []
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tenure.store"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"line {node.lineno}: {alias.name} from {node.module}")
                elif node.module == "tenure.store":  # `from tenure.store import codec`
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_of_the_layer_takes_a_private_name_from_the_store() -> None:
    sources = sorted(p for p in LAYER.rglob("*.py"))
    assert sources
    found = {
        str(p.relative_to(LAYER)): hits
        for p in sources
        if (hits := private_store_imports(p.read_text()))
    }
    assert found == {}


def test_the_rule_would_notice_a_private_import_and_a_private_attribute() -> None:
    source = (
        "from tenure.store.table import _day, due_shard\n"
        "from tenure.store import codec\n"
        "codec._plain(1)\n"
        "codec.to_item({})\n"
    )
    assert private_store_imports(source) == [
        "line 1: _day from tenure.store.table",
        "line 3: codec._plain",
    ]


def test_the_naming_modules_export_every_name_they_list() -> None:
    for module in (codec, dynamodb):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == [], module.__name__


def test_the_old_private_shard_name_is_the_public_helper() -> None:
    assert "_each_shard" in dynamodb.__all__
    assert dynamodb._each_shard is table.each_shard
    assert dynamodb.each_shard is table.each_shard
