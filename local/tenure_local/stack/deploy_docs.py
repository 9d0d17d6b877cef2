"""Write the parameter table of docs/deploy.md from template.yaml, so the two cannot drift.

`make docs` rewrites the table between the two markers; `make docs` with `CHECK=1` (and the
unit test) only compares. Everything in a row comes from the template: the name, the default,
what values are allowed and the Description, so a parameter added or reworded there shows up
here at the next `make docs`, and the test fails until someone runs it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenure_local.stack.template import REPO_ROOT, TEMPLATE_PATH, load_template

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
BEGIN = "<!-- parameters:begin (generated from template.yaml by `make docs`; edit the template) -->"
END = "<!-- parameters:end -->"


class StaleDocError(Exception):
    """The document has no place for the table (its markers are missing or out of order)."""


@dataclass(frozen=True)
class ParameterRow:
    name: str
    default: str
    allowed: str
    meaning: str

    def markdown(self) -> str:
        cells = (f"`{self.name}`", self.default, self.allowed, self.meaning)
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def parameter_rows(template: dict[str, Any]) -> list[ParameterRow]:
    """One row per parameter, in the template's order (grouped as its author grouped them)."""
    return [
        ParameterRow(name, _default(spec), _allowed(spec), _words(spec.get("Description", "")))
        for name, spec in template.get("Parameters", {}).items()
    ]


def parameter_table(template: dict[str, Any]) -> str:
    header = "| parameter | default | allowed | meaning |\n|---|---|---|---|"
    rows = "\n".join(row.markdown() for row in parameter_rows(template))
    return f"{header}\n{rows}"


def with_table(document: str, table: str) -> str:
    """The document with the text between the markers replaced by `table`."""
    start = document.find(BEGIN)
    end = document.find(END)
    if start < 0 or end < 0 or end < start:
        raise StaleDocError(
            f"the deploy guide needs the lines {BEGIN!r} and {END!r}, in that order, "
            "around its parameter table"
        )
    return f"{document[: start + len(BEGIN)]}\n{table}\n{document[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tenure_local.stack.deploy_docs",
        description="Write the parameter table of the deploy guide from template.yaml.",
    )
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--doc", type=Path, default=DEPLOY_DOC)
    args = parser.parse_args(argv)

    document = args.doc.read_text(encoding="utf-8")
    try:
        current = with_table(document, parameter_table(load_template(args.template)))
    except StaleDocError as exc:
        print(f"{args.doc}: {exc}", file=sys.stderr)
        return 2
    if current == document:
        print(f"{args.doc}: the parameter table matches {args.template.name}")
        return 0
    if args.check:
        print(
            f"{args.doc}: the parameter table differs from {args.template.name}; run `make docs`",
            file=sys.stderr,
        )
        return 1
    args.doc.write_text(current, encoding="utf-8")
    print(f"{args.doc}: parameter table written from {args.template.name}")
    return 0


def _default(spec: dict[str, Any]) -> str:
    if "Default" not in spec:
        return "required"
    value = spec["Default"]
    return "empty" if value == "" else f"`{value}`"


def _allowed(spec: dict[str, Any]) -> str:
    if "AllowedValues" in spec:
        return ", ".join(f"`{value}`" for value in spec["AllowedValues"])
    parts: list[str] = []
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    elif low is not None:
        parts.append(f"at least {low}")
    elif high is not None:
        parts.append(f"at most {high}")
    if "MaxLength" in spec:
        parts.append(f"up to {spec['MaxLength']} characters")
    if "AllowedPattern" in spec:
        # The constraint says in words what the pattern checks; the pattern is the fallback.
        parts.append(_words(spec.get("ConstraintDescription") or f"`{spec['AllowedPattern']}`"))
    if not parts:
        return "any number" if spec.get("Type") == "Number" else "any text"
    return "; ".join(parts)


def _words(text: Any) -> str:
    """Folded YAML keeps line breaks inside a block scalar's text; a table cell is one line."""
    return re.sub(r"\s+", " ", str(text)).strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    raise SystemExit(main())
