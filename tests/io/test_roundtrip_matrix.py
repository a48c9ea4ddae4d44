"""The round-trip matrix: every output format x batch/stream x chunk size {1, 7, 50000}.

A pipeline reads a CSV and a stream-capable pandas step builds the typed table (ints with
nulls, floats, text with quotes / line breaks / unicode, bools, dates, timestamps); the output
is written in each format, read back by a second pipeline (same mode and chunk size) and by an
independent reader (the standard library, pyarrow, polars, openpyxl), and compared. Batch and
stream outputs must be byte-identical for every format and chunk size.

What each format keeps (what a second pipeline gets back, as pandas dtypes):

- csv, tsv (and .gz .bz2 .zst .xz): ints Int64, floats float64, text str, bools boolean;
  dates and timestamps come back as their text (`YYYY-MM-DD`, ISO 8601): Trakt never parses
  dates from text.
- parquet: every type: Int64, float64, str, boolean, dates as `datetime.date` (date32),
  timestamps as datetime64 (the unit kept).
- jsonl: Int64, float64, str, boolean; dates and timestamps as text (JSON has no date type).
- xlsx: Int64, float64, str (a CR LF line break comes back LF: XML), boolean; dates as
  datetime64 at midnight (Excel has no date type), timestamps as datetime64.

Missing values are missing in every format. The text formats' bytes are pinned exactly (the
README's formatting table); for compressed ones after decompressing.

The runs are cached per module (one write per format x mode x chunk size, each read back once)
to keep the file fast; each test still checks one thing.
"""

from __future__ import annotations

import bz2
import csv as stdlib_csv
import datetime as dt
import gzip
import io
import json
import lzma
import math
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import Project, forget_package
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

pytest.importorskip("openpyxl")

CHUNK_SIZES = (1, 7, 50_000)
ROWS = 23
COLUMNS = ("count", "ratio", "label", "ok", "day", "at")

# (text as written, value)
FLOATS: list[tuple[str, float]] = [
    ("0.1", 0.1),
    ("2.0", 2.0),
    ("-0.5", -0.5),
    ("1e-7", 1e-7),
    ("123456789.125", 123456789.125),
    ("0.30000000000000004", 0.1 + 0.2),
    ("1.5e+300", 1.5e300),
]
TEXTS = [
    "plain",
    'say "hi"',
    "two\nlines",
    "crlf\r\ninside",
    "a,b",
    "tab\there",
    " padded ",
    "ünïcödé ✓ 日本語 🎉",
    "=SUM(A1:A2)",
    '"quoted"',
    "'single'",
]


def _value(k: int, column: str) -> Any:
    """Row ``k``'s typed value of ``column`` (None: missing). Row 0 has no missing value."""
    if column == "count":
        # 2**53 - 1: the largest integer every format (xlsx too: doubles) keeps exactly
        return None if k % 5 == 3 else 2**53 - 1 if k == 4 else k * 1009 - 7000
    if column == "ratio":
        return None if k % 7 == 5 else FLOATS[k % 7][1]
    if column == "label":
        return None if k % 6 == 4 else TEXTS[k % len(TEXTS)]
    if column == "ok":
        return None if k % 4 == 2 else k % 3 == 0
    if column == "day":
        return None if k == 9 else dt.date(2025, 1, 1) + dt.timedelta(days=37 * k - 400)
    step = dt.timedelta(hours=7, minutes=13, seconds=1, milliseconds=500 if k % 2 else 0)
    return None if k == 11 else dt.datetime(2025, 1, 9, 10) + k * step


def _text(value: Any) -> str:
    """A value as the CSV writer spells it (README, 'Data types': the formatting table)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return next(text for text, v in FLOATS if v == value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


VALUES: dict[str, list[Any]] = {c: [_value(k, c) for k in range(ROWS)] for c in COLUMNS}
TEXT_VALUES: dict[str, list[str | None]] = {
    c: [None if v is None else _text(v) for v in values] for c, values in VALUES.items()
}


def delimited(sep: str) -> bytes:
    """The table as RFC 4180 text: quoted only where needed, ``\\n`` line ends."""
    out = io.StringIO()
    writer = stdlib_csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(COLUMNS)
    for k in range(ROWS):
        writer.writerow([_text(VALUES[c][k]) for c in COLUMNS])
    return out.getvalue().encode("utf-8")


# The input is the CSV output's exact bytes: dates and timestamps come back as they went in.
INPUT_CSV = delimited(",")

# Builds the typed table from the text one, chunk by chunk (a one-chunk iterator in batch
# mode). The unit is pinned: pandas infers it from each chunk's values (a chunk of only
# missing timestamps gets seconds), a case test_missing_first_chunk covers on its own.
TYPED_STEP = """
import pandas as pd

