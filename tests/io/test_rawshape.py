"""``trakt.io.rawshape``: the byte-level looks at a CSV file (no parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.io.rawshape import counts, line_count

BLOCK = 1 << 20


@pytest.mark.parametrize(
    ("data", "lines", "seps", "stray"),
    [
        (b"", 0, 0, False),
        (b"a,b\n1,2\n", 2, 2, False),
        (b"a,b\n1,2", 2, 2, False),  # the last line has no line break
        (b"a,b\r\n1,2\r\n", 2, 2, False),
        (b"a,b\r1,2\r", 1, 2, True),  # old Mac line ends: not lines to a scan
        (b'a,b\n1,"x\ry"\n', 2, 2, True),  # a carriage return inside a value
        (b'a,b\n1,"x,y"\n', 2, 3, False),  # a delimiter inside quotes counts too
    ],
)
def test_counts(tmp_path: Path, data: bytes, lines: int, seps: int, stray: bool) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    found = counts(path, ",")
    assert (found.lines, found.seps, found.stray_cr) == (lines, seps, stray)


def test_a_crlf_split_across_blocks_counts_once(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    head = b"a;b\r\n" + b"x" * (BLOCK - 6) + b"\r"  # the block ends between \r and \n
    path.write_bytes(head + b"\n1;2\r\n")
    found = counts(path, ";")
    assert (found.lines, found.seps, found.stray_cr) == (3, 2, False)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"")))
def test_counts_lines_as_line_count_does(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("lines") / "f.csv"
    path.write_bytes(data)
    assert counts(path, ",").lines == line_count(path, {})
    assert counts(path, ",").seps == data.count(b",")
