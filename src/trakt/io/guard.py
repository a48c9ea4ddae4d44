"""One output's tables held to one schema, so every part is written alike (any chunking)."""

from __future__ import annotations

import pyarrow as pa

from trakt.errors import OutputError


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` without metadata (pandas' differs between runs; a field id is no type)."""
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


class SchemaGuard:
    """Holds every table of one output to the first's columns and types.

    A column of type ``null`` (no values in that table) takes the type the others have; one
    whose type is still ``null`` takes the first real type it meets, until ``frozen``.
    """

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.schema: pa.Schema | None = None
        self.frozen = False

    def admit(self, table: pa.Table) -> pa.Table:
        """``table`` checked (an :class:`OutputError` naming the column when it differs)."""
        incoming = plain_schema(table.schema)
        if self.schema is None:
            self.schema = incoming
            return table.cast(incoming)
        if incoming.names != self.schema.names:
            self._columns_differ(incoming.names, self.schema.names)
        fields = []
        for new, old in zip(incoming, self.schema, strict=True):
            if new.type == old.type or pa.types.is_null(new.type):
                fields.append(old)
            elif pa.types.is_null(old.type) and not self.frozen:
                fields.append(new)
            else:
                empty = " (it had no values in what was written first)"
                raise OutputError(
                    f"{self.shown}: column '{new.name}' is {new.type} in this part of the data "
                    f"but {old.type} before{empty if pa.types.is_null(old.type) else ''}; every "
                    "part of an output needs one type per column: cast it in the step (e.g. "
                    f"frame['{new.name}'].astype(...))",
                    file=self.shown,
                    column=new.name,
                )
        self.schema = pa.schema(fields)
        return table

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