def typed(chunk):
    frame = chunk.copy()
    frame["day"] = pd.to_datetime(frame["day"], format="%Y-%m-%d").dt.date
    frame["at"] = pd.to_datetime(frame["at"], format="ISO8601")
    if {pin}:
        frame["at"] = frame["at"].dt.as_unit("us")
    return frame

def run(ctx, input, output):
    return {{"output": (typed(chunk) for chunk in input)}}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

# Pickles what it receives (the chunks' lengths and the whole frame) to ``dump``.
CAPTURE_STEP = """
import pickle
import pandas as pd

def run(ctx, input, output, dump):
    def chunks():
        seen = []
        for chunk in input:
            seen.append(chunk.copy())
            yield chunk
        with open(dump, "wb") as f:
            pickle.dump(([len(c) for c in seen], pd.concat(seen, ignore_index=True)), f)
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

WRITE = """
name: matrix_write
execution:
  mode: {mode}
inputs:
  records:
    uri: records.csv
steps:
  - id: typed
    uses: {uses}
    with:
      input: records
      output: typed
outputs:
  datasets:
    - name: final
      from: typed
{extra}
"""

READ = """
name: matrix_read
execution:
  mode: {mode}
inputs:
  records:
    uri: {uri}
steps:
  - id: capture
    uses: {uses}
    with:
      input: records
      output: seen
      dump: {dump}
outputs:
  datasets:
    - name: seen
      from: seen
