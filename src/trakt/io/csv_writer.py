"""CSV writing from Arrow: one formatting table for every column type, one writer (polars), for
batch (one table) and stream (one table per chunk) alike.

A value is written the same way whichever chunk it lands in, so both modes write the same
bytes. A step's pandas frame reaches the writer through :func:`trakt.io.frames.from_pandas`
(its table says which Arrow type each pandas dtype becomes):

=========================================  =================================================
Arrow column                               CSV text
=========================================  =================================================
missing (null, and NaN in floats)          empty field (``""`` when the table has one column)
``bool``                                   ``true`` / ``false``
integers                                   decimal digits
``double``                                 shortest round-trip: ``2.0``, ``0.1``, ``-0.0``,
                                           ``inf``; exponent form below 1e-5 and from 1e16
                                           (``1e-7``, ``1e+16``)
``float``, ``halffloat``                   its own shortest form (``0.1``); exponent form
                                           below 1e-6 and from 1e13 (``halffloat``: as
                                           ``double``)
decimals                                   exact positional text, scale kept (``1.10``)
``date32``, ``date64``                     ``2025-01-09``
``timestamp`` without zone (any unit)      ``2025-01-09T10:00:00``; fractional seconds only
                                           when non-zero, in 3, 6 or 9 digits (``.500``)
``timestamp`` with zone                    local time and offset by pandas' zone rules,
                                           ``2025-01-09T10:00:00+00:00``
``time32``, ``time64``                     ``10:00:00`` (fraction as for timestamps)
``duration``                               ISO 8601 duration as pandas writes it, ``P1DT2H0M0S``
dictionary                                 its values' rule
text                                       as is (an empty string is ``""``); quoted only
                                           where RFC 4180 needs it (or holding ``sep``), the
                                           header too
anything else (lists, binary, structs)     value by value (:mod:`trakt.io.csv_values`):
                                           ``[1, 2]``; bytes decoded as UTF-8
=========================================  =================================================

polars writes about 10x faster than ``DataFrame.to_csv`` (1M mixed rows: 0.6-1.0 s against
6.5 s). Columns polars writes as the table says go to it zero-copy: timestamps and times are
formatted by ``write_csv``; only zoned timestamps, durations, ``halffloat`` and the value-by-value
types become text first. Options: ``sep`` (``,``) and ``compression`` (``csv_write_options``).
"""

from __future__ import annotations

import csv
import importlib
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias, cast

import pyarrow as pa

from trakt.errors import OutputError, UsageError
from trakt.io.base import is_pandas, nan_as_null
from trakt.io.compression import open_compressed
from trakt.io.csv_compress import BlockWriter
from trakt.io.csv_write_options import check_writer_options, codec

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

_DATETIME = "%Y-%m-%dT%H:%M:%S%.f"  # chrono: %.f is empty, or 3, 6 or 9 digits
_TIME = "%H:%M:%S%.f"
_REFUSED = (pa.ArrowException, OverflowError, TypeError, ValueError)
_BLOCK_ROWS = 131_072  # rows formatted at a time

Column: TypeAlias = pa.Array | pa.ChunkedArray
Converter: TypeAlias = Callable[[Column], Column]


def preload_writer() -> None:
    """Import the writer's library in the background while inputs are read.

    polars takes ~0.2 s to import; pyarrow's reader releases the GIL, so the two overlap.
    """
    threading.Thread(target=importlib.import_module, args=("polars",), daemon=True).start()


# --- one column -------------------------------------------------------------------------

# Types polars writes as the table says, given write_csv's datetime and time formats.
_NATIVE = (
    pa.types.is_null,
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_string_view,
    pa.types.is_date32,
    pa.types.is_time,
)


def value_texts(column: Column) -> pa.Array:
    """Value by value, as pandas hands the values out (lists as arrays, bytes, Decimals)."""
    from trakt.io.csv_values import texts  # pandas and numpy: only for such columns

    try:
        return texts(column.to_pandas())
    except _REFUSED:
        return texts(column.to_pylist())


def _halffloat_texts(column: Column) -> pa.Array:
    # polars would widen it to float32 and write that one's digits; numpy keeps float16's.
    from trakt.io.csv_values import texts

    return texts(column.to_numpy(zero_copy_only=False))


def zoned_texts(column: Column) -> pa.Array:
    """Local time and offset by pandas' zone rules (polars' differ after 2037), formatted by
    polars: the same text as value by value."""
    import pandas as pd
    import polars as pl

    stamps = pd.Series(column.to_pandas())
    wall = stamps.dt.tz_localize(None)
    minutes = (wall - stamps.dt.tz_convert("UTC").dt.tz_localize(None)) // pd.Timedelta(minutes=1)
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


