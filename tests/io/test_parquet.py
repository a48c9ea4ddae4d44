"""Parquet: exact types both ways, any chunking the same bytes, partitions, errors."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trakt.errors import InputError, OutputError
from trakt.io import get_format
from trakt.io.registry import ReadRequest

FMT = get_format("parquet")
UTC = dt.UTC


def typed(rows: int = 60) -> pa.Table:
    base = {
        "i": [1, None, 3],
        "f": [0.1, 2.0, None],
        "s": ['a "q", x\nline', "é😀", None],
        "b": [True, None, False],
        "d": [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)],
        "t": [dt.datetime(2024, 1, 2, 10, 0, 0, 500000), None, dt.datetime(2024, 1, 2)],
        "tz": [dt.datetime(2024, 1, 2, 10, tzinfo=UTC), None, dt.datetime(2024, 7, 2, tzinfo=UTC)],
        "dec": [decimal.Decimal("1.10"), None, decimal.Decimal("-0.001")],
    }
    types = {
        "i": pa.int64(),
        "f": pa.float64(),
        "s": pa.string(),
        "b": pa.bool_(),
        "d": pa.date32(),
        "t": pa.timestamp("us"),
        "tz": pa.timestamp("us", tz="Europe/Paris"),
        "dec": pa.decimal128(10, 3),
    }
    reps = rows // 3
    return pa.table({k: pa.array(v * reps, types[k]) for k, v in base.items()})


def write(path: Path, chunks: list[pa.Table], **options: object) -> None:
    writer = FMT.open_writer(path, options)
    for chunk in chunks:
        writer.write(chunk)
    writer.close()


@pytest.mark.parametrize("chunk", [1, 7, 50000])
def test_round_trip_whole_and_in_chunks(tmp_path: Path, chunk: int) -> None:
    table = typed()
    path = tmp_path / "t.parquet"
    write(path, [table])
    request = ReadRequest(path, {})
    assert FMT.read_table(request).equals(table)
    assert FMT.schema(request) == table.schema
    parts = list(FMT.iter_tables(request, chunk))
    assert [p.num_rows for p in parts[:-1]] == [chunk] * (len(parts) - 1)
    assert pa.concat_tables(parts).equals(table)


@pytest.mark.parametrize("chunk", [1, 7, 50000])
def test_bytes_identical_whatever_the_chunking(tmp_path: Path, chunk: int) -> None:
    table = typed(300)
    write(tmp_path / "one.parquet", [table], row_group_size=50)
    pieces = [table.slice(o, chunk) for o in range(0, table.num_rows, chunk)]
    write(tmp_path / "many.parquet", pieces, row_group_size=50)
    one = (tmp_path / "one.parquet").read_bytes()
    assert (tmp_path / "many.parquet").read_bytes() == one
    assert pq.ParquetFile(tmp_path / "one.parquet").metadata.num_row_groups == 6


def test_pandas_metadata_is_dropped_and_null_chunks_take_the_type(tmp_path: Path) -> None:
    table = pa.table({"a": [1, 2], "s": ["x", "y"]})
    with_meta = table.replace_schema_metadata({b"pandas": b"{}"})
    nulls = pa.table({"a": [3], "s": pa.nulls(1)})
    write(tmp_path / "a.parquet", [with_meta, nulls])
    write(tmp_path / "b.parquet", [pa.concat_tables([table, nulls.cast(table.schema)])])
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert b"pandas" not in (pq.read_schema(tmp_path / "a.parquet").metadata or {})


def test_compression_option(tmp_path: Path) -> None:
    for codec in ("zstd", "snappy", "gzip", "none"):
        write(tmp_path / f"{codec}.parquet", [typed()], compression=codec)
        meta = pq.ParquetFile(tmp_path / f"{codec}.parquet").metadata
        expected = "UNCOMPRESSED" if codec == "none" else codec.upper()
        assert meta.row_group(0).column(0).compression == expected
    assert FMT.check_writer_options({"compression": "lzo", "row_group_size": 0}) == [
        "option 'compression' must be one of zstd, snappy, gzip, brotli, lz4, none, found 'lzo'",
        "option 'row_group_size' must be a positive number of rows, found 0",
    ]


def test_columns_option_and_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write(path, [typed()])
    assert FMT.read_table(ReadRequest(path, {"columns": ["s", "i"]})).column_names == ["s", "i"]
    with pytest.raises(InputError, match=r"t\.parquet: options\.columns names column 'nope'"):
        FMT.read_table(ReadRequest(path, {"columns": ["i", "nope"]}))
    with pytest.raises(InputError, match=r"column 'nope'"):
        list(FMT.iter_tables(ReadRequest(path, {"columns": ["nope"]}), 5))
    assert FMT.check_options({"columns": "i"}) == [
        "option 'columns' must be a list of column names, found 'i'"
    ]


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"bad\.parquet: cannot read it as Parquet"):
        FMT.read_table(ReadRequest(path, {}))


def test_a_chunk_with_another_type_or_columns_is_an_error(tmp_path: Path) -> None:
    writer = FMT.open_writer(tmp_path / "o.parquet", {})
    writer.write(pa.table({"a": [1], "b": ["x"]}))
    with pytest.raises(OutputError, match=r"o\.parquet: column 'a' is double .* but int64"):
        writer.write(pa.table({"a": [1.5], "b": ["y"]}))
    with pytest.raises(OutputError, match=r"o\.parquet: this part .* \(column 'c'\)"):
        writer.write(pa.table({"a": [1], "c": ["y"]}))


@pytest.mark.parametrize("chunk", [1, 7, 50000])
def test_partitioned_directory(tmp_path: Path, chunk: int) -> None:
    table = pa.table({"k": ["x/y", None, "a b", "x/y"] * 5, "n": [1, 2, 3, 4] * 5, "v": range(20)})
    write(tmp_path / "one", [table], partition_by=["k", "n"])
    pieces = [table.slice(o, chunk) for o in range(0, table.num_rows, chunk)]
    write(tmp_path / "many", pieces, partition_by=["k", "n"])
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.parquet"))
    assert [str(f) for f in files] == [
        "k=__HIVE_DEFAULT_PARTITION__/n=2/part-0.parquet",
        "k=a%20b/n=3/part-0.parquet",
        "k=x%2Fy/n=1/part-0.parquet",
        "k=x%2Fy/n=4/part-0.parquet",
    ]
    for f in files:
        assert (tmp_path / "many" / f).read_bytes() == (tmp_path / "one" / f).read_bytes()
    part = pq.read_table(tmp_path / "one" / "k=x%2Fy/n=1/part-0.parquet")
    assert part.column_names == ["v"] and part.column("v").to_pylist() == [0, 4, 8, 12, 16]
    back = pq.read_table(tmp_path / "one", partitioning="hive")
    pairs = set(zip(back["k"].to_pylist(), back["v"].to_pylist(), strict=True))
    assert {("a b", 2), ("x/y", 0), (None, 1)} <= pairs


def test_partition_values_that_cannot_be_a_directory(tmp_path: Path) -> None:
    for i, value in enumerate(["..", ""]):
        writer = FMT.open_writer(tmp_path / f"o{i}", {"partition_by": ["k"]})
        with pytest.raises(OutputError, match=r"o\d: partition_by column 'k' holds '(\.\.)?'"):
            writer.write(pa.table({"k": ["ok", value], "v": [1, 2]}))
    writer = FMT.open_writer(tmp_path / "o9", {"partition_by": ["zz"]})
    with pytest.raises(OutputError, match=r"partition_by names column 'zz', which the output"):
        writer.write(pa.table({"k": ["a"], "v": [1]}))