"""


@dataclass(frozen=True)
class Case:
    """One output format: the YAML keys given, the file expected, what the format keeps."""

    id: str
    keys: dict[str, Any]
    file: str
    format: str
    kind: str  # csv, tsv, parquet, jsonl, xlsx
    codec: str | None = None


CASES = [
    Case("csv", {}, "final.csv", "csv", "csv"),  # the seed's YAML: no format, no path
    Case("csv.gz", {"path": "final.csv.gz"}, "final.csv.gz", "csv", "csv", "gzip"),
    Case("csv.bz2", {"path": "final.csv.bz2"}, "final.csv.bz2", "csv", "csv", "bz2"),
    Case(
        "csv.zst", {"format": "csv", "path": "final.csv.zst"}, "final.csv.zst", "csv", "csv", "zstd"
    ),
    Case("csv.xz", {"path": "final.csv.xz"}, "final.csv.xz", "csv", "csv", "xz"),
    Case("tsv", {"format": "tsv"}, "final.tsv", "tsv", "tsv"),
    Case("parquet", {"format": "parquet"}, "final.parquet", "parquet", "parquet"),
    Case("jsonl", {"path": "final.jsonl"}, "final.jsonl", "jsonl", "jsonl"),
    Case("xlsx", {"format": "xlsx"}, "final.xlsx", "xlsx", "xlsx"),
]
BY_ID = {case.id: case for case in CASES}
RUNS = [("batch", 0)] + [("stream", n) for n in CHUNK_SIZES]


def output_keys(keys: dict[str, Any]) -> str:
    return "".join(f"      {key}: {json.dumps(value)}\n" for key, value in keys.items())


@dataclass
class Written:
    path: Path
    result: dict[str, Any]
    manifest: dict[str, Any]


@dataclass
class ReadBack:
    chunks: list[int]
    frame: pd.DataFrame
    manifest: dict[str, Any]


@dataclass
class Runs:
    """One project; each write (case, mode, chunk) and each read-back runs once."""

    project: Project
    written: dict[tuple[str, str, int, bool], Written] = field(default_factory=dict)
    read: dict[tuple[str, str, int], ReadBack] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.project.input_dir / "records.csv").write_bytes(INPUT_CSV)
        self.typed = {
            pin: self.project.step(f"typed_{pin}", TYPED_STEP.format(pin=pin))
            for pin in (True, False)
        }
        self.capture = self.project.step("capture", CAPTURE_STEP)

    def run(self, yaml_text: str, out: Path, mode: str, chunk: int) -> dict[str, Any]:
        path = self.project.pipeline(yaml_text, name=f"{out.name}.yaml")
        runner = LocalRunner(
            input_dir=self.project.input_dir,
            output_dir=out,
            stream_chunk_size=chunk if mode == "stream" else None,
        )
        result = runner.run(load_pipeline_from_yaml(path), run_id="matrix")
        assert result["status"] == "success", result.get("error")
        return result

    def write(
        self,
        case: Case,
        mode: str,
        chunk: int,
        keys: dict[str, Any] | None = None,
        pin: bool = True,
    ) -> Written:
        key = (case.id if keys is None else json.dumps(keys), mode, chunk, pin)
        if key not in self.written:
            out = self.project.root / f"w{len(self.written)}-{case.id}-{mode}-{chunk}"
            extra = output_keys(case.keys if keys is None else keys)
            yaml_text = WRITE.format(mode=mode, uses=self.typed[pin], extra=extra)
            result = self.run(yaml_text, out, mode, chunk)
            manifest = json.loads((out / "manifest.json").read_text())
            self.written[key] = Written(out / case.file, result, manifest)
        return self.written[key]

    def read_back(self, case: Case, mode: str, chunk: int) -> ReadBack:
        key = (case.id, mode, chunk)
        if key not in self.read:
            source = self.write(case, mode, chunk).path
            out = self.project.root / f"r{len(self.read)}-{case.id}-{mode}-{chunk}"
            dump = self.project.root / f"{out.name}.pickle"
            yaml_text = READ.format(
                mode=mode,
                uri=json.dumps(str(source)),
                uses=self.capture,
                dump=json.dumps(str(dump)),
            )
            self.run(yaml_text, out, mode, chunk)
            chunks, frame = pickle.loads(dump.read_bytes())
            manifest = json.loads((out / "manifest.json").read_text())
            self.read[key] = ReadBack(chunks, frame, manifest)
        return self.read[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    project = Project(tmp_path_factory.mktemp("matrix"))
    yield Runs(project)
    forget_package(project.package)


# --- what a second pipeline gets back --------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def column_values(frame: pd.DataFrame, column: str) -> list[Any]:
    return [_plain(v) for v in frame[column].tolist()]


def midnight(value: dt.date | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.combine(value, dt.time())


def xml_text(value: Any) -> Any:
    """Text as an xlsx file gives it back: XML turns a CR LF line break into LF."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def expected_back(kind: str) -> dict[str, list[Any]]:
    """The values a pipeline reading the format back gets (see the module's table)."""
    expected = {c: list(VALUES[c]) for c in ("count", "ratio", "label", "ok")}
    if kind == "parquet":
        expected |= {"day": VALUES["day"], "at": VALUES["at"]}
    elif kind == "xlsx":
        expected |= {"day": [midnight(v) for v in VALUES["day"]], "at": VALUES["at"]}
        expected["label"] = [xml_text(v) for v in VALUES["label"]]
    else:  # text in the file: text back (jsonl is compared by value below)
        expected |= {"day": TEXT_VALUES["day"], "at": TEXT_VALUES["at"]}
    return expected


EXPECTED_DTYPES = {"count": "Int64", "ratio": "float64", "label": "str", "ok": "boolean"}


@pytest.mark.parametrize(("mode", "chunk"), RUNS, ids=[f"{m}-{c}" for m, c in RUNS])
@pytest.mark.parametrize("case_id", list(BY_ID))
def test_a_second_pipeline_reads_back_the_table(
    runs: Runs, case_id: str, mode: str, chunk: int
) -> None:
    case = BY_ID[case_id]
    back = runs.read_back(case, mode, chunk)
    frame = back.frame
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == ROWS
    if mode == "stream":  # exactly `chunk` rows per chunk, the rest in the last
        full, rest = divmod(ROWS, chunk)
        assert back.chunks == [chunk] * full + ([rest] if rest else [])
    for column, dtype in EXPECTED_DTYPES.items():
        assert str(frame[column].dtype) == dtype, (column, frame.dtypes.to_dict())
    expected = expected_back(case.kind)
    got = {c: column_values(frame, c) for c in COLUMNS}
    if case.kind == "jsonl":
        # Text in JSON: the date exactly, the timestamp by value (any ISO 8601 spelling).
        assert all(isinstance(v, str) for v in got["day"] + got["at"] if v is not None)
        got["at"] = [None if v is None else dt.datetime.fromisoformat(v) for v in got["at"]]
        expected["at"] = VALUES["at"]
    if case.kind in ("parquet", "xlsx"):
        assert pd.api.types.is_datetime64_dtype(frame["at"].dtype), frame["at"].dtype
    for column in COLUMNS:
        assert got[column] == expected[column], column


