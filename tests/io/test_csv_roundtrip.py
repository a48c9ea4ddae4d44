"""CSV dtype rules and options: what is read, what is written, and that the two agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trakt.errors import InputError
from trakt.io import get_format
from trakt.io.csv import DEFAULT_NA, read_table, write
from trakt.io.frames import to_pandas
from trakt.io.registry import ReadRequest

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def read(path: Path, **options: Any) -> pd.DataFrame:
    return to_pandas(read_table(ReadRequest(path, options)))


def read_bytes(
    tmp_path: Path, content: bytes, name: str = "in.csv", **options: Any
) -> pd.DataFrame:
    path = tmp_path / name
    path.write_bytes(content)
    return read(path, **options)


def written(frame: pd.DataFrame, path: Path) -> bytes:
    write(frame, path)
    return path.read_bytes()


# --- integers -------------------------------------------------------------------------------


def test_int_column_with_a_missing_value_reads_as_nullable_int64(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"id,n\n1,11\n2,\n3,3\n")
    assert str(frame["n"].dtype) == "Int64"
    assert str(frame["id"].dtype) == "Int64"
    assert frame["n"].tolist() == [11, pd.NA, 3]


def test_int_column_with_a_missing_value_is_written_back_without_decimals(tmp_path: Path) -> None:
    content = b"id,n\n1,11\n2,\n3,3\n"
    frame = read_bytes(tmp_path, content)
    out = written(frame, tmp_path / "out.csv")
    assert out == content
    assert b"11.0" not in out


def test_nullable_int_frame_is_written_as_integers(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"n": pd.array([11, None, -3, INT64_MAX, INT64_MIN], dtype="Int64"), "k": list("abcde")}
    )
    out = written(frame, tmp_path / "out.csv")
    assert out == b"n,k\n11,a\n,b\n-3,c\n9223372036854775807,d\n-9223372036854775808,e\n"
    pdt.assert_frame_equal(read(tmp_path / "out.csv"), frame, check_dtype=False)
    assert str(read(tmp_path / "out.csv")["n"].dtype) == "Int64"


def test_integer_beyond_int64_stays_text(tmp_path: Path) -> None:
    # README, "Data types": integers beyond int64 would lose digits as floats, so they stay
    # text (declared or not) and survive digit for digit.
    content = b"id,name\n12345678901234567890,a\n1,b\n"
    inferred = read_bytes(tmp_path, content)
    assert str(inferred["id"].dtype) != "float64"
    assert written(inferred, tmp_path / "out.csv") == content
    declared = read_bytes(tmp_path, content, dtype={"id": "str"})
    assert written(declared, tmp_path / "out.csv") == content


# --- floats ---------------------------------------------------------------------------------


def test_floats_are_written_shortest_round_trip(tmp_path: Path) -> None:
    values = [2.0, 0.1 + 0.2, 0.1, 1e-7, 1.5e300, -0.5, 123456789.125]
    frame = pd.DataFrame({"x": values})
    out = written(frame, tmp_path / "out.csv")
    lines = out.decode().splitlines()
    assert lines[0] == "x"
    assert lines[1] == "2.0"  # a whole float keeps its ".0": it is not an int
    assert lines[2] == "0.30000000000000004" == repr(0.1 + 0.2)
    assert lines[3] == "0.1"
    for line, value in zip(lines[1:], values, strict=True):
        assert float(line) == value
        assert len(line) <= len(repr(value)) + 1  # shortest form, give or take an exponent "+"
    back = read(tmp_path / "out.csv")
    assert str(back["x"].dtype) == "float64"
    assert back["x"].tolist() == values


def test_whole_float_read_from_file_stays_float(tmp_path: Path) -> None:
    content = b"x,y\n2.0,1\n3.0,2\n"
    frame = read_bytes(tmp_path, content)
    assert str(frame["x"].dtype) == "float64"
    assert str(frame["y"].dtype) == "Int64"
    assert written(frame, tmp_path / "out.csv") == content


# --- missing values and strings ---------------------------------------------------------------


def test_missing_values_are_written_empty(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "f": [np.nan, 1.5],
            "s": pd.Series(["a", None], dtype="str"),
            "b": pd.array([None, True], dtype="boolean"),
        }
    )
    assert written(frame, tmp_path / "out.csv") == b"i,f,s,b\n1,,a,\n,1.5,,true\n"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")}), [1, pd.NA, 3]),
        (pd.DataFrame({"x": [1.5, np.nan, 2.0]}), [1.5, np.nan, 2.0]),
        (pd.DataFrame({"x": pd.Series(["a", None, "b"], dtype="str")}), ["a", np.nan, "b"]),
    ],
    ids=["int", "float", "str"],
)
def test_single_column_frame_keeps_its_missing_rows(
    tmp_path: Path, frame: pd.DataFrame, expected: list[Any]
) -> None:
    # A one-column row whose value is missing must not become a blank line that the reader
    # skips: the row count survives a write/read round trip.
    path = tmp_path / "out.csv"
    write(frame, path)
    back = read(path)
    assert len(back) == len(frame) == 3, path.read_bytes()
    pdt.assert_series_equal(back["x"], pd.Series(expected, name="x", dtype=frame["x"].dtype))


def test_strings_are_quoted_only_where_rfc_4180_needs_it(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "s": pd.Series(
                ["plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "ʤ € 𝄞", " padded ", "it's"],
                dtype="str",
            ),
            "n": pd.array(range(8), dtype="Int64"),
        }
    )
    out = written(frame, tmp_path / "out.csv")
    expected = (
        "s,n\n"
        "plain,0\n"
        '"a,b",1\n'
        '"say ""hi""",2\n'
        '"two\nlines",3\n'
        '"cr\rhere",4\n'
        "ʤ € 𝄞,5\n"
        " padded ,6\n"
        "it's,7\n"
    )
    assert out == expected.encode()
    pdt.assert_frame_equal(read(tmp_path / "out.csv"), frame)


