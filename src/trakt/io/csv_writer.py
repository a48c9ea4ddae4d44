"""CSV writing: one formatting table for every dtype, one writer (polars), for both modes.

Each frame (or stream chunk) is converted to a polars frame by a fixed rule per dtype (plain
dtypes in one call, the others column by column), so a value is written the same way whichever
chunk it lands in, in batch and stream mode alike:

=========================================  =================================================
pandas column                              CSV text
=========================================  =================================================
missing (None, NaN, NA, NaT)               empty field (``""`` when the frame has one column)
bool, ``boolean``                          ``true`` / ``false``
int, ``Int64``                             decimal digits
float, ``Float64``                         shortest round-trip: ``2.0``, ``0.1``, ``-0.0``,
                                           ``inf``; exponent form below 1e-5 and from 1e16
                                           (``1e-7``, ``1e+16``); NaN is missing
float32, float16                           its own shortest form (``0.1``); exponent form
                                           below 1e-6 and from 1e13
decimal (``Decimal`` objects, arrow)       exact positional text, scale kept (``1.10``)
date (``datetime.date``, arrow date)       ``2025-01-09``
datetime without zone (any unit)           ``2025-01-09T10:00:00``; fractional seconds only
                                           when non-zero, in 3, 6 or 9 digits (``.500``)
datetime with zone                         local time and offset by pandas' zone rules,
                                           ``2025-01-09T10:00:00+00:00``
time                                       ``10:00:00`` (fraction as for datetimes)
timedelta                                  ISO 8601 duration as pandas writes it, ``P1DT2H0M0S``
categorical                                its categories' rule
object column                              each value by its own type's rule above;
                                           other objects as ``str(value)``
text                                       as is (an empty string is ``""``); quoted only
                                           where RFC 4180 needs it, the header too
=========================================  =================================================

polars writes about 10x faster than ``DataFrame.to_csv`` (1M rows of the benchmark's mixed
data: 0.6-1.0 s against 6.5 s; ``benchmarks/batch_vs_pandas.py`` for the whole run).
"""

from __future__ import annotations

import csv
import importlib
import io
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trakt.errors import OutputError
from trakt.io.csv_values import texts

if TYPE_CHECKING:
    import polars as pl

_DATETIME = "%Y-%m-%dT%H:%M:%S%.f"  # chrono: %.f is empty, or 3, 6 or 9 digits
_TIME = "%H:%M:%S%.f"


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Named indexes (e.g. from groupby) are data: write them as columns."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame


def preload_writer() -> None:
    """Import the writer's library in the background while inputs are read.

    polars takes ~0.2 s to import; pyarrow's reader releases the GIL, so the two overlap.
    """
    threading.Thread(target=importlib.import_module, args=("polars",), daemon=True).start()


# --- one column -------------------------------------------------------------------------

# Object columns whose values are all of one of these kinds convert in one go; the result is
# the same as value by value (tests/reliability/test_writer.py checks it).
_FAST_OBJECT = {
    "string": pa.large_string(),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "date": pa.date32(),
}


_ARROW_NATIVE = (
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_float64,
    pa.types.is_float32,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_decimal128,
    pa.types.is_date,
    pa.types.is_timestamp,
    pa.types.is_time,
)


def _zone(value: Any) -> Any:
    return getattr(value, "tzinfo", None)


