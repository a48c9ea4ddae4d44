"""Finding an input's files (resolve_files) and combining them (read_combined)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trakt.errors import InputError, TraktError
from trakt.io import get_format
from trakt.io.frames import to_pandas
from trakt.io.sources import SourceFile, read_combined, resolve_files

CSV = get_format("csv")


def make(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def combined(
    base: Path, uri: str, strategy: str, options: dict[str, Any] | None = None
) -> pd.DataFrame:
    files = resolve_files("sales", uri, base)
    options = dict(options or {})
    column = options.pop("source_column", None)  # an input's own key, not a reader option
    table = read_combined("sales", CSV, files, strategy, options, source_column=column)
    return to_pandas(table)


# --- resolve_files ----------------------------------------------------------------------------


def test_glob_matches_in_sorted_order(tmp_path: Path) -> None:
    # Created out of order on purpose: the result follows the sorted paths, not the disk.
    make(tmp_path, {n: "a\n1\n" for n in ["2024-10.csv", "2024-02.csv", "2024-01.csv", "x.txt"]})
    files = resolve_files("sales", "2024-*.csv", tmp_path)
    assert [f.shown for f in files] == ["2024-01.csv", "2024-02.csv", "2024-10.csv"]
    assert all(isinstance(f, SourceFile) and f.path.is_file() for f in files)
    assert [f.size for f in files] == [4, 4, 4]


def test_recursive_glob_in_sorted_order_with_relative_names(tmp_path: Path) -> None:
    make(tmp_path, {"b/2.csv": "a\n1\n", "a/2.csv": "a\n1\n", "a/1.csv": "a\n1\n", "top.csv": ""})
    files = resolve_files("sales", "**/*.csv", tmp_path)
    assert [f.shown for f in files] == ["a/1.csv", "a/2.csv", "b/2.csv", "top.csv"]


def test_single_file(tmp_path: Path) -> None:
    make(tmp_path, {"data/in.csv": "a,b\n1,2\n"})
    [source] = resolve_files("sales", "data/in.csv", tmp_path)
    assert source.path == tmp_path / "data" / "in.csv"
    assert source.shown == "data/in.csv"
    assert source.size == len(b"a,b\n1,2\n")


def test_absolute_uri_ignores_the_base_dir(tmp_path: Path) -> None:
    make(tmp_path, {"elsewhere/in.csv": "a\n1\n"})
    base = tmp_path / "inputs"
    base.mkdir()
    [source] = resolve_files("sales", str(tmp_path / "elsewhere" / "in.csv"), base)
    assert source.path == tmp_path / "elsewhere" / "in.csv"
    assert source.shown == str(tmp_path / "elsewhere" / "in.csv")


def test_glob_with_no_match_names_the_pattern_and_the_directory(tmp_path: Path) -> None:
    make(tmp_path, {"data/a.csv": "a\n1\n"})
    expected = (
        f"input 'sales': pattern 'data/*.tsv' matched no files in {(tmp_path / 'data').resolve()}"
    )
    with pytest.raises(InputError, match=re.escape(expected)) as info:
        resolve_files("sales", "data/*.tsv", tmp_path)
    assert info.value.fields["artifact"] == "sales"
    assert info.value.fields["file"] == str(tmp_path / "data" / "*.tsv")


def test_glob_matching_only_directories_says_so(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(
        InputError, match=r"pattern '\*\.csv' matched no files in .*only directories"
    ):
        resolve_files("sales", "*.csv", tmp_path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    expected = f"input 'sales': expected a file, found a directory: {tmp_path / 'data'}"
    with pytest.raises(InputError, match=re.escape(expected)):
        resolve_files("sales", "data", tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    expected = f"input 'sales': file not found: {(tmp_path / 'nope.csv').resolve()}"
    with pytest.raises(InputError, match=re.escape(expected) + "$") as info:
        resolve_files("sales", "nope.csv", tmp_path)
    assert info.value.fields["file"] == str(tmp_path / "nope.csv")


def test_missing_file_in_a_missing_input_dir_says_so(tmp_path: Path) -> None:
    base = tmp_path / "no-such-dir"
    with pytest.raises(InputError, match=re.escape(f"(the input dir {base} does not exist)")):
        resolve_files("sales", "in.csv", base)


# --- read_combined ----------------------------------------------------------------------------


def test_concat_stacks_files_in_sorted_order(tmp_path: Path) -> None:
    make(tmp_path, {"2.csv": "id,v\n3,c\n", "1.csv": "id,v\n1,a\n2,b\n"})
    frame = combined(tmp_path, "*.csv", "concat")
    assert frame.to_dict(orient="records") == [
        {"id": 1, "v": "a"},
        {"id": 2, "v": "b"},
        {"id": 3, "v": "c"},
    ]
    assert str(frame["id"].dtype) == "Int64"


def test_concat_with_differing_columns_names_the_file_and_the_columns(tmp_path: Path) -> None:
    # 3.csv differs too, but the first file that differs is the one named.
    make(
        tmp_path,
        {
            "1.csv": "id,amount,region\n1,2.5,n\n",
            "2.csv": "id,amount\n2,3.5\n",
            "3.csv": "id,amount,region,extra\n3,1.0,s,x\n",
        },
    )
    with pytest.raises(InputError, match=r"2\.csv has different columns than 1\.csv") as info:
        combined(tmp_path, "*.csv", "concat")
    message = info.value.message
    assert "combine_strategy: concat" in message
    assert "missing ['region'], extra []" in message
    assert "combine_strategy: union" in message
    assert info.value.fields["file"] == str(tmp_path / "2.csv")


def test_concat_reports_extra_columns(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "id,v\n1,a\n", "2.csv": "id,v,note\n2,b,hello\n"})
    with pytest.raises(
        InputError,
        match=re.escape("2.csv has different columns than 1.csv: missing [], extra ['note']"),
    ):
        combined(tmp_path, "*.csv", "concat")


def test_concat_with_same_columns_in_another_order_aligns_by_name(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "id,v,n\n1,a,1.5\n", "2.csv": "n,id,v\n2.5,2,b\n"})
    frame = combined(tmp_path, "*.csv", "concat")
    assert list(frame.columns) == ["id", "v", "n"]
    assert frame.to_dict(orient="records") == [
        {"id": 1, "v": "a", "n": 1.5},
        {"id": 2, "v": "b", "n": 2.5},
    ]


def test_union_aligns_columns_by_name_and_fills_nulls(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "id,v\n1,a\n", "2.csv": "note,id\nhello,2\n"})
    frame = combined(tmp_path, "*.csv", "union")
    assert list(frame.columns) == ["id", "v", "note"]
    assert frame["id"].tolist() == [1, 2]
    assert str(frame["id"].dtype) == "Int64"
    assert frame["v"].tolist()[0] == "a" and pd.isna(frame["v"].iloc[1])
    assert pd.isna(frame["note"].iloc[0]) and frame["note"].tolist()[1] == "hello"


def test_union_of_int_and_float_columns_gives_floats(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "id,v\n1,\n", "2.csv": "id,v\n2,2.5\n"})
    frame = combined(tmp_path, "*.csv", "union")
    assert str(frame["v"].dtype) == "float64"
    assert frame["id"].tolist() == [1, 2]


def test_combining_a_column_that_is_int_in_one_file_and_text_in_another(tmp_path: Path) -> None:
    # '1' in one file and 'A1' in the next: either both read as text, or a Trakt InputError
    # naming the column, never a raw pyarrow error (which the runner reports as internal).
    make(tmp_path, {"1.csv": "id,v\n1,a\n", "2.csv": "id,v\nA1,b\n"})
    for strategy in ("concat", "union"):
        try:
            frame = combined(tmp_path, "*.csv", strategy)
        except TraktError as exc:
            assert isinstance(exc, InputError)
            assert "id" in exc.message and "2.csv" in exc.message
        else:
            assert frame["id"].tolist() == ["1", "A1"]


def test_latest_reads_only_the_last_file_in_sorted_order(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "export-2024-10-01.csv": "id\n10\n",
            "export-2024-09-30.csv": "id\n9\n",
            "export-2024-02-15.csv": "other,columns\nx,y\n",
        },
    )
    frame = combined(tmp_path, "export-*.csv", "latest", {"source_column": "src"})
    assert frame.to_dict(orient="records") == [{"id": 10, "src": "export-2024-10-01.csv"}]


def test_source_column_holds_paths_relative_to_the_input_dir(tmp_path: Path) -> None:
    make(tmp_path, {"in/b/x.csv": "id\n3\n", "in/a/x.csv": "id\n1\n2\n"})
    frame = combined(tmp_path, "in/**/*.csv", "concat", {"source_column": "source_file"})
    assert list(frame.columns) == ["id", "source_file"]
    assert frame.to_dict(orient="records") == [
        {"id": 1, "source_file": "in/a/x.csv"},
        {"id": 2, "source_file": "in/a/x.csv"},
        {"id": 3, "source_file": "in/b/x.csv"},
    ]
    assert str(frame["source_file"].dtype) == "str"


def test_source_column_with_union(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "id\n1\n", "2.csv": "id,v\n2,b\n"})
    frame = combined(tmp_path, "*.csv", "union", {"source_column": "src"})
    assert frame["src"].tolist() == ["1.csv", "2.csv"]
    assert list(frame.columns) == ["id", "src", "v"]


def test_source_column_for_a_single_file(tmp_path: Path) -> None:
    make(tmp_path, {"data/in.csv": "id\n1\n"})
    frame = combined(tmp_path, "data/in.csv", "concat", {"source_column": "src"})
    assert frame.to_dict(orient="records") == [{"id": 1, "src": "data/in.csv"}]


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    make(tmp_path, {"1.csv": "a,b\n1,2\n", "2.csv": "a,b\n1,2,3\n"})
    with pytest.raises(InputError, match=r"2\.csv:2: expected 2 fields, found 3"):
        combined(tmp_path, "*.csv", "concat")