@pytest.mark.parametrize(("mode", "chunk"), RUNS, ids=[f"{m}-{c}" for m, c in RUNS])
@pytest.mark.parametrize("case_id", list(BY_ID))
def test_the_manifest_records_format_and_uri(
    runs: Runs, case_id: str, mode: str, chunk: int
) -> None:
    case = BY_ID[case_id]
    written = runs.write(case, mode, chunk)
    assert written.path.is_file(), sorted(p.name for p in written.path.parent.iterdir())
    assert Path(written.result["outputs"]["final"]).name == case.file
    (output,) = written.manifest["outputs"]
    assert output["format"] == case.format
    assert str(output["uri"]).endswith(f"/{case.file}"), output["uri"]
    entry = runs.read_back(case, mode, chunk).manifest["inputs"]["records"]
    assert entry["format"] == case.format
    assert str(entry["uri"]).endswith(case.file), entry["uri"]


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
@pytest.mark.parametrize("case_id", list(BY_ID))
def test_stream_writes_the_batch_bytes(runs: Runs, case_id: str, chunk: int) -> None:
    case = BY_ID[case_id]
    batch = runs.write(case, "batch", 0).path.read_bytes()
    stream = runs.write(case, "stream", chunk).path.read_bytes()
    assert stream == batch, f"{case.file}: {len(stream)} bytes in stream mode, {len(batch)} batch"


# --- what the file holds, read by other tools ----------------------------------------------

MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}


def decompressed(path: Path, codec: str | None) -> bytes:
    raw = path.read_bytes()
    if codec is None:
        return raw
    assert raw.startswith(MAGIC[codec]), f"{path.name} is not {codec}: {raw[:8]!r}"
    if codec == "gzip":
        return gzip.decompress(raw)
    if codec == "bz2":
        return bz2.decompress(raw)
    if codec == "xz":
        return lzma.decompress(raw)
    with pa.CompressedInputStream(pa.BufferReader(raw), "zstd") as stream:
        data: bytes = stream.read()
    return data


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.kind in ("csv", "tsv")])
def test_text_formats_hold_the_exact_text(runs: Runs, case_id: str) -> None:
    case = BY_ID[case_id]
    sep = "\t" if case.kind == "tsv" else ","
    data = decompressed(runs.write(case, "batch", 0).path, case.codec)
    assert data == delimited(sep)
    # polars, as text: every value's spelling, missing values empty.
    frame = pl.read_csv(io.BytesIO(data), separator=sep, infer_schema=False)
    assert frame.columns == list(COLUMNS)
    assert {c: frame[c].to_list() for c in COLUMNS} == TEXT_VALUES


def test_parquet_keeps_every_type(runs: Runs) -> None:
    path = runs.write(BY_ID["parquet"], "batch", 0).path
    table = pq.read_table(path)
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["count"] == pa.int64()
    assert types["ratio"] == pa.float64()
    assert types["label"] in (pa.string(), pa.large_string())
    assert types["ok"] == pa.bool_()
    assert types["day"] == pa.date32()
    assert pa.types.is_timestamp(types["at"]) and types["at"].tz is None
    assert {c: [_plain(v) for v in table.column(c).to_pylist()] for c in COLUMNS} == VALUES
    assert pl.read_parquet(path).to_dict(as_series=False) == VALUES


def test_jsonl_holds_one_object_per_line(runs: Runs) -> None:
    data = runs.write(BY_ID["jsonl"], "batch", 0).path.read_bytes()
    assert data.endswith(b"\n") and b"\r\n" not in data.replace(b"\\r\\n", b"")
    lines = data.decode("utf-8").splitlines()
    assert len(lines) == ROWS
    assert "日本語" in data.decode("utf-8")  # UTF-8, not \\u-escaped
    records = [json.loads(line) for line in lines]
    assert all(list(r) == list(COLUMNS) for r in records)  # keys in column order, nulls kept
    for column in ("count", "ratio", "label", "ok"):
        assert [r[column] for r in records] == VALUES[column], column
    assert [r["count"] for r in records if isinstance(r["count"], int)]  # ints stay ints
    assert [r["day"] for r in records] == TEXT_VALUES["day"]
    at = [None if r["at"] is None else dt.datetime.fromisoformat(r["at"]) for r in records]
    assert at == VALUES["at"]
    frame = pl.read_ndjson(io.BytesIO(data))
    assert frame.columns == list(COLUMNS)
    assert frame["count"].to_list() == VALUES["count"]
    assert frame["label"].to_list() == VALUES["label"]