def _object_column(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    kind = pd.api.types.infer_dtype(column, skipna=True)
    target = _FAST_OBJECT.get(kind)
    if target is not None:
        try:
            return pa.array(column, target, from_pandas=True)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass  # e.g. an int beyond int64: value by value
    if kind == "floating" and all(type(v) is float for v in column):
        return pa.array(column, pa.float64(), from_pandas=True)
    if kind in ("datetime", "datetime64") and len({_zone(v) for v in column.dropna()}) == 1:
        try:  # one zone (or none) throughout: as a datetime column
            converted = pd.Series(pd.to_datetime(column))
        except (OverflowError, TypeError, ValueError):
            converted = column
        if not pd.api.types.is_object_dtype(converted.dtype):
            return _arrow_column(converted)
    return texts(column)


def _zoned_texts(column: pd.Series) -> pa.Array:
    """Local time and offset by pandas' zone rules (polars' differ after 2037), formatted by
    polars: the same text as value by value."""
    import polars as pl

    wall = column.dt.tz_localize(None)
    minutes = (wall - column.dt.tz_convert("UTC").dt.tz_localize(None)) // pd.Timedelta(minutes=1)
    parts = pl.DataFrame(
        {"wall": pa.array(wall), "offset": pa.array(minutes, pa.int64(), from_pandas=True)}
    )
    offset = pl.col("offset")
    text = pl.col("wall").dt.to_string(_DATETIME) + pl.concat_str(
        pl.when(offset < 0).then(pl.lit("-")).otherwise(pl.lit("+")),
        (offset.abs() // 60).cast(pl.String).str.zfill(2),
        pl.lit(":"),
        (offset.abs() % 60).cast(pl.String).str.zfill(2),
    )
    result: pa.Array = parts.select(text).to_series().to_arrow()
    return result


def _arrow_column(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as Arrow data whose polars text is the table's (or as text already)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = _arrow_column(pd.Series(dtype.categories))
        codes = column.cat.codes.to_numpy()
        indices = pa.array(codes, pa.int64(), mask=codes < 0)
        return categories.take(indices)
    if pd.api.types.is_object_dtype(dtype):
        return _object_column(column)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _zoned_texts(column)
    if pd.api.types.is_datetime64_dtype(dtype):
        return pa.array(column)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return texts(column)
    if isinstance(dtype, pd.ArrowDtype):
        kind = dtype.pyarrow_dtype
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            return _zoned_texts(column.astype(pd.DatetimeTZDtype(kind.unit, kind.tz)))
        if any(test(kind) for test in _ARROW_NATIVE):
            return pa.array(column)
        # Only types polars writes as the table says; the rest (durations, lists, binary,
        # decimal256, which makes polars panic) value by value.
        return texts(column.astype(object))
    if dtype == np.float16:  # polars would widen it to float32 and write that one's digits
        return texts(column.to_numpy())
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return pa.array(column, from_pandas=True)  # NaN is missing
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return pa.array(column, from_pandas=True)
    return texts(column.astype(object))  # periods, intervals, complex, sparse, ...


def _polars_column(name: str, column: pd.Series) -> pl.Series:
    import polars as pl

    try:
        arrow = _arrow_column(column)
        if pa.types.is_dictionary(arrow.type):
            arrow = arrow.cast(arrow.type.value_type)
        series = pl.Series(name, arrow)
    except (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError):
        # A column polars refuses: value by value, as an object column.
        series = pl.Series(name, texts(column.astype(object)))
    return series


def _in_bulk(dtype: Any) -> bool:
    """Whether polars' own pandas conversion gives the table's values for this dtype."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "biuM" or (dtype.kind == "f" and dtype.itemsize >= 4)
    if isinstance(dtype, pd.ArrowDtype):
        kind = dtype.pyarrow_dtype
        zoned = pa.types.is_timestamp(kind) and kind.tz is not None
        return not zoned and any(test(kind) for test in _ARROW_NATIVE)
    return isinstance(dtype, pd.BooleanDtype | pd.StringDtype) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iuf"
    )


def _formatting(pl: Any, schema: Any, nan_free: set[str]) -> list[Any]:
    """Expressions turning polars' typed columns into the table's text where it differs."""
    floats: list[str] = []
    naive: list[str] = []
    times: list[str] = []
    nulls: list[str] = []
    for name, dtype in schema.items():
        if dtype.is_float():
            if name not in nan_free:
                floats.append(name)
        elif isinstance(dtype, pl.Datetime):  # zoned ones are text already (_zoned_texts)
            naive.append(name)
        elif dtype == pl.Time:
            times.append(name)
        elif dtype == pl.Null:
            nulls.append(name)
    expressions = []
    if floats:
        expressions.append(pl.col(floats).fill_nan(None))
    if naive:
        expressions.append(pl.col(naive).dt.to_string(_DATETIME))
    if times:
        expressions.append(pl.col(times).dt.to_string(_TIME))
    if nulls:
        expressions.append(pl.col(nulls).cast(pl.String))
    return expressions


def to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    """The frame's data as a polars frame of writable columns, named by position."""
    import polars as pl

    names = [f"c{i}" for i in range(len(frame.columns))]
    # Plain dtypes convert in one call (per-column calls cost ~4x on frames with thousands of
    # columns); object, categorical and other columns one by one.
    dtypes = list(frame.dtypes)
    bulk = [i for i, dtype in enumerate(dtypes) if _in_bulk(dtype)]
    parts: list[pl.DataFrame] = []
    if bulk:
        plain = frame if len(bulk) == len(names) else frame.iloc[:, bulk]
        plain = plain.set_axis([names[i] for i in bulk], axis=1)
        try:
            parts.append(pl.from_pandas(plain, include_index=False))
        except (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError):
            bulk = []
    rest = sorted(set(range(len(names))) - set(bulk))
    if rest:
        columns = [_polars_column(names[i], frame.iloc[:, i]) for i in rest]
        parts.append(pl.DataFrame(columns, height=len(frame)))
    converted = pl.concat(parts, how="horizontal") if len(parts) > 1 else parts[0]
    # from_pandas already made numpy floats' NaN missing; extension floats may still hold NaN.
    nan_free = {names[i] for i in bulk if isinstance(dtypes[i], np.dtype)}
    formatting = _formatting(pl, converted.schema, nan_free)
    if formatting:
        converted = converted.with_columns(formatting)
    return converted.select(names) if rest else converted


# --- writing ------------------------------------------------------------------------------


def _header(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    # "\r\n" as the terminator makes the csv module quote names holding a CR as well as an
    # LF (with "\n" alone it leaves a CR bare, which readers take as a line break).
    csv.writer(buffer, lineterminator="\r\n").writerow([str(c) for c in frame.columns])
    return buffer.getvalue()[:-2].encode() + b"\n"


def _write(frame: pd.DataFrame, sink: str | Path | IO[bytes], header: bool) -> None:
    if isinstance(sink, str | Path):
        with open(sink, "wb") as handle:
            _write(frame, handle, header)
        return
    import polars as pl  # imported here: only runs that write CSV pay for it

    frame = _prepare(frame)
    if len(frame.columns) == 0:
        return  # nothing to write: an output without columns is an empty file
    converted = to_polars(frame)
    if header:
        sink.write(_header(frame))
    if not len(converted):
        return
    # A lone column's missing value would be a blank line, which readers skip: write "".
    nulls = '""' if len(frame.columns) == 1 else ""
    try:
        converted.write_csv(sink, include_header=False, null_value=nulls)
    except pl.exceptions.PolarsError as exc:  # I/O failures arrive wrapped by polars
        raise OSError(str(exc)) from exc


def write(frame: pd.DataFrame, path: Path) -> None:
    """Write a whole frame to ``path``."""
    try:
        _write(frame, path, header=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", file=str(path)) from None


class CsvChunkWriter:
    """Header once, then every chunk appended; all chunks must have the same columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise OutputError(
                f"cannot write {path}: {exc.strerror or exc}", file=str(path)
            ) from None
        self._columns: list[str] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (with the header if it is the first)."""
        frame = _prepare(frame)
        if len(frame.columns) == 0:
            return  # nothing to write; an output without columns stays an empty file
        columns = [str(c) for c in frame.columns]
        if self._columns is not None and columns != self._columns:
            raise OutputError(
                f"{self.path.name}: chunk columns {columns} differ from the first chunk's "
                f"{self._columns}",
                file=str(self.path),
            )
        try:
            _write(frame, self._file, header=self._columns is None)
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.path}: {exc.strerror or exc}", file=str(self.path)
            ) from None
        self._columns = columns

    def close(self) -> None:
        """Close the file."""
        self._file.close()
