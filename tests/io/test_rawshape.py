"""``trakt.io.rawshape``: the byte-level looks at a CSV file (no parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.io.rawshape import block_for_rows, counts, line_count

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


@pytest.mark.parametrize(
    ("line", "lines", "expected"),
    [
        (b"1,2,3\n", 300_000, BLOCK),  # narrow: 4,096 lines fit in the smallest block
        (b"x" * 999 + b"\n", 10_000, -(-BLOCK * 4096 // (BLOCK // 1000))),  # 4,096 lines
        (b"x" * 999 + b"\r\n", 10_000, -(-BLOCK * 4096 // (BLOCK // 1001))),  # CR LF ends
        (b"x" * 999 + b"\r", 10_000, -(-BLOCK * 4096 // (BLOCK // 1000))),  # old Mac ends
        (b"x" * 99_999 + b"\n", 200, 16 * BLOCK),  # very wide: capped
        (b"x" * 999 + b"\n", 100, BLOCK),  # smaller than a block: read in one anyway
    ],
)
def test_a_wide_file_is_read_in_blocks_of_4096_lines(
    tmp_path: Path, line: bytes, lines: int, expected: int
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(line * lines)
    assert block_for_rows(path, BLOCK, 16 * BLOCK) == expected


def test_a_first_line_longer_than_a_block_asks_for_the_largest(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * (2 * BLOCK) + b"\n1\n")
    assert block_for_rows(path, BLOCK, 16 * BLOCK) == 16 * BLOCK
