"""A CSV file as a polars query (``scan_csv``): what a batch run's polars and built-in steps
extend, so read → steps → write runs in polars' streaming engine, in bounded memory.

The query must give exactly the table the exact reader (:func:`trakt.io.csv.read_table`)
gives, or be thrown away. It reads every column as text and applies the types the file's
first block settles to (:func:`trakt.io.csv.stream_schema`: int64, float64 or text), with
missing-value markers as the exact reader has them. While the rows pass, each batch is
tallied (:class:`ScanTally`): rows, the delimiters inside values, and the values that do not
fit their column's type the way the exact reader would keep them (``007`` in an int column,
a float that would lose digits, text in a number column). :meth:`CsvScan.verify` then compares
the tally with a byte count of the file (:func:`trakt.io.rawshape.counts`, by a thread of its
own while polars reads): as many records as lines, every delimiter accounted for (a short row
or a blank line has fewer), no carriage return but in a line end, and no misfit. Anything
else, polars refusing the file (it refuses a quote out of place: text after a closing quote, a
quote opening mid-field, a quoted field never closed), or any option or type the query does
not do, means the exact reader reads the file.

Quoting is left to polars: where polars reads records that are not the exact reader's, a
quoted field spanning lines or a delimiter inside a value shows up in the counts.
``tests/runtime/test_scans.py`` checks the two readers agree on random files with stray
quotes, delimiters and line ends (property tests).
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from trakt.io.base import prefetch
from trakt.io.csv_option_rules import DEFAULT_NA
from trakt.io.rawshape import Counts, block_for_rows, counts
from trakt.io.registry import ReadRequest

# The options the query reads as the exact reader does; any other one set: no scan.
_HANDLED = frozenset({"sep", "delimiter", "quotechar", "encoding", "na_values", "keep_default_na"})
_UTF8 = ("utf8", "utf-8", "utf_8")
# A float text the exact reader keeps as text (csv_checks: a leading + or 0 before a digit).
_SPELLED = r"^\+|^-?0[0-9]"
_NONZERO = r"^[-+]?[0-9.]*[1-9]"  # a mantissa with a non-zero digit
_SMALLEST_NORMAL = 2.2250738585072014e-308
_NUMBER_CHARS = "0123456789.eE+-"  # what an int or float that fits its column is written with
_SCANNED = (pa.types.is_string, pa.types.is_large_string)


class ScanTally:
    """What the batches of one scan held, added up as polars' threads hand them over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows = 0
        self.seps = 0  # delimiters inside text values
        self.misfits = 0  # values the exact reader would not read as their column's type
        self.batches = 0
        self.frozen = False  # verified: a later run of the same query adds nothing

    def add(self, rows: int, seps: int, misfits: int) -> None:
        with self._lock:
            if self.frozen:
                return
            self.rows += rows
            self.seps += seps
            self.misfits += misfits
            self.batches += 1


