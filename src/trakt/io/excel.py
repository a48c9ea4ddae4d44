"""Excel (``.xlsx``) input through pandas and openpyxl (the ``excel`` extra). Read-only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trakt.errors import InputError, OutputError
from trakt.io.base import ChunkWriter, ReadRequest, check_unknown_options, conform, slices

OPTION_NAMES = frozenset({"dtype", "skiprows", "usecols", "na_values", "source_column"})
EXTRA_HINT = "install the excel extra: python -m pip install 'trakt-etl[excel]'"


def available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


class ExcelFormat:
    name = "xlsx"
    extensions: tuple[str, ...] = (".xlsx", ".xlsm")
    option_names = OPTION_NAMES
    can_write = False

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_unknown_options(options, OPTION_NAMES, "xlsx")
        if not available():
            problems.append(f"format 'xlsx' needs openpyxl: {EXTRA_HINT}")
        return problems

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def read_table(self, request: ReadRequest) -> pa.Table:
        opts = {k: v for k, v in request.options.items() if k != "source_column"}
        try:
            frame = pd.read_excel(
                request.path,
                sheet_name=request.sheet if request.sheet is not None else 0,
                engine="openpyxl",
                dtype_backend="pyarrow",
                **opts,
            )
        except ImportError:
            raise InputError(f"cannot read {request.path}: {EXTRA_HINT}") from None
        except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
            raise InputError(
                f"cannot read Excel file {request.path}: {exc}", file=str(request.path)
            ) from None
        # Drop pandas' metadata, or to_pandas would bring back pyarrow-backed dtypes.
        return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)

    def schema(self, request: ReadRequest) -> pa.Schema:
        return self.read_table(request).schema

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        # Spreadsheets are small by nature: read once, hand out slices.
        table = self.read_table(request)
        if schema is not None:
            table = conform(table, schema)
        yield from slices(table, chunk_rows)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        raise OutputError("writing xlsx is not supported; write CSV outputs")

    def open_writer(self, path: Path) -> ChunkWriter:
        raise OutputError("writing xlsx is not supported; write CSV outputs")
