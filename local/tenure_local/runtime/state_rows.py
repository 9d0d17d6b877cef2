"""state.json's long lists (invoices, charges, ...) kept as the JSON text they are written
as, for a memory run at scale: a row's text is a fraction of the size of its dicts, and the
whole state is held at once, beside the store, while state.json and the report are written."""

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, overload

Row = dict[str, Any]


def row_text(row: Row) -> str:
    """A row as json.dumps(state, indent=2, sort_keys=True) writes it, less the indent of its
    place in the list (added when it is written)."""
    return json.dumps(row, indent=2, sort_keys=True)


class PackedRows(Sequence[Row]):
    """A list of rows held as their text: reading a row decodes a fresh copy."""

    __slots__ = ("texts",)

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [json.loads(text) for text in self.texts[index]]
        found: Row = json.loads(self.texts[index])
        return found

    def __iter__(self) -> Iterator[Row]:
        return (json.loads(text) for text in self.texts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedRows):
            return self.texts == other.texts
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for


class Rows:
    """The rows of one list of the state as build_state gathers them: kept as they are."""

    def __init__(self) -> None:
        self._rows: list[Any] = []

    def add(self, row: Row) -> None:
        self._rows.append(row)

    def extend(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.add(row)

    def by_id(self) -> list[Row] | PackedRows:
        """The rows sorted by their ids (ties keep the order they were added in)."""
        return sorted(self._rows, key=lambda r: r["id"])


class PackingRows(Rows):
    """Rows kept as their text from the moment they are added, so a whole state of them is
    never held as dicts."""

    def add(self, row: Row) -> None:
        self._rows.append((row["id"], row_text(row)))

    def by_id(self) -> PackedRows:
        return PackedRows([text for _, text in sorted(self._rows, key=lambda r: r[0])])


def write_rows(fh: IO[str], rows: PackedRows, depth: int) -> None:
    """`rows` as the list json.dumps(indent=2) writes at `depth` (a value of the top-level
    object: 1). JSON text holds no raw newline (the encoder escapes them in strings), so
    every newline in a row's text is one of its indents."""
    if not rows.texts:
        fh.write("[]")
        return
    inner = "\n" + "  " * (depth + 1)
    fh.write("[")
    for n, text in enumerate(rows.texts):
        fh.write(("," if n else "") + inner + text.replace("\n", inner))
    fh.write("\n" + "  " * depth + "]")
