"""A scenario file's mistakes, told in plain words with their line, all at once.

pydantic's own phrasing ("Input should be a valid integer, unable to parse string as an
integer") speaks of Python; whoever writes a scenario file wants the line, the field, what
is wrong there and what would be right. `read` keeps the YAML node tree for the lines;
`plain` words one pydantic error.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from tenure.domain.errors import FieldRuleError


@dataclass(frozen=True)
class Problem:
    """One mistake in a scenario file: where it is, and what is wrong in plain words."""

    path: str  # actions[3].plan; "" for the file as a whole
    what: str  # what is wrong, then what is expected
    line: int | None = None  # in the file, when its text could be read as YAML (JSON is)

    def __str__(self) -> str:
        place = ", ".join(p for p in (f"line {self.line}" if self.line else "", self.path) if p)
        return f"{place}: {self.what}" if place else self.what


class ScenarioError(Exception):
    """The scenario cannot run; one line per problem, each naming its place and field."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = [Problem("", problems)] if isinstance(problems, str) else problems
        super().__init__("\n".join(str(p) for p in self.problems))


def where(loc: tuple[Any, ...]) -> str:
    parts = []
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".")


def path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if piece.startswith("[") and piece.endswith("]") and piece[1:-1].isdigit():
            parts.append(int(piece[1:-1]))
        elif piece:
            parts.append(piece)
    return parts


# -- reading the file ------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date it cannot build (2026-02-30) stays text:
    the validation then names its place, where PyYAML would stop with a bare ValueError."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read(path: Path) -> tuple[Any, yaml.Node | None]:
    """The file's data, and its YAML node tree (for lines) when there is one."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ScenarioError(f"cannot read {path}: {reason}") from exc
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = Problem("", f"not valid JSON: {exc.msg} at column {exc.colno}", exc.lineno)
            raise ScenarioError([problem]) from exc
        try:  # JSON is nearly always YAML too: its node tree gives the lines
            return raw, yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return raw, None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (None if node is None else loader.construct_document(node)), node
    except yaml.YAMLError as exc:
        raise ScenarioError([_yaml_problem(exc)]) from exc
    except RecursionError as exc:  # PyYAML reads nested collections recursively
        raise ScenarioError(
            "the file nests lists or mappings thousands deep; a scenario nests a few levels at most"
        ) from exc
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    what = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem("", what)
    return Problem("", f"{what} at column {mark.column + 1}", mark.line + 1)


def duplicate_keys(node: yaml.Node | None) -> list[Problem]:
    """Keys given twice in one mapping: YAML keeps the last silently, hiding the mistake."""
    found: list[Problem] = []
    # Each node once: an alias is the same node again, and a file of aliases of aliases
    # (a "billion laughs") would otherwise be walked billions of times.
    visited: set[int] = set()
    stack: list[tuple[yaml.Node | None, tuple[Any, ...]]] = [(node, ())]
    while stack:
        node, path = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                if name in seen:
                    what = "this key is given twice in the same mapping; expected it once"
                    found.append(Problem(where((*path, name)), what, key.start_mark.line + 1))
                seen.add(name)
                stack.append((value, (*path, name)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, n)) for n, item in enumerate(node.value))
    return found


def with_lines(problems: list[Problem], node: yaml.Node | None) -> list[Problem]:
    """Each problem with the line of the deepest part of its path found in the file, in the
    file's order."""
    if node is None:
        return problems
    placed = [p if p.line else replace(p, line=_line_of(node, p.path)) for p in problems]
    return sorted(placed, key=lambda p: p.line or 0)  # stable: ties keep their order


