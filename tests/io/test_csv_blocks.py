"""The block-by-block whole-file CSV read (``trakt.io.csv_blocks``) gives exactly the table of
the read that settles the whole file's text at once, or hands the file to it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trakt.errors import InputError
from trakt.io import csv as csv_io
from trakt.io import csv_blocks
from trakt.io.csv import read_table
from trakt.io.registry import ReadRequest

# Spellings that settle differently: canonical and other ints, floats kept exactly or not,
# text, missing-value markers.
SPELLINGS = [
    "7", "-3", "0", "12", "007", "+7", "-0", "99999999999999999999",
    "1.5", "1.50", "-0.0", ".5", "1e5", "007.5", "+1.5", "1e400", "1e-400",
    "0.12345678901234567890", "9007199254740993", "abc", "", "NA",
]  # fmt: skip


def whole(request: ReadRequest) -> pa.Table:
    """The other path: the whole file as text, settled at once."""
    inferred, types = csv_io._probe(request)
    texts = csv_io._as_text(inferred, types)
    return csv_io._read_whole(request, types, texts, ".")


def blocks(request: ReadRequest) -> pa.Table | None:
    inferred, types = csv_io._probe(request)
    texts = csv_io._as_text(inferred, types)
    return csv_blocks.read_blocks(request, inferred, types, texts, ".")


def csv_file(tmp_path: Path, first: list[str], rest: list[str]) -> ReadRequest:
    """id,value with ``first`` (a first probe block of ints, so the column reads as numbers)
    then ``rest``, one row each."""
    lines = ["id,value"] + [f"{i},{v}" for i, v in enumerate(first + rest)]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    return ReadRequest(path, {})


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows, and types inferred from the first few (as from the first MiB
    of a large file), so later rows may settle a column otherwise."""
    monkeypatch.setattr(csv_blocks, "_BLOCK", 64)
    monkeypatch.setattr(csv_io, "PROBE_BLOCK", 24)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rest=st.lists(st.sampled_from(SPELLINGS), max_size=40),
    block=st.sampled_from([32, 64, 256, 1 << 20]),
)
@example(rest=["1.5", "abc"], block=32)  # a float block, then text: read whole
@example(rest=["-0", "1.5"], block=32)  # -0 is no int, but a float
@example(rest=["99999999999999999999", "1.5"], block=32)
def test_blocks_give_the_whole_read_or_hand_it_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rest: list[str], block: int
) -> None:
    monkeypatch.setattr(csv_blocks, "_BLOCK", block)
    monkeypatch.setattr(csv_io, "PROBE_BLOCK", 24)
    request = csv_file(tmp_path, ["1", "2"], rest)
    expected = whole(request)
    got = blocks(request)
    if got is not None or block == 1 << 20:  # one block: never handed over
        assert got.schema == expected.schema
        assert got.to_pylist() == expected.to_pylist()
    assert read_table(request).to_pylist() == expected.to_pylist()


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize(
    ("rest", "kind", "value"),
    [
        (["3"] * 20 + ["4.25"], pa.float64(), 4.25),  # int blocks, then a float
        (["3"] * 20 + ["007"], pa.string(), "007"),  # int blocks, then a spelling
        (["3"] * 20 + ["oops"], pa.string(), "oops"),  # int blocks, then text
        (["3"] * 20 + ["-0", "2.5"], pa.float64(), 2.5),
        (["3"] * 20 + [""] * 20, pa.int64(), None),  # later blocks all missing
        (["3"] * 20 + ["12345678901234567890", "2.5"], pa.string(), "2.5"),
    ],
)
def test_a_column_settles_over_all_its_blocks(
    tmp_path: Path, rest: list[str], kind: pa.DataType, value: object
) -> None:
    request = csv_file(tmp_path, ["1", "2"], rest)
    got = blocks(request)
    assert got is not None
    assert got.column("value").num_chunks > 1
    assert got.schema.field("value").type == kind
    assert got.column("value")[-1].as_py() == value
    assert got.equals(whole(request))


@pytest.mark.usefixtures("small_blocks")
def test_text_after_float_blocks_is_read_whole(tmp_path: Path) -> None:
    request = csv_file(tmp_path, ["1", "2"], ["1.25"] * 20 + ["oops"])
    assert blocks(request) is None  # the float blocks' text is gone
    table = read_table(request)
    assert table.schema.field("value").type == pa.string()
    assert table.column("value")[5].as_py() == "1.25"
    assert table.column("value")[-1].as_py() == "oops"


@pytest.mark.usefixtures("small_blocks")
def test_a_column_empty_in_the_first_block_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = [f"{i}," for i in range(20)] + ["20,2.5"]
    path.write_text("id,late\n" + "\n".join(rows) + "\n")
    request = ReadRequest(path, {})
    assert blocks(request) is None
    assert read_table(request).schema.field("late").type == pa.float64()


@pytest.mark.usefixtures("small_blocks")
def test_errors_are_worded_by_the_whole_read(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(20)) + "7\n")
    with pytest.raises(InputError, match=r"short\.csv"):
        read_table(ReadRequest(path, {}))