def test_xlsx_holds_excel_values(runs: Runs) -> None:
    import openpyxl

    path = runs.write(BY_ID["xlsx"], "batch", 0).path
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0] == COLUMNS
    assert len(rows) == ROWS + 1
    width = len(COLUMNS)  # read-only rows end at their last cell that has a value
    got = {c: [(*row, *[None] * width)[i] for row in rows[1:]] for i, c in enumerate(COLUMNS)}
    assert got["count"] == VALUES["count"]
    assert got["ratio"] == VALUES["ratio"]  # 2.0 may come back as the int 2: equal
    assert got["label"] == [xml_text(v) for v in VALUES["label"]]  # '=SUM(..)' stays text
    assert got["ok"] == VALUES["ok"]
    assert got["day"] == [midnight(v) for v in VALUES["day"]]
    assert got["at"] == VALUES["at"]


# --- options and variants ------------------------------------------------------------------


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
def test_parquet_row_groups_do_not_follow_the_chunks(runs: Runs, chunk: int) -> None:
    case = BY_ID["parquet"]
    keys = {"format": "parquet", "options": {"row_group_size": 5}}
    batch = runs.write(case, "batch", 0, keys).path
    stream = runs.write(case, "stream", chunk, keys).path
    meta = pq.ParquetFile(stream).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [5, 5, 5, 5, 3]
    assert stream.read_bytes() == batch.read_bytes()


def test_ndjson_is_jsonl(runs: Runs) -> None:
    alias = runs.write(BY_ID["jsonl"], "batch", 0, {"format": "ndjson"})
    assert alias.path.read_bytes() == runs.write(BY_ID["jsonl"], "batch", 0).path.read_bytes()
    assert alias.manifest["outputs"][0]["format"] in ("jsonl", "ndjson")


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
def test_partitioned_parquet_is_the_same_tree_in_both_modes(runs: Runs, chunk: int) -> None:
    case = Case("parts", {}, "final", "parquet", "parquet")
    keys = {"format": "parquet", "path": "final", "options": {"partition_by": ["ok"]}}
    batch = runs.write(case, "batch", 0, keys).path
    stream = runs.write(case, "stream", chunk, keys).path
    assert batch.is_dir()
    assert sorted(p.name for p in batch.iterdir()) == [
        "ok=__HIVE_DEFAULT_PARTITION__",
        "ok=false",
        "ok=true",
    ]
    assert tree(stream) == tree(batch)
    import pyarrow.dataset as ds

    table = ds.dataset(batch, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == ROWS
    assert sorted(table.column("count").to_pylist(), key=str) == sorted(VALUES["count"], key=str)


# A stream step's chunk of only missing dates or timestamps has another Arrow type than the
# others (pandas: object NaT -> null; datetime64[s] instead of [us]); the first chunk too.
@pytest.mark.parametrize("case_id", list(BY_ID))
def test_missing_first_chunk(runs: Runs, case_id: str) -> None:
    case = BY_ID[case_id]
    project = runs.project
    lines = INPUT_CSV.decode("utf-8").split("\n", 1)
    header, body = lines[0], lines[1]
    # A first record with every value missing, then the table.
    text = f"{header}\n{','.join('' for _ in COLUMNS)}\n{body}"
    (project.input_dir / "gaps.csv").write_text(text, encoding="utf-8")
    outs = []
    for mode, chunk in (("batch", 0), ("stream", 1), ("stream", 7)):
        out = project.root / f"gaps-{case.id}-{mode}-{chunk}"
        yaml_text = WRITE.format(mode=mode, uses=runs.typed[False], extra=output_keys(case.keys))
        runs.run(yaml_text.replace("records.csv", "gaps.csv"), out, mode, chunk)
        outs.append((out / case.file).read_bytes())
    assert outs[1] == outs[0]
    assert outs[2] == outs[0]