def _decoded(inner: Converter | None, value_type: pa.DataType) -> Converter:
    def decode(column: Column) -> Column:
        plain = column.cast(value_type)
        return plain if inner is None else inner(plain)

    return decode


def _date32(column: Column) -> Column:
    return column.cast(pa.date32())


def converter(kind: pa.DataType) -> Converter | None:
    """What turns a column of this type into one polars writes as the table says (None:
    nothing, it already is one)."""
    if pa.types.is_dictionary(kind):
        return _decoded(converter(kind.value_type), kind.value_type)
    if pa.types.is_float16(kind):
        return _halffloat_texts
    if pa.types.is_floating(kind):
        return nan_as_null
    if pa.types.is_timestamp(kind):
        return None if kind.tz is None else zoned_texts
    if pa.types.is_decimal128(kind) and kind.scale >= 0:
        return None
    if pa.types.is_date64(kind):
        return _date32
    if any(test(kind) for test in _NATIVE):
        return None
    # durations (ISO text), decimal256 (polars panics on it), lists, binary, structs, ...
    return value_texts


# --- writing ------------------------------------------------------------------------------


def _header(names: list[str], sep: str) -> bytes:
    buffer = io.StringIO()
    # "\r\n" as the terminator makes the csv module quote names holding a CR as well as an
    # LF (with "\n" alone it leaves a CR bare, which readers take as a line break).
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerow(names)
    return buffer.getvalue()[:-2].encode() + b"\n"


def _cannot(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}", file=str(path))


