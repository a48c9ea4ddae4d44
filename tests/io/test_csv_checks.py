"""``trakt.io.csv_checks``: the line breaks a record's values hold, looked for first by one pass
over their bytes (``may_break``) and counted value by value only where one may be."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.io.csv_checks import breaks, may_break, swallowed


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b c", None, ""], False),
        (["a", "x\ny"], True),
        (["a", "x\ry"], True),
        (["a", "x\r\ny"], True),
        (["a\tb"], True),  # a control character: counted value by value (none found there)
        ([None, None], False),
        ([], False),
        (["é", "日本"], False),  # UTF-8 bytes are all above 13
    ],
)
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_may_break(values: list[str | None], expected: bool, kind: pa.DataType) -> None:
    assert may_break(pa.array(values, type=kind)) is expected
    assert may_break(pa.chunked_array([pa.array(values, type=kind)], type=kind)) is expected


def test_only_the_bytes_of_a_slice_are_looked_at() -> None:
    whole = pa.array(["x\ny", "a", "b", "c\rd"])
    assert may_break(whole)
    assert not may_break(whole.slice(1, 2))  # the breaks lie outside the slice's values
    assert may_break(whole.slice(1, 3))
    chunked = pa.chunked_array([whole.slice(1, 2), pa.array(["e", "f\ng"])])
    assert may_break(chunked)  # in the second chunk only


def test_a_record_that_swallowed_lines_is_found_behind_clean_columns() -> None:
    clean = pa.array(["a"] * 5)
    swallowing = pa.array(["x", "y", "1\n2\n3\n4\n5", "z", "w"])
    table = pa.table({"a": clean, "b": swallowing, "c": pa.array([1, 2, 3, 4, 5])})
    assert swallowed(table, 3, 1 << 20) == 2
    assert swallowed(table.slice(3), 3, 1 << 20) is None


_TEXT = st.text(alphabet=st.sampled_from(["a", "\n", "\r", "\t", "é", " "]), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.none() | _TEXT, max_size=8),
    cut=st.tuples(st.integers(0, 8), st.integers(0, 8)),
)
def test_no_line_break_is_missed(values: list[str | None], cut: tuple[int, int]) -> None:
    start = min(cut[0], len(values))
    array = pa.array(values, type=pa.string()).slice(start, cut[1])
    counted = (pc.max(breaks(array)).as_py() or 0) if len(array) else 0
    if counted:  # may_break may say True without a break (a tab), never False with one
        assert may_break(array)
