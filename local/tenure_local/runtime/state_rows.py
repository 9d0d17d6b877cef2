"""state.json's long lists (invoices, charges, ...) kept as the JSON text they are written
as, for a memory run at scale: a row's text is a fraction of the size of its dicts, and the
whole state is held at once, beside the store, while state.json and the report are written.
SpillingRows keeps the text in an unnamed temporary file instead, and only where each row
is in memory: a 10,000-customer year's state is about 150 MB of text."""

import json
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, overload

from tenure_local.runtime.json_text import sorted_pretty

Row = dict[str, Any]


def row_text(row: Row) -> str:
    """A row as json.dumps(state, indent=2, sort_keys=True) writes it, less the indent of its
    place in the list (added when it is written)."""
    return sorted_pretty(row)


class PackedRows(Sequence[Row]):
    """A list of rows held as their text: reading a row decodes a fresh copy."""

    __slots__ = ("texts",)

    def __init__(self, texts: Sequence[str]) -> None:
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
            return list(self.texts) == list(other.texts)
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


class SpilledTexts(Sequence[str]):
    """Rows' texts in a temporary file, in the order of `starts` (offsets into the file of
    UTF-8 text; each ends where `ends` says). Reading one reads it from the file."""

    __slots__ = ("_ends", "_file", "_starts")

    def __init__(self, file: IO[bytes], starts: array[int], ends: array[int]) -> None:
        self._file, self._starts, self._ends = file, starts, ends

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self)))]
        start, end = self._starts[index], self._ends[index]  # IndexError when out of range
        self._file.seek(start)
        return self._file.read(end - start).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[n] for n in range(len(self)))


class SpillingRows(Rows):
    """Rows kept as their text in a temporary file from the moment they are added, with
    only each row's id and place in memory (the file has no name: it goes when the rows do,
    or when the process ends, whatever way it ends)."""

    def __init__(self) -> None:
        super().__init__()
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  # lives with the rows
        self._size = 0

    def add(self, row: Row) -> None:
        data = row_text(row).encode("utf-8")
        self._file.write(data)
        self._rows.append((row["id"], self._size, self._size + len(data)))
        self._size += len(data)

    def by_id(self) -> PackedRows:
        self._file.flush()
        order = sorted(self._rows, key=lambda r: r[0])
        self._rows = []  # the places live on in the arrays
        starts = array("q", (start for _, start, _ in order))
        ends = array("q", (end for _, _, end in order))
        return PackedRows(SpilledTexts(self._file, starts, ends))


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