class CsvTableWriter:
    """Header once, then every table appended; every table has the first one's column names.

    The bytes depend only on the rows, never on how they are split into tables.
    """

    def __init__(self, path: Path, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        problems = check_writer_options(options)
        if problems:
            raise UsageError(f"{path.name}: {'; '.join(problems)}", file=str(path))
        self.path = path
        self._sep = str(options.get("sep", ","))
        self._codec = codec(options)
        try:
            self._file: IO[bytes] = open_compressed(path, self._codec)
        except OSError as exc:
            raise _cannot(path, exc) from None
        # Compressors see fixed-size blocks: their bytes cannot depend on the chunking.
        # (A file-like object for polars, which only calls write.)
        self._sink = self._file if self._codec is None else cast(IO[bytes], BlockWriter(self._file))
        self._names: list[str] | None = None
        self._plans: dict[pa.Schema, list[Converter | None]] = {}

    def write(self, table: pa.Table | pd.DataFrame) -> None:
        """Append one table (with the header if it is the first)."""
        if is_pandas(table):  # until the runtime hands Arrow tables
            from trakt.io.pandas_arrow import from_pandas

            table = from_pandas(table)
        if table.num_columns == 0:
            return  # nothing to write; an output without columns stays an empty file
        names = table.column_names
        if self._names is not None and names != self._names:
            raise OutputError(
                f"{self.path.name}: chunk columns {names} differ from the first chunk's "
                f"{self._names}",
                file=str(self.path),
            )
        try:
            if self._names is None:
                self._sink.write(_header(names, self._sep))
            self._names = names
            # In blocks: polars copies text into its own layout, so a whole table would be
            # held twice while it is written (the bytes never depend on the blocks).
            for offset in range(0, table.num_rows, _BLOCK_ROWS):
                self._write_rows(table.slice(offset, _BLOCK_ROWS))
        except OSError as exc:
            raise _cannot(self.path, exc) from None

    def _plan(self, schema: pa.Schema) -> list[Converter | None]:
        plan = self._plans.get(schema)
        if plan is None:
            plan = self._plans[schema] = [converter(t) for t in schema.types]
        return plan

    def _frame(self, table: pa.Table) -> pl.DataFrame:
        """The table as a polars frame of writable columns, named by position."""
        import polars as pl

        plan = self._plan(table.schema)
        names = [f"c{i}" for i in range(table.num_columns)]
        columns = [_convert(c, step) for c, step in zip(table.columns, plan, strict=True)]
        try:
            frame = pl.from_arrow(pa.Table.from_arrays(columns, names=names), rechunk=False)
        except (pl.exceptions.PolarsError, *_REFUSED):
            # A column polars refuses: value by value, from now on (the plan is kept).
            for i, column in enumerate(columns):
                try:
                    pl.from_arrow(pa.table({"c": column}))
                except (pl.exceptions.PolarsError, *_REFUSED):
                    plan[i] = value_texts
                    columns[i] = value_texts(table.column(i))
            frame = pl.from_arrow(pa.Table.from_arrays(columns, names=names), rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def _write_rows(self, table: pa.Table) -> None:
        import polars as pl  # imported here: only runs that write CSV pay for it

        frame = self._frame(table)
        try:
            frame.write_csv(
                self._sink,
                include_header=False,
                separator=self._sep,
                # A lone column's missing value would be a blank line, which readers skip.
                null_value='""' if table.num_columns == 1 else "",
                datetime_format=_DATETIME,
                time_format=_TIME,
            )
        except pl.exceptions.PolarsError as exc:  # I/O failures arrive wrapped by polars
            raise OSError(str(exc)) from exc

    def _polars_floats(self, schema: pl.Schema) -> list[pl.Expr] | None:
        """Where polars writes rows of this schema as :meth:`write` does (no compression, at
        least two columns with plain names, column types polars writes as the table says),
        the float columns' NaN made missing; else None."""
        import polars as pl

        names = schema.names()
        if self._codec is not None or len(names) < 2:
            return None
        if not all(_plain(n, self._sep) for n in names):
            return None
        if not all(_sinkable(t) for t in schema.dtypes()):
            return None
        return [pl.col(n).fill_nan(None) for n, t in schema.items() if t.is_float()]

    def _polars_options(self) -> dict[str, Any]:
        """polars' ``write_csv`` / ``sink_csv`` settings that give :meth:`write`'s bytes."""
        return {
            "include_header": False,
            "separator": self._sep,
            "null_value": "",
            "datetime_format": _DATETIME,
            "time_format": _TIME,
        }

    def write_frame(self, frame: pl.DataFrame) -> bool:
        """Append a polars frame's rows by polars' ``write_csv`` where the bytes are certainly
        those :meth:`write` gives (as for :meth:`sink`: no compression, at least two columns
        with plain names, column types polars writes as the table says); no Arrow copy in
        between. False: nothing written, :meth:`write` its table."""
        import polars as pl

        names = frame.columns
        floats = self._polars_floats(frame.schema)
        if floats is None or (self._names is not None and names != self._names):
            return False
        try:
            if self._names is None:
                self._sink.write(_header(names, self._sep))
            self._names = names
            (frame.with_columns(floats) if floats else frame).write_csv(
                self._sink, **self._polars_options()
            )
        except pl.exceptions.PolarsError as exc:
            raise _cannot(self.path, OSError(str(exc))) from exc
        except OSError as exc:
            raise _cannot(self.path, exc) from None
        return True

    def sink(
        self, query: pl.LazyFrame, also: Sequence[pl.LazyFrame] = ()
    ) -> list[pl.DataFrame] | None:
        """Write a polars query's rows by polars' streaming engine, straight into the file,
        where the bytes are certainly those :meth:`write` gives: the same ``write_csv``
        settings, no compression, at least two columns with plain names, and only column types
        polars writes as the table says (floats with NaN as missing, as :meth:`write` makes
        them). ``also``: queries run along with it (``pl.collect_all``; polars 2.1 reads a
        file source once per query), their results returned.
        None: nothing was written; collect the query and :meth:`write` it."""
        import polars as pl

        if self._names is not None:
            return None
        schema = query.collect_schema()
        names = schema.names()
        floats = self._polars_floats(schema)
        if floats is None:
            return None
        try:
            self._sink.write(_header(names, self._sep))
            self._sink.flush()
            sunk = (query.with_columns(floats) if floats else query).sink_csv(
                self._file, lazy=True, **self._polars_options()
            )
            found = pl.collect_all([sunk, *also])[1:]
        except pl.exceptions.PolarsError as exc:
            raise _cannot(self.path, OSError(str(exc))) from exc
        except OSError as exc:
            raise _cannot(self.path, exc) from None
        self._names = names
        return found

    def close(self) -> None:
        """Finish the file (the compressed stream's end, then the file itself)."""
        try:
            self._sink.close()
        except OSError as exc:
            raise _cannot(self.path, exc) from None


def _plain(name: str, sep: str) -> bool:
    """A header name both polars and the csv module write unquoted."""
    return bool(name) and not any(c in name for c in (sep, '"', "\r", "\n"))


def _sinkable(kind: Any) -> bool:
    """A polars type that ``sink_csv`` writes as ``write_csv`` writes its Arrow column."""
    import polars as pl

    if isinstance(kind, pl.Datetime):
        return kind.time_zone is None
    plain = (pl.Boolean, pl.String, pl.Date, pl.Time, pl.Null, pl.Float32, pl.Float64)
    return bool(kind.is_integer() or isinstance(kind, plain))


def _convert(column: Column, step: Converter | None) -> Column:
    if step is None:
        return column
    try:
        return step(column)
    except _REFUSED:  # e.g. a date64 that is not a whole day, a zone pandas does not know
        return value_texts(column)


def write(frame: pd.DataFrame, path: Path) -> None:
    """Write a whole pandas frame to ``path`` (its Arrow table, by the table above)."""
    from trakt.io.pandas_arrow import from_pandas

    writer = CsvTableWriter(path, {})
    try:
        writer.write(from_pandas(frame))
    finally:
        writer.close()
