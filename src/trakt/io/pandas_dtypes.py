"""The pandas dtype each Arrow column becomes by Trakt's rules (:func:`trakt.io.frames.to_pandas`),
named without importing pandas where the type is a common one: the manifest's column summaries
give these names in every run, and a run whose steps are all polars, Arrow or built-in never
imports pandas (0.2 s and 50 MiB). Any other type is named by converting an empty table.
``tests/io/test_pandas_dtypes.py`` checks every name here against the conversion itself.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

import pyarrow as pa

_NAMES: dict[pa.DataType, str] = {
    **{t: "Int64" for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64())},
    **{t: "Int64" for t in (pa.uint8(), pa.uint16(), pa.uint32())},
    pa.bool_(): "boolean",
    pa.float32(): "float32",
    pa.float64(): "float64",
}
_TEXT = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view, pa.types.is_null)


@cache
def _text_name() -> str | None:
    """Text's dtype name: ``str`` from pandas 3 on (its string dtype by default); earlier
    pandas is asked (None). An installed version does not change while a process runs."""
    try:
        major = int(metadata.version("pandas").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None
    return "str" if major >= 3 else None


def dtype_names(schema: pa.Schema) -> list[str]:
    """The pandas dtype name of each of ``schema``'s columns, as a step would see it."""
    names = [_NAMES.get(f.type) or _text(f.type) for f in schema]
    if all(names):
        return [str(n) for n in names]
    from trakt.io.frames import to_pandas

    return [str(d) for d in to_pandas(schema.empty_table()).dtypes]


def _text(kind: pa.DataType) -> str | None:
    return _text_name() if any(is_(kind) for is_ in _TEXT) else None
