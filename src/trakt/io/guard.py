"""One output's tables held to one schema, so every part is written alike (any chunking)."""

from __future__ import annotations

import pyarrow as pa

from trakt.errors import OutputError


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` without metadata (pandas' differs between runs; a field id is no type)."""
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


class SchemaGuard:
    """Holds every table of one output to the first's columns and types.

    A column with no values in a table (all missing, whatever its type: a stream chunk of
    only missing dates may come as timestamps) takes the type the others have; a column
    whose type so far came only from such tables takes the first type that has values,
    until ``frozen`` (the writer fixed its schema).
    """

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.schema: pa.Schema | None = None
        self.frozen = False
        self.provisional: set[str] = set()  # columns that have had no values yet

    def admit(self, table: pa.Table) -> pa.Table:
        """``table`` checked (an :class:`OutputError` naming the column when it differs)."""
        incoming = plain_schema(table.schema)
        empty = {f.name for f in incoming if _empty(table.column(f.name))}
        if self.schema is None:
            self.schema = incoming
            self.provisional = empty
            return table.cast(incoming)
        if incoming.names != self.schema.names:
            self._columns_differ(incoming.names, self.schema.names)
        fields = []
        for new, old in zip(incoming, self.schema, strict=True):
            if new.type == old.type or new.name in empty:
                fields.append(old)
                if new.type == old.type and new.name not in empty:
                    self.provisional.discard(new.name)
            elif new.name in self.provisional and not self.frozen:
                fields.append(new)
                self.provisional.discard(new.name)
            else:
                before = " (it had no values in what was written first)"
                raise OutputError(
                    f"{self.shown}: column '{new.name}' is {new.type} in this part of the data "
                    f"but {old.type} before{before if new.name in self.provisional else ''}; "
                    "every part of an output needs one type per column: cast it in the step "
                    f"(e.g. frame['{new.name}'].astype(...))",
                    file=self.shown,
                    column=new.name,
                )
        self.schema = pa.schema(fields)
        columns = [
            pa.nulls(table.num_rows, f.type) if f.name in empty else table.column(f.name)
            for f in self.schema
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _columns_differ(self, names: list[str], expected: list[str]) -> None:
        differing = [a for a, b in zip(names, expected, strict=False) if a != b]
        longer = names if len(names) > len(expected) else expected
        odd = differing[0] if differing else longer[min(len(names), len(expected))]
        raise OutputError(
            f"{self.shown}: this part of the data has columns {names}, the first had "
            f"{expected} (column '{odd}'); every part of an output needs the same columns in "
            "the same order",
            file=self.shown,
            column=odd,
        )


def _empty(column: pa.ChunkedArray) -> bool:
    """No values (every entry missing)."""
    return bool(column.null_count == len(column))


def fit(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``'s types; a column with no values becomes nulls of its type."""
    columns = [
        pa.nulls(table.num_rows, f.type) if _empty(table.column(f.name)) else table.column(f.name)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, names=schema.names).cast(schema)