class CsvScan:
    """One CSV file as a checked polars query (see the module docstring)."""

    def __init__(
        self,
        request: ReadRequest,
        schema: pa.Schema,
        on_batch: Callable[[pl.DataFrame], None] | None,
    ) -> None:
        import polars as pl

        self.request = request
        self.schema = schema
        self.counted: Future[Counts] | None = None  # started by :meth:`count`
        self.tally = ScanTally()
        options = request.options
        self.sep = str(options.get("sep") or options.get("delimiter") or ",")
        na = list(options.get("na_values") or [])
        if options.get("keep_default_na", True):
            na += DEFAULT_NA
        self._on_batch = on_batch
        names = schema.names
        self.types: dict[str, pl.DataType] = {
            f.name: pl.Int64() if pa.types.is_int64(f.type) else pl.Float64()
            for f in schema
            if not _SCANNED[0](f.type) and not _SCANNED[1](f.type)
        }
        self._texts = {
            n: pl.when(pl.col(n).is_in(na)).then(None).otherwise(pl.col(n)).alias(n) for n in names
        }
        # Which columns of a batch hold a marker at all: most hold none, and are not copied.
        self._marked = [pl.col(n).is_in(na).any().alias(n) for n in names]
        self._casts = [
            pl.col(n).cast(self.types[n], strict=False) if n in self.types else pl.col(n)
            for n in names
        ]
        # Every delimiter inside a value, counted in the text as read: with a record short of
        # a field, the file has fewer. A number column's values need no count where no number
        # or missing-value marker can hold the delimiter (a ``,``, not a ``.``): one that
        # holds it is text, a misfit, which gives the scan up anyway.
        plain = self.sep not in _NUMBER_CHARS and not any(self.sep in v for v in na)
        seps = [
            pl.col(n).str.count_matches(self.sep, literal=True).sum()
            for n in names
            if not (plain and n in self.types)
        ] or [pl.lit(0)]
        self._seps = [pl.sum_horizontal(seps).cast(pl.Int64).alias("seps")]
        # One scalar each: the rows, each typed column's misfits.
        checks = [pl.len().cast(pl.Int64)]
        checks += [_misfits(n, f"__{i}", t) for i, (n, t) in enumerate(self.types.items())]
        checks = [c.alias(f"c{i}") for i, c in enumerate(checks)]
        self._checks = checks
        self._values = [pl.col(n).alias(f"__{i}") for i, n in enumerate(self.types)]
        output = {n: self.types.get(n, pl.String()) for n in names}
        raw = pl.scan_csv(
            request.path,
            has_header=True,
            separator=self.sep,
            quote_char=str(options.get("quotechar") or '"'),
            infer_schema=False,
            encoding="utf8",
        )
        self.query: pl.LazyFrame = raw.map_batches(
            self._batch, schema=output, streamable=True, validate_output_schema=False
        )
        self._raw = raw

    def _batch(self, raw: pl.DataFrame) -> pl.DataFrame:
        """One batch: tallied, its types applied (runs on polars' threads)."""
        hits = raw.select(self._marked).row(0)
        marked = [n for n, hit in zip(self.schema.names, hits, strict=True) if hit]
        texts = raw.with_columns([self._texts[n] for n in marked]) if marked else raw
        typed = texts.select(self._casts)
        values = typed.select(self._values)
        both = pl.concat([texts, values], how="horizontal")  # zero-copy
        found = [int(v or 0) for v in both.select(self._checks).row(0)]
        seps = int(raw.select(self._seps).item() or 0)
        self.tally.add(found[0], seps, sum(found[1:]))
        if sum(found[1:]):  # given up at once: no step sees a value changed
            raise ValueError(f"{sum(found[1:])} value(s) do not fit the first block's types")
        if self._on_batch is not None and not self.tally.frozen:
            self._on_batch(typed)
        return typed

    def frames(self) -> Iterator[pl.DataFrame]:
        """The file's rows in polars DataFrames, typed and tallied as the query's are, read
        in blocks of whole lines by threads of their own (parsing lets go of the GIL): bounded
        memory for stream runs, where a query's batches would run ahead of the consumer."""
        return prefetch(self._frames())

    def _frames(self) -> Iterator[pl.DataFrame]:
        # Blocks parsed and checked by two threads at once, handed on in order: one thread
        # was the stream run's bottleneck (the checks take longer than the parse).
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="trakt-scan") as pool:
            pending: deque[Future[pl.DataFrame]] = deque()
            try:
                for i, block in enumerate(_line_blocks(self.request.path)):
                    pending.append(pool.submit(self._parsed, block, i == 0))
                    if len(pending) >= 2:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:  # closed early, or failed: blocks not yet parsed are not
                for future in pending:
                    future.cancel()

    def _parsed(self, block: bytes, first: bool) -> pl.DataFrame:
        """One block of whole lines, parsed (the header in the first) and checked."""
        names = self.schema.names
        options = self.request.options
        raw = pl.read_csv(
            io.BytesIO(block),
            has_header=first,
            new_columns=None if first else names,
            schema=None if first else dict.fromkeys(names, pl.String()),
            infer_schema=False,
            separator=self.sep,
            quote_char=str(options.get("quotechar") or '"'),
            encoding="utf8",
        )
        if first and raw.columns != names:
            raise ValueError(f"header {raw.columns} is not {names}")
        return self._batch(raw)

    def count(self) -> None:
        """Start counting the file's line breaks and delimiters, by a thread of its own (it
        reads the file beside polars; :meth:`verify` waits for it)."""
        if self.counted is None:
            self.counted = _counted(self.request.path, self.sep)

    def names_agree(self) -> bool:
        """Whether polars reads the header as the exact reader does (a BOM, quoted names)."""
        return list(self._raw.collect_schema().names()) == list(self.schema.names)

    def verify(self) -> str | None:
        """Why the rows that went through differ from the exact reader's, or None: every
        line a record, every delimiter in its place, every value fitting its type."""
        tally = self.tally
        tally.frozen = True
        if self.counted is None:
            return "the file was not counted"
        counted = self.counted.result()
        if counted.stray_cr:
            return "a carriage return that ends no line"
        if tally.misfits:
            return f"{tally.misfits} value(s) do not fit the type the first block gave"
        if counted.lines != tally.rows + 1:
            return f"{counted.lines} lines but {tally.rows} records and a header"
        header = sum(name.count(self.sep) for name in self.schema.names)
        expected = (len(self.schema) - 1) * (tally.rows + 1) + header + tally.seps
        if counted.seps != expected:
            return f"{counted.seps} delimiters where full records have {expected}"
        return None


