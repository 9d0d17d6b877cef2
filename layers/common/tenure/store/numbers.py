"""Legal numbers on the table: gap-free series whose counters move in the commit's own
transaction (docs/invoices.md)."""

from datetime import datetime
from typing import Any

from tenure.domain.credit_notes import CreditNote
from tenure.domain.invoices import Invoice
from tenure.domain.numbering import NumberedKind, numbering_year
from tenure.store.codec import to_item
from tenure.store.table import DynamoTable, counter_key, last_number


class DynamoNumbers(DynamoTable):
    """The number series' counters, read and moved by DynamoRepository.commit."""

    # -- legal numbers: gap-free series, moved in the commit's own transaction -------------
    def _take_numbers(
        self, numbered: list[tuple[int, NumberedKind, int, Invoice | CreditNote]]
    ) -> tuple[dict[int, str], dict[tuple[str, int, int], tuple[int, int]]]:
        """The numbers the puts in `numbered` take, by op index, and each counter's move
        (last number seen, last number after this commit). A counter this container has
        not seen yet is read (once per container and year); after that, none is."""
        numbers: dict[int, str] = {}
        counters: dict[tuple[str, int, int], tuple[int, int]] = {}
        for index, kind, year, _ in numbered:
            series = self._series[kind]
            key = (str(kind), series, year)
            if key not in counters:
                seen = self._last_numbers.get(key)
                if seen is None:
                    seen = self._read_counter(key)
                counters[key] = (seen, seen)
            seen, last = counters[key]
            counters[key] = (seen, last + 1)
            numbers[index] = self._numbering.format(kind, series, year, last + 1)
        return numbers, counters

    def expect_numbering(self, kind: NumberedKind, at: datetime) -> None:
        """A counter this container has not seen yet is read with the next customer read
        (`_get_with_expected_counters`), rather than by the commit that numbers."""
        counter = (str(kind), self._series[kind], numbering_year(at))
        if counter not in self._last_numbers:
            self._expected_counters.add(counter)

    def _read_counter(self, key: tuple[str, int, int]) -> int:
        keys = counter_key(key)
        return last_number(self._get(keys["PK"], keys["SK"]))

    def _counter_op(self, key: tuple[str, int, int], seen: int, last: int) -> dict[str, Any]:
        """Move the counter from `seen` to `last`, only if no other commit moved it first:
        that is what keeps the series free of gaps and of doubles."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(counter_key(key)),
            "UpdateExpression": "SET #last = :last, entity = :entity",
            "ExpressionAttributeNames": {"#last": "last"},
            "ExpressionAttributeValues": to_item({":last": last, ":entity": "number_counter"}),
        }
        if seen == 0:
            update["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            update["ConditionExpression"] = "#last = :seen"
            update["ExpressionAttributeValues"] |= to_item({":seen": seen})
        return {"Update": update}

    def _leave_series(self, key: tuple[str, int, int]) -> None:
        """Another commit took the next number of this series first: forget what this
        container knew of it and number from the next series, so that containers that meet
        on one series spread out over the others instead of meeting again."""
        self._last_numbers.pop(key, None)
        kind = NumberedKind(key[0])
        self._series[kind] = (key[1] + 1) % self._numbering.series

    @staticmethod
    def _with_numbers(ops: list[dict[str, Any]], numbers: dict[int, str]) -> list[dict[str, Any]]:
        if not numbers:
            return ops
        out = list(ops)
        for index, number in numbers.items():
            put = out[index]["Put"]
            out[index] = {"Put": put | {"Item": put["Item"] | to_item({"number": number})}}
        return out