def test_header_names_are_quoted_like_values(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a,b": [1], 'q"': ["x"], "n\nl": [2.5]})
    out = written(frame, tmp_path / "out.csv")
    assert out == b'"a,b","q""","n\nl"\n1,x,2.5\n'
    assert list(read(tmp_path / "out.csv").columns) == ["a,b", 'q"', "n\nl"]


# --- dates and times --------------------------------------------------------------------------


def test_iso_dates_and_timestamps_stay_text_byte_for_byte(tmp_path: Path) -> None:
    content = (
        b"ts,d,t,tz\n"
        b"2024-01-02T03:04:05,2024-01-02,10:00:00,2024-01-02T03:04:05.123+01:00\n"
        b"2024-01-02 03:04:05.5,2024-12-31,23:59:59.25,2024-01-02T03:04:05Z\n"
        b",,,\n"
    )
    frame = read_bytes(tmp_path, content)
    assert all(str(dtype) == "str" for dtype in frame.dtypes), frame.dtypes.to_dict()
    assert frame["tz"].tolist()[:2] == ["2024-01-02T03:04:05.123+01:00", "2024-01-02T03:04:05Z"]
    assert written(frame, tmp_path / "out.csv") == content


def test_dates_first_seen_after_the_first_block_stay_text(tmp_path: Path) -> None:
    # More than one read block (1 MiB) of empty dates, then dates: the late ones stay text too.
    rows = b"".join(b"%d,\n" % i for i in range(300_000))
    content = b"i,d\n" + rows + b"1,2024-01-02\n2,2024-01-03T04:05:06\n"
    assert len(content) > 2 * (1 << 20)
    frame = read_bytes(tmp_path, content)
    assert str(frame["d"].dtype) == "str"
    assert frame["d"].iloc[-2:].tolist() == ["2024-01-02", "2024-01-03T04:05:06"]
    assert str(frame["i"].dtype) == "Int64"


def test_declared_dtype_overrides_text_for_dates_only_when_asked(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"d\n2024-01-02\n", dtype={"d": "str"})
    assert frame["d"].tolist() == ["2024-01-02"]


# --- encodings and line endings ---------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, "\ufeffname,n\nJosé,1\n".encode())
    assert list(frame.columns) == ["name", "n"]
    assert frame["name"].tolist() == ["José"]


def test_utf8_sig_encoding_option_reads_a_bom_file(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, "\ufeffname,n\nJosé,1\n".encode(), encoding="utf-8-sig")
    assert list(frame.columns) == ["name", "n"]
    assert frame["name"].tolist() == ["José"]


def test_crlf_line_endings_are_not_part_of_the_values(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b'\xef\xbb\xbfa,b\r\n1,x\r\n2,"y\r\nz"\r\n3,w\r\n')
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 2, 3]
    # Line breaks inside a quoted value are data and are kept as they are.
    assert frame["b"].tolist() == ["x", "y\r\nz", "w"]


