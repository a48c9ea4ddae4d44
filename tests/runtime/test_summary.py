"""Column summaries of a polars query sunk into an output (``add_query``) equal those of the
collected table (``add_data``): dtypes, null counts, NaN never a min or max, infinities are."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.runtime.adapter import result_table
from trakt.runtime.summary import ColumnSummaries


def _both(frame: pl.DataFrame) -> tuple[dict[str, object], dict[str, object]]:
    queried, tabled = ColumnSummaries(), ColumnSummaries()
    queried.add_query(frame.lazy())
    tabled.add_data(result_table(frame))
    return queried.to_dict(), tabled.to_dict()


def test_a_query_is_summarized_as_its_table() -> None:
    frame = pl.DataFrame(
        {
            "i": [3, None, -7],
            "f": [float("nan"), None, float("inf")],
            "nan": [float("nan"), float("nan"), None],
            "s": ["a", None, "c"],
            "b": [True, None, False],
            "d": [dt.date(2024, 1, 1), None, None],
        }
    )
    queried, tabled = _both(frame)
    assert queried == tabled
    inf = float("inf")
    assert queried["f"] == {"dtype": "float64", "nulls": 1, "min": inf, "max": inf}
    assert queried["nan"] == {"dtype": "float64", "nulls": 1}


@settings(max_examples=40, deadline=None)
@given(
    ints=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=6),
    floats=st.lists(st.one_of(st.none(), st.floats()), max_size=6),
)
def test_any_numbers_are_summarized_alike(
    ints: list[int | None], floats: list[float | None]
) -> None:
    n = min(len(ints), len(floats))
    frame = pl.DataFrame(
        {"i": pl.Series(ints[:n], dtype=pl.Int64), "f": pl.Series(floats[:n], dtype=pl.Float64)}
    )
    queried, tabled = _both(frame)
    assert queried == tabled
