"""Arrow scalars built from their bytes, for the compute calls a polars run makes.

pyarrow converts a Python value (``pa.scalar(0)``, or the ``0`` in ``pc.equal(x, 0)``) only
after asking whether it is a pandas object, and asking imports pandas: about 0.2 s and 45 MiB
of a run whose steps never see a pandas frame. A scalar built from a buffer asks nothing, so
the CSV reader's checks, the summaries and the built-in steps pass these instead."""

from __future__ import annotations

import struct

import pyarrow as pa

__all__ = ["scalar"]

# struct formats of the fixed-width types the checks compare with (little-endian, as Arrow)
_FORMATS: dict[pa.DataType, str] = {
    pa.int8(): "<b",
    pa.int16(): "<h",
    pa.int32(): "<i",
    pa.int64(): "<q",
    pa.uint8(): "<B",
    pa.uint16(): "<H",
    pa.uint32(): "<I",
    pa.uint64(): "<Q",
    pa.float32(): "<f",
    pa.float64(): "<d",
}


def scalar(value: bool | float | str, type_: pa.DataType) -> pa.Scalar:
    """``value`` as an Arrow scalar of ``type_`` (bool, an integer, a float or a string
    type), made without pyarrow's conversion of Python values (a few microseconds: not
    cached, as a cache keyed by value would hand ``0.0`` out for ``-0.0``)."""
    texts = pa.types.is_string(type_) or pa.types.is_large_string(type_)
    if isinstance(value, str) != texts:
        raise TypeError(f"{value!r} is no {type_} value")
    if isinstance(value, str):
        text = value.encode()
        offsets = struct.pack("<qq" if pa.types.is_large_string(type_) else "<ii", 0, len(text))
        return pa.Array.from_buffers(type_, 1, [None, pa.py_buffer(offsets), pa.py_buffer(text)])[0]
    if pa.types.is_boolean(type_):
        data = pa.py_buffer(b"\x01" if value else b"\x00")
    elif type_ in _FORMATS:
        number = int(value) if pa.types.is_integer(type_) else float(value)
        if pa.types.is_integer(type_) and number != value:
            raise ValueError(f"{value!r} is not a {type_} value")
        data = pa.py_buffer(struct.pack(_FORMATS[type_], number))
    else:
        raise TypeError(f"no scalar of type {type_} is built from bytes")
    return pa.Array.from_buffers(type_, 1, [None, data])[0]
