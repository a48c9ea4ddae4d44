"""Hive-style partitioned Parquet output: ``path/col=value/.../part-0.parquet``.

One file per partition, its rows in input order, written in row groups of ``row_group_size``
rows as they fill (the rest when the writer closes, partition by partition in sorted order), so
batch and stream runs write the same bytes. A partition's file is opened only once it has a
full row group: many small partitions hold no open file. The partition columns are not stored
in the files (their values are in the directory names), as Hive, Spark and pyarrow do.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa

from trakt.errors import OutputError
from trakt.io.guard import SchemaGuard
from trakt.io.parquet_io import RowGroups

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PART_FILE = "part-0.parquet"


def segment(value: Any) -> str | None:
    """A partition value as a directory name's text (URL-escaped as pyarrow does), or None
    when it cannot be one (empty, ``.``, ``..``)."""
    if value is None:
        return NULL_PARTITION
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
    else:
        text = str(value)
    escaped = quote(text, safe="")
    return None if escaped in ("", ".", "..") else escaped


class PartitionedWriter:
    """Writes a directory of Parquet files, one per combination of ``partition_by`` values."""

    def __init__(self, path: Path, options: Mapping[str, Any]) -> None:
        self.root = path
        self.shown = str(path)
        self.by: list[str] = list(options["partition_by"])
        self.options = options
        self.guard = SchemaGuard(self.shown)
        self.data = SchemaGuard(self.shown)  # the columns stored in the files
        self.parts: dict[tuple[str, ...], RowGroups] = {}
        try:
            path.mkdir()
        except OSError as exc:
            raise OutputError(f"{self.shown}: cannot create the directory: {exc}") from None

    def write(self, table: pa.Table) -> None:
        first = self.guard.schema is None
        table = self.guard.admit(table)
        if first:
            self._check_columns(table.schema)
        data = self.data.admit(table.drop_columns(self.by))
        if not table.num_rows:
            return
        keys, groups = self._groups(table)
        for key, rows in zip(keys, groups, strict=True):
            part = self.parts.get(key)
            if part is None:
                part = self.parts[key] = RowGroups(self._file(key), self.shown, self.options)
            part.add(data.take(rows), self.data)

    def close(self) -> None:
        empty = self.data.schema or pa.schema([])
        for key in sorted(self.parts):
            self.parts[key].close(self.data, empty)

    def _file(self, key: tuple[str, ...]) -> Path:
        names = zip(self.by, key, strict=True)
        folder = self.root.joinpath(*(f"{quote(c, safe='')}={v}" for c, v in names))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.shown}: cannot create {folder}: {exc}") from None
        return folder / PART_FILE

    def _check_columns(self, schema: pa.Schema) -> None:
        for name in self.by:
            if name not in schema.names:
                raise OutputError(
                    f"{self.shown}: partition_by names column '{name}', which the output does "
                    f"not have (it has {schema.names}); partition by one of those",
                    file=self.shown,
                    column=name,
                )
            kind = schema.field(name).type
            if pa.types.is_nested(kind) or pa.types.is_binary(kind):
                raise OutputError(
                    f"{self.shown}: partition_by column '{name}' is {kind}; partition by a "
                    "column of text, numbers, booleans, dates or timestamps",
                    file=self.shown,
                    column=name,
                )
        if len(self.by) == len(schema.names):
            raise OutputError(
                f"{self.shown}: partition_by names every column {self.by}: the files would "
                "hold no data; leave at least one column out of partition_by",
                file=self.shown,
            )

    def _groups(self, table: pa.Table) -> tuple[list[tuple[str, ...]], list[pa.Array]]:
        """The partitions in ``table`` and each one's row numbers, in input order."""
        combined = np.zeros(table.num_rows, dtype=np.int64)
        texts: list[list[str]] = []
        for name in self.by:
            encoded = table.column(name).combine_chunks().dictionary_encode("encode")
            names = []
            for value in encoded.dictionary.to_pylist():
                text = segment(value)
                if text is None:
                    raise OutputError(
                        f"{self.shown}: partition_by column '{name}' holds {value!r}, which "
                        "cannot be a directory name; replace it in a step (e.g. with a "
                        "placeholder), or partition by another column",
                        file=self.shown,
                        column=name,
                    )
                names.append(text)
            texts.append(names)
            indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            combined = combined * len(names) + indices
        found, inverse = np.unique(combined, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(found) + 1))
        keys: list[tuple[str, ...]] = []
        for code in found.tolist():
            parts = []
            for names in reversed(texts):
                code, index = divmod(code, len(names))
                parts.append(names[index])
            keys.append(tuple(reversed(parts)))
        groups = [pa.array(order[a:b]) for a, b in itertools.pairwise(bounds)]
        return keys, groups
