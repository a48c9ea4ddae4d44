"""Checks a ``side_by_side.py`` variant's output against polars lazy's, in a child process.

    python _sbs_check.py JOB REFERENCE OUTPUT   # prints "identical" or "same values"; exit 1 if not

``double``: byte-identical, else the same rows parsed (``amount`` and ``qty`` compared as
floats: pandas writes an int column with gaps as ``11.0``; every other column as text).
``join``: the same groups (rows sorted by the keys), ``orders`` equal, ``total_amount`` equal
to a relative 1e-9 (tools sum floats in different orders).
"""

from __future__ import annotations

import sys
from pathlib import Path

KEYS = ["segment", "country"]


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block_a, block_b = fa.read(1 << 20), fb.read(1 << 20)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def _differs_double(ref: Path, out: Path) -> str:
    import polars as pl

    a = pl.read_csv(ref, infer_schema=False)
    b = pl.read_csv(out, infer_schema=False)
    if a.columns != b.columns or a.height != b.height:
        return f"columns/rows {a.columns} x {a.height} vs {b.columns} x {b.height}"
    for name in a.columns:
        x, y = a[name], b[name]
        if name in ("amount", "qty"):
            x, y = x.cast(pl.Float64), y.cast(pl.Float64)
        same = (x == y) | (x.is_null() & y.is_null())
        if not same.fill_null(False).all():
            row = int(same.fill_null(False).arg_min() or 0)
            return f"column {name!r} row {row}: {x[row]!r} vs {y[row]!r}"
    return ""


def _differs_join(ref: Path, out: Path) -> str:
    import polars as pl

    a = pl.read_csv(ref).sort(KEYS)
    b = pl.read_csv(out).select(a.columns).sort(KEYS)
    if a.select(KEYS).rows() != b.select(KEYS).rows():
        return f"groups differ: {a.select(KEYS).rows()} vs {b.select(KEYS).rows()}"
    if a["orders"].to_list() != b["orders"].to_list():
        return f"orders differ: {a['orders'].to_list()} vs {b['orders'].to_list()}"
    for x, y in zip(a["total_amount"], b["total_amount"], strict=True):
        if abs(x - y) > 1e-9 * max(abs(x), abs(y), 1.0):
            return f"total_amount differs: {x} vs {y}"
    return ""


def check(job: str, ref: Path, out: Path) -> str:
    """'identical' or 'same values'; raises SystemExit(1) naming the difference otherwise."""
    if _same_bytes(ref, out):
        return "identical"
    differs = _differs_double(ref, out) if job == "double" else _differs_join(ref, out)
    if differs:
        raise SystemExit(f"{out} differs from {ref}: {differs}")
    return "same values"


if __name__ == "__main__":
    print(check(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
