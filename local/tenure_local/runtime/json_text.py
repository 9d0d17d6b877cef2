"""JSON text as json.dumps(value, indent=2, sort_keys=True) writes it, for state.json's rows:
`tenure.pretty_json`, which the fake provider's webhook bodies are written with as well."""

from typing import Any

from tenure.pretty_json import pretty


def sorted_pretty(value: Any) -> str:
    """json.dumps(value, indent=2, sort_keys=True)."""
    return pretty(value, sort_keys=True)