def test_latin1_file_with_encoding_option(tmp_path: Path) -> None:
    content = "name,city\nJosé,Zürich\nØrsted,Ærø\n".encode("latin-1")
    frame = read_bytes(tmp_path, content, encoding="latin-1")
    assert frame["name"].tolist() == ["José", "Ørsted"]
    assert frame["city"].tolist() == ["Zürich", "Ærø"]
    # Outputs are always UTF-8.
    out = written(frame, tmp_path / "out.csv")
    assert out == "name,city\nJosé,Zürich\nØrsted,Ærø\n".encode()


def test_latin1_file_without_encoding_option_is_an_input_error(tmp_path: Path) -> None:
    # Bytes that are not UTF-8 must fail loudly with the fix, not come back as b'Jos\xe9'.
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,city\nJosé,Zürich\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.csv.*encoding"):
        read(path)


# --- options ----------------------------------------------------------------------------------


def test_sep_option(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a;b;c\n1;x,y;2.5\n", sep=";")
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame.iloc[0].tolist() == [1, "x,y", 2.5]


def test_tab_separated_via_sep(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a\tb\n1\tx y\n", name="in.tsv", sep="\t")
    assert frame.to_dict(orient="records") == [{"a": 1, "b": "x y"}]


def test_sep_with_decimal_comma(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a;b\n1,5;x\n2,25;y\n", sep=";", decimal=",")
    assert str(frame["a"].dtype) == "float64"
    assert frame["a"].tolist() == [1.5, 2.25]


def test_dtype_mapping(tmp_path: Path) -> None:
    frame = read_bytes(
        tmp_path, b"id,zip,amt,flag\n1,007,3,true\n2,08,4,\n", dtype={"zip": "str", "amt": "float"}
    )
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "id": "Int64",
        "zip": "str",
        "amt": "float64",
        "flag": "boolean",
    }
    assert frame["zip"].tolist() == ["007", "08"]
    assert frame["amt"].tolist() == [3.0, 4.0]
    assert written(frame, tmp_path / "out.csv") == b"id,zip,amt,flag\n1,007,3.0,true\n2,08,4.0,\n"


def test_dtype_single_name_applies_to_every_column(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a,b\n1,2.50\n", dtype="str")
    assert frame.to_dict(orient="records") == [{"a": "1", "b": "2.50"}]


def test_dtype_that_does_not_fit_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\nx,2\n")
    with pytest.raises(InputError, match=r"bad\.csv:2: column 'a' is declared int64 .*'x'"):
        read(path, dtype={"a": "int"})


def test_na_values_add_to_the_defaults(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a,b\n1,-\n-,x\nNA,y\n", na_values=["-"])
    assert str(frame["a"].dtype) == "Int64"
    assert frame["a"].tolist() == [1, pd.NA, pd.NA]
    assert frame["b"].isna().tolist() == [True, False, False]


def test_keep_default_na_false_keeps_the_default_markers_as_text(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a,b\nNA,null\nx,\n", keep_default_na=False)
    assert frame.to_dict(orient="records") == [{"a": "NA", "b": "null"}, {"a": "x", "b": ""}]


def test_na_values_without_defaults_apply_to_text_columns(tmp_path: Path) -> None:
    # Like pandas: with keep_default_na false, only na_values mark missing values, but they do
    # so in every column, text columns included.
    frame = read_bytes(tmp_path, b"a,b\n1,-\n-,x\n", na_values=["-"], keep_default_na=False)
    assert frame["a"].tolist() == [1, pd.NA]
    assert frame["b"].isna().tolist() == [True, False]


def test_usecols(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"a,b,c\n1,x,2.5\n2,y,3.5\n", usecols=["a", "c"])
    assert sorted(frame.columns) == ["a", "c"]
    assert frame["a"].tolist() == [1, 2]
    assert frame["c"].tolist() == [2.5, 3.5]


def test_usecols_naming_an_absent_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(InputError, match=r"cannot read CSV .*in\.csv.*'z'"):
        read(path, usecols=["z"])


def test_skiprows(tmp_path: Path) -> None:
    frame = read_bytes(tmp_path, b"exported 2024-01-01\nby someone\na,b\n1,2\n", skiprows=2)
    assert frame.to_dict(orient="records") == [{"a": 1, "b": 2}]


def test_options_are_checked_by_the_format() -> None:
    csv = get_format("csv")
    assert csv.check_options({"sep": ";", "encoding": "latin-1", "usecols": ["a"]}) == []
    problems = csv.check_options({"delimter": ";", "sep": ";;", "dtype": {"a": "date"}})
    assert any("unknown csv option 'delimter' (did you mean 'delimiter'?)" in p for p in problems)
    assert any("option 'sep' must be a single character" in p for p in problems)
    assert any("unknown dtype 'date'" in p for p in problems)
    assert csv.check_options({"encoding": "no-such-codec"}) == ["unknown encoding 'no-such-codec'"]


# --- property: write then read gives the same frame ---------------------------------------------

SPECIAL_TEXT = [",", '"', "\n", "\r\n", "\r", " ", "ʤ", "€", "𝄞", "é", ";", "'", "\t"]

ints = st.one_of(st.none(), st.integers(INT64_MIN, INT64_MAX))
floats = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=True),
    st.integers(-(2**53), 2**53).map(float),  # whole numbers: must stay floats ("2.0")
)
# Non-empty, and not a default missing-value marker ("NA", "null", ...): those read back as
# missing by design, like pandas. An empty string is written '""' and read back as missing.
texts = st.one_of(
    st.none(),
    st.lists(
        st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL_TEXT)),
        min_size=1,
        max_size=10,
    )
    .map("".join)
    .filter(lambda s: s not in DEFAULT_NA),
)


def _column(values: st.SearchStrategy[Any], n: int) -> st.SearchStrategy[list[Any]]:
    # At least one present value: a column with none at all is read back as text by design.
    return st.lists(values, min_size=n, max_size=n).filter(
        lambda column: any(v is not None for v in column)
    )


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    columns = {
        "i": pd.array(draw(_column(ints, n)), dtype="Int64"),
        "f": pd.Series(
            [np.nan if v is None else v for v in draw(_column(floats, n))], dtype="float64"
        ),
        "s": pd.Series(draw(_column(texts, n)), dtype="str"),
    }
    # Two or three columns, in any order. (One-column frames: see
    # test_single_column_frame_keeps_its_missing_rows.)
    names = draw(st.permutations(list(columns)))[: draw(st.integers(min_value=2, max_value=3))]
    return pd.DataFrame({name: columns[name] for name in names})


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(frame=frames())
def test_write_then_read_gives_an_equal_frame(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "roundtrip.csv"
    write(frame, path)
    # Text that looks like numbers would be inferred as numbers: the text column is declared.
    back = read(path, dtype={"s": "str"}) if "s" in frame else read(path)
    # The rules promise every dtype here: Int64 for ints, float64 (whole numbers too), str;
    # and floats come back exactly (shortest round-trip text), not approximately.
    pdt.assert_frame_equal(back, frame, check_dtype=True, check_exact=True)
