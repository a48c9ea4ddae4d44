"""JSON Lines: types as JSON has them, errors naming the line, the same bytes in any chunking."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from trakt.errors import InputError, OutputError
from trakt.io import get_format
from trakt.io.registry import ReadRequest

FMT = get_format("jsonl")
UTC = dt.UTC


def typed(rows: int = 60) -> pa.Table:
    base = {
        "i": ([1, None, 3], pa.int64()),
        "f": ([0.1, 2.0, None], pa.float64()),
        "s": (['a "q", x\nline\\', "é😀", None], pa.string()),
        "b": ([True, None, False], pa.bool_()),
        "d": ([dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()),
        "t": (
            [dt.datetime(2024, 1, 2, 10, 0, 0, 500000), None, dt.datetime(2024, 1, 2)],
            pa.timestamp("us"),
        ),
        "tz": (
            [dt.datetime(2024, 1, 2, 10, tzinfo=UTC), None, dt.datetime(2024, 7, 2, tzinfo=UTC)],
            pa.timestamp("us", tz="Europe/Paris"),
        ),
        "dec": ([decimal.Decimal("1.10"), None, decimal.Decimal("-0.001")], pa.decimal128(10, 3)),
    }
    return pa.table({k: pa.array(v * (rows // 3), t) for k, (v, t) in base.items()})


EXPECTED_LINES = [
    '{"i":1,"f":0.1,"s":"a \\"q\\", x\\nline\\\\","b":true,"d":"2024-01-02",'
    '"t":"2024-01-02T10:00:00.500","tz":"2024-01-02T11:00:00+01:00","dec":1.100}',
    '{"i":null,"f":2.0,"s":"é😀","b":null,"d":null,"t":null,"tz":null,"dec":null}',
    '{"i":3,"f":null,"s":null,"b":false,"d":"1999-12-31","t":"2024-01-02T00:00:00",'
    '"tz":"2024-07-02T02:00:00+02:00","dec":-0.001}',
]


def write(path: Path, chunks: list[pa.Table], **options: object) -> None:
    writer = FMT.open_writer(path, FMT.writer_options_for(path.name, options))
    for chunk in chunks:
        writer.write(chunk)
    writer.close()


def read_back_types(table: pa.Table) -> pa.Table:
    """What the table reads back as: JSON has numbers, text, booleans."""
    reps = table.num_rows // 3
    text = {
        "d": ["2024-01-02", None, "1999-12-31"],
        "t": ["2024-01-02T10:00:00.500", None, "2024-01-02T00:00:00"],
        "tz": ["2024-01-02T11:00:00+01:00", None, "2024-07-02T02:00:00+02:00"],
    }
    columns = {n: table.column(n) for n in table.column_names}
    columns.update({n: pa.array(v * reps, pa.string()) for n, v in text.items()})
    columns["dec"] = table.column("dec").cast(pa.float64())
    return pa.table(columns)


def test_writer_text(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", [typed(3)])
    data = (tmp_path / "t.jsonl").read_bytes()
    assert data.decode("utf-8").split("\n") == [*EXPECTED_LINES, ""]
    nan = pa.table({"x": [float("nan"), float("inf"), 1e16, 1e-7]})
    write(tmp_path / "n.jsonl", [nan])
    assert (tmp_path / "n.jsonl").read_text() == '{"x":null}\n{"x":null}\n{"x":1e+16}\n{"x":1e-7}\n'


@pytest.mark.parametrize("chunk", [1, 7, 50000])
def test_round_trip_whole_and_in_chunks(tmp_path: Path, chunk: int) -> None:
    table = typed()
    path = tmp_path / "t.jsonl"
    write(path, [table])
    request = ReadRequest(path, {})
    expected = read_back_types(table)
    read = FMT.read_table(request)
    assert read.schema == expected.schema
    assert read.column("t").to_pylist()[:3] == [
        "2024-01-02T10:00:00.500",
        None,
        "2024-01-02T00:00:00",
    ]
    assert read.equals(expected)
    parts = list(FMT.iter_tables(request, chunk))
    assert [p.num_rows for p in parts[:-1]] == [chunk] * (len(parts) - 1)
    assert pa.concat_tables(parts).equals(expected)


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.gz", "c.ndjson.zst"])
@pytest.mark.parametrize("chunk", [1, 7, 50000])
def test_bytes_identical_whatever_the_chunking(tmp_path: Path, chunk: int, name: str) -> None:
    table = typed(3000)
    write(tmp_path / ("one" + name), [table])
    write(tmp_path / ("many" + name), [table.slice(o, chunk) for o in range(0, 3000, chunk)])
    assert (tmp_path / ("one" + name)).read_bytes() == (tmp_path / ("many" + name)).read_bytes()
    if name.endswith(".gz"):
        assert gzip.decompress((tmp_path / ("one" + name)).read_bytes()).startswith(b'{"i":1,')
    assert FMT.read_table(ReadRequest(tmp_path / ("one" + name), {})).num_rows == 3000


def test_union_of_keys_and_int_then_float(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text('{"b": 1, "a": "x"}\n\n{"c": true, "b": 2.5}\n')
    table = FMT.read_table(ReadRequest(path, {}))
    assert table.column_names == ["b", "a", "c"]
    assert table.to_pylist() == [{"b": 1.0, "a": "x", "c": None}, {"b": 2.5, "a": None, "c": True}]
    assert FMT.read_table(ReadRequest(path, {"columns": ["c", "b"]})).column_names == ["c", "b"]


@pytest.mark.parametrize(
    ("text", "options", "match"),
    [
        ('{"a": 1}\n{"a": 2,}\n', {}, r"x\.jsonl:2: invalid JSON \(Expecting"),
        ('{"a": 1}\n[1, 2]\n', {}, r"x\.jsonl:2: expected one JSON object .* found a list"),
        (
            '{"a": 1}\n\n{"a": {"b": 1}}\n',
            {},
            r"x\.jsonl:3: key 'a' holds an object .*flatten: true",
        ),
        ('{"a": 1}\n{"a": [1]}\n', {"flatten": True}, r"x\.jsonl:2: key 'a' holds a list"),
        (
            '{"a": 1}\n{"a": "x"}\n',
            {},
            r"x\.jsonl:2: key 'a' holds text .* but an integer on line 1",
        ),
        (
            '{"a": 1}\n{"a": 99999999999999999999}\n',
            {"columns": {"a": "str"}},
            r"x\.jsonl:1: key 'a' holds an integer .*declared in options\.columns",
        ),
    ],
)
def test_errors_name_the_line(
    tmp_path: Path, text: str, options: dict[str, object], match: str
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    for read in (lambda r: FMT.read_table(r), lambda r: list(FMT.iter_tables(r, 10))):
        with pytest.raises(InputError, match=match) as info:
            read(ReadRequest(path, options))
        assert info.value.fields["file"] == str(path)


def test_flatten(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text('{"id": 1, "who": {"name": "Ada", "at": {"city": "London"}}}\n{"id": 2}\n')
    table = FMT.read_table(ReadRequest(path, {"flatten": True}))
    assert table.column_names == ["id", "who.name", "who.at.city"]
    assert table.to_pylist()[1] == {"id": 2, "who.name": None, "who.at.city": None}


def test_stream_mode_fixes_the_columns_from_the_first_block(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    lines = [f'{{"a": {i}}}' for i in range(100_000)]
    path.write_text("\n".join([*lines, '{"a": 1, "late": "x"}', '{"a": 2.5}']) + "\n")
    assert FMT.read_table(ReadRequest(path, {})).column_names == ["a", "late"]
    with pytest.raises(
        InputError, match=r"s\.jsonl:100001: key 'late' first appears .*mode: batch"
    ):
        list(FMT.iter_tables(ReadRequest(path, {}), 1000))
    with pytest.raises(InputError, match=r"s\.jsonl:100002: key 'a' holds a number .*a: float"):
        list(FMT.iter_tables(ReadRequest(path, {"columns": ["a"]}), 1000))
    declared = {"columns": {"a": "float", "late": "str"}}
    table = pa.concat_tables(FMT.iter_tables(ReadRequest(path, declared), 1000))
    assert table.schema == pa.schema([("a", pa.float64()), ("late", pa.string())])
    assert table.column("late").to_pylist()[-2:] == ["x", None]


def test_options_are_checked() -> None:
    assert FMT.check_options({"flatten": "yes", "columns": {"a": "date"}, "sep": ","}) == [
        "unknown jsonl option 'sep'; known options: columns, flatten, source_column",
        "option 'flatten' must be true or false, found 'yes'",
        "option 'columns' gives column 'a' the type 'date'; use one of: str, int, float, bool",
    ]
    assert get_format("ndjson") is FMT
    assert FMT.check_writer_options({"compression": "zip"})[0].startswith("option 'compression'")


def test_a_chunk_with_other_columns_is_an_error(tmp_path: Path) -> None:
    writer = FMT.open_writer(tmp_path / "o.jsonl", {})
    writer.write(pa.table({"a": [1]}))
    with pytest.raises(OutputError, match=r"o\.jsonl: this part of the data has columns \['b'\]"):
        writer.write(pa.table({"b": [1]}))


@pytest.mark.parametrize("first", ["1", "1.5"])
def test_an_integer_beyond_64_bits_is_an_error_not_a_float(tmp_path: Path, first: str) -> None:
    from trakt.errors import InputError
    from trakt.io.jsonl_io import iter_tables, read_table
    from trakt.io.registry import ReadRequest

    path = tmp_path / "big.jsonl"
    path.write_text(
        f'{{"a": {first}, "s": "12345678901234567890123"}}\n'
        '{"a": 123456789012345678901234, "s": "x"}\n'
    )
    request = ReadRequest(path, {})
    with pytest.raises(InputError, match=r"big\.jsonl:2: .*123456789012345678901234"):
        read_table(request)
    with pytest.raises(InputError, match=r"big\.jsonl:2: .*beyond the 64-bit range"):
        list(iter_tables(request, 1))


def test_long_integers_in_range_and_in_strings_are_kept(tmp_path: Path) -> None:
    from trakt.io.jsonl_io import read_table
    from trakt.io.registry import ReadRequest

    path = tmp_path / "ok.jsonl"
    path.write_text('{"a": 9223372036854775807, "f": 0.5, "s": "123456789012345678901"}\n')
    table = read_table(ReadRequest(path, {}))
    assert table.to_pylist() == [{"a": 9223372036854775807, "f": 0.5, "s": "123456789012345678901"}]
