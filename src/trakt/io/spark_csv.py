"""CSV for Spark's own reader: which inputs it reads the way Trakt's reader does, with what
options, and how its text columns are typed back (the local reader's missing-value markers,
then checked casts). No pyspark import: the session is handed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trakt.io.csv_option_rules import DEFAULT_NA

FORMAT = "csv"
# Reader options Spark's CSV reader is given the same meaning for; any other: read by Trakt.
OPTIONS = frozenset({"sep", "delimiter", "quotechar", "na_values", "keep_default_na", "encoding"})
_NEVER = "\x00trakt-never\x00"
_BLOCK = 64 << 20


@dataclass(frozen=True)
class SparkCsv:
    """How Spark reads an input's CSV files."""

    sep: str
    quote: str
    markers: tuple[str, ...]  # values read as missing


def spark_csv(format_name: str, options: Mapping[str, Any]) -> SparkCsv | None:
    """The reading of a ``format_name`` input with ``options`` by Spark, or None when Spark
    would not read it as Trakt does (another format, an option Spark lacks, not UTF-8)."""
    encoding = str(options.get("encoding") or "utf-8").lower().replace("-", "")
    if format_name != FORMAT or encoding != "utf8" or set(options) - OPTIONS:
        return None
    markers = [str(v) for v in options.get("na_values") or []]
    if options.get("keep_default_na", True):
        markers += DEFAULT_NA
    return SparkCsv(
        str(options.get("sep") or options.get("delimiter") or ","),
        str(options.get("quotechar") or '"'),
        tuple(markers),
    )


def quoted_line_breaks(path: Path, quote: str = '"') -> bool:
    """Whether a quoted field spans lines (an odd count of quotes before a line break), so
    Spark must read the file whole (``multiLine``) rather than split it."""
    mark = ord(quote)
    carry = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.cumsum(data == mark, dtype=np.uint8)  # parity survives the wrap
            breaks = np.flatnonzero(data == 10)
            if breaks.size and bool(((quotes[breaks] + carry) & 1).any()):
                return True
            carry = (carry + int(quotes[-1])) & 1
    return False


def read_text(spark: Any, path: Path, text_schema: Any, csv: SparkCsv) -> Any:
    """One file as a DataFrame of text columns (``text_schema``: all strings, in order)."""
    return spark.read.csv(
        str(path),
        schema=text_schema,
        header=True,
        enforceSchema=True,
        sep=csv.sep,
        quote=csv.quote,
        escape=csv.quote,  # "" inside quotes, as everywhere but Spark's default (backslash)
        nullValue=_NEVER,
        emptyValue="",
        multiLine=quoted_line_breaks(path, csv.quote),
        mode="FAILFAST",
        encoding="UTF-8",
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
    )


def typed_column(column: pa.Array, kind: pa.DataType, markers: pa.Array) -> pa.Array:
    """A text column as the local reader types it: markers missing, then a checked cast."""
    # Spark gives an unquoted empty field as null: it is the text "" (a marker by default).
    text = pc.fill_null(column, "")
    if len(markers):
        text = pc.if_else(pc.is_in(text, value_set=markers), pa.scalar(None, pa.string()), text)
    return text if pa.types.is_string(kind) else pc.cast(text, kind, safe=True)