def _line_of(node: yaml.Node, path: str) -> int | None:
    if not path:
        return None
    for part in path_parts(path):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            values = [v for k, v in node.value if str(k.value) == part]
            if not values:
                break
            node = values[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
        else:
            break
    return int(node.start_mark.line) + 1


# -- wording pydantic's errors ---------------------------------------------------------------

# What a field holds, said for a person: shown when it is missing, malformed or of the
# wrong type.
EXPECTED = {
    "start": "a date and time like 2026-01-31T09:00:00Z",
    "until": "a date and time like 2026-05-01T00:00:00Z",
    "at": "a date and time like 2026-01-31T09:00:00Z",
    "closed_at": "a date and time like 2026-02-20T00:00:00Z",
    "period_start": "the start of the invoice's period, like 2026-01-31T09:00:00Z",
    "id": "an id of letters, digits, `_`, `.` or `-` (1 to 64, starting with a letter or a "
    "digit), like sub-alice",
    "customer": "the id of a customer listed under `customers`",
    "plan": "the id of a plan listed under `plans`",
    "subscription": "the id of a subscription a `subscribe` action creates",
    "email": "an address like name@example.com",
    "amount": "a whole number of minor units (1000 is 10.00 USD)",
    "currency": "a three-letter ISO 4217 code like USD",
    "card": "one of Stripe's public test card numbers, like '4242424242424242'",
    "card_expires": "a month written YYYY-MM, like 2027-08",
    "timezone": "an IANA time zone like Europe/Paris",
    "name": "a name without control characters, bidi overrides or isolates (U+202A-U+202E, "
    "U+2066-U+2069)",
}
_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
}
_DATETIME_ERRORS = ("datetime_type", "datetime_parsing", "datetime_from_date_parsing")
_BOUNDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def kind_of(value: Any) -> str:
    """What a value is, for a person: `the text 'x'`, `the number 5`, `a list`..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the value {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, int | float):
        return f"the number {show(value)}"
    if isinstance(value, datetime | date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"the value {show(value)}"


def show(value: Any) -> str:
    text = repr(value.isoformat() if isinstance(value, datetime | date) else value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def plain(
    err: Any,
    root: type[BaseModel] | None,
    prefix: str = "",
    tags: Mapping[str, type[BaseModel]] | None = None,
) -> Problem:
    """One pydantic error in plain words. `root` is the model validated at `prefix`; `tags`
    the models of a union told apart by a tag, which pydantic puts first in the location."""
    loc = tuple(err["loc"])
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if tags and loc and isinstance(loc[0], str) and loc[0] in tags:
        root, loc = tags[loc[0]], loc[1:]
    at = where(loc)
    at = f"{prefix}.{at}" if prefix and at else (prefix or at)
    field = next((p for p in reversed(loc) if isinstance(p, str)), "")
    hint = EXPECTED.get(field)
    if kind == "missing":
        what = "missing" + (f"; expected {hint}" if hint else "; this field is required")
    elif kind == "extra_forbidden":
        known = _fields_of(root, loc[:-1])
        what = f"unknown key {loc[-1]!r}" + (f"; expected one of: {known}" if known else "")
    elif kind == "union_tag_invalid":
        at = f"{prefix}.do" if prefix else "do"
        what = f"unknown action {show(ctx.get('tag'))}; expected one of: {', '.join(tags or ())}"
    elif kind in _TYPE_WORDS:
        expected = hint if hint and kind in ("string_type", "int_type") else _TYPE_WORDS[kind]
        what = f"got {kind_of(got)}; expected {expected}"
    elif kind in _DATETIME_ERRORS:
        what = (
            f"{show(got)} is not a date and time; expected one like 2026-01-31T09:00:00Z "
            "(a real calendar day, a time, and Z or an offset like +02:00)"
        )
    elif kind == "timezone_aware":
        what = f"{show(got)} has no time zone; expected Z (UTC) or an offset like +02:00 after it"
    elif kind in ("literal_error", "enum"):
        what = f"got {kind_of(got)}; expected {ctx.get('expected', hint or 'another value')}"
    elif kind == "string_pattern_mismatch":
        shape = hint or f"text matching {ctx.get('pattern')}"
        what = f"{show(got)} is not of the expected form; expected {shape}"
    elif kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        what = f"got {show(got)}; expected {words} {ctx.get(key)}"
    elif kind in ("too_short", "too_long"):
        words, key = (
            ("at least", "min_length") if kind == "too_short" else ("at most", "max_length")
        )
        what = f"has {ctx.get('actual_length')} items; expected {words} {ctx.get(key)}"
    elif kind in ("string_too_short", "string_too_long"):
        short = kind == "string_too_short"
        bound = ctx.get("min_length" if short else "max_length")
        what = (
            f"{show(got)} is too {'short' if short else 'long'}; "
            f"expected at {'least' if short else 'most'} {bound} characters"
        )
    elif kind.startswith("decimal_"):
        what = f"got {show(got)}; expected a number with at most 4 decimal places"
    elif kind in ("value_error", "assertion_error"):
        rule = ctx.get("error")
        if isinstance(rule, FieldRuleError):  # a model's rule, placed on the field breaking it
            at = f"{at}.{rule.field}" if at else rule.field
            what, hint = rule.message, None  # the rule's words say what is expected
        else:
            what = str(rule or err["msg"])
        if hint and "expected" not in what and " like " not in what:
            what = f"{what}; expected {hint}"
    else:  # a rule not worded here yet: pydantic's own words are better than none
        what = str(err["msg"])
    return Problem(at, what)


def _fields_of(root: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """The keys allowed in the mapping at `loc` under `root`, to show beside a typo."""
    model: Any = root
    for part in loc:
        model = _unwrap(model)
        if isinstance(part, int):
            args = get_args(model)
            model = args[0] if args else None
        elif _is_model(model) and part in model.model_fields:
            model = model.model_fields[part].annotation
        else:
            return ""
    model = _unwrap(model)
    return ", ".join(model.model_fields) if _is_model(model) else ""


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseModel)


def _unwrap(hint: Any) -> Any:
    """`X` out of `Annotated[X, ...]` and `X | None`."""
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    if get_origin(hint) in (Union, UnionType):
        kept = [a for a in get_args(hint) if a is not type(None)]
        return kept[0] if len(kept) == 1 else hint
    return hint