def _misfits(name: str, cast: str, kind: pl.DataType) -> pl.Expr:
    """How many values of text column ``name`` (``cast``: the same as ``kind``) the exact
    reader would not read as that type (it would keep the column text, or widen it).

    polars' and pyarrow's number parsers take the same texts (a sign, digits, a point, an
    exponent; no spaces); what is looked at here is the spellings a number would not give
    back, on the few values that may have one."""
    import polars as pl

    text, value = pl.col(name), pl.col(cast)
    if kind == pl.Int64():
        # Canonical unless +7, -0 or 007: an int that parsed and starts otherwise is.
        wrong = (
            value.is_null()
            | text.str.starts_with("+")
            | text.str.starts_with("-0")
            | (text.str.starts_with("0") & (text.str.len_bytes() > 1))
        )
        return (text.is_not_null() & wrong).sum()
    wrong = (
        value.is_null()
        | value.is_infinite()
        | value.is_nan()
        | (text.str.len_bytes() >= 16)  # digits a float may not keep: compared exactly
        | ((value.abs() < _SMALLEST_NORMAL) & (value != 0))  # subnormal
    )
    maybe = text.str.starts_with("+") | text.str.starts_with("0") | text.str.starts_with("-0")
    spelled = text.filter(maybe).str.contains(_SPELLED).sum()  # +1.5, 007.5
    underflow = text.filter(value == 0).str.contains(_NONZERO).sum()  # 1e-400
    return (text.is_not_null() & wrong).sum() + spelled + underflow


def scan(
    request: ReadRequest,
    schema: pa.Schema,
    on_batch: Callable[[pl.DataFrame], None] | None = None,
) -> CsvScan | None:
    """The file as a checked query, or None where only the exact reader reads it as Trakt
    does: an option the query does not handle, a type other than int64/float64/text, a
    column empty in the first block, fewer than two columns, a line break in a header
    name, a header polars reads otherwise."""
    options = request.options
    if not _plain(options) or len(schema) < 2:
        return None
    if not all(
        _SCANNED[0](f.type) or _SCANNED[1](f.type) or f.type in (pa.int64(), pa.float64())
        for f in schema
    ):
        return None
    names = schema.names
    if any(not n or "\n" in n or "\r" in n for n in names):
        return None
    found = CsvScan(request, schema, on_batch)
    if not found.names_agree():
        return None
    found.count()
    return found


_BLOCK = 3 << 19  # stream reads: 1.5 MiB of whole lines at a time (peak RSS: two in flight)
_WIDE_BLOCK = 16 << 20  # a wide file's: 4,096 lines (rawshape.block_for_rows), up to 16 MiB


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of about ``_BLOCK`` bytes (more for a wide file), each cut after a
    line break (a quoted line break may be cut: the scan is given up on such a file anyway)."""
    rest = b""
    size = block_for_rows(path, _BLOCK, _WIDE_BLOCK)
    with open(path, "rb") as handle:
        while data := handle.read(size):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            rest = data[cut:]
            yield data[:cut]
    if rest:
        yield rest


def _counted(path: Path, sep: str) -> Future[Counts]:
    """The file's line breaks and delimiters, counted by a thread of its own (no pool
    outlives a run)."""
    found: Future[Counts] = Future()

    def look() -> None:
        try:
            found.set_result(counts(path, sep))
        except BaseException as exc:  # handed to whoever waits for the counts
            found.set_exception(exc)

    threading.Thread(target=look, name="trakt-count", daemon=True).start()
    return found


def _plain(options: Mapping[str, Any]) -> bool:
    """Options the query reads as the exact reader does."""
    set_ = {
        k
        for k, v in options.items()
        if v is not None and k not in ("max_field_lines", "max_field_bytes")
    }
    if not set_ <= _HANDLED:
        return False
    sep = str(options.get("sep") or options.get("delimiter") or ",")
    if len(sep) != 1 or sep in '"\r\n' or not sep.isascii():
        return False
    if str(options.get("quotechar") or '"') != '"':
        return False
    encoding = str(options.get("encoding") or "utf-8").lower()
    if encoding not in _UTF8:
        return False
    na = list(options.get("na_values") or [])
    # A missing field and an empty one are both null in the query: "" must be missing.
    return bool(options.get("keep_default_na", True)) or "" in na
