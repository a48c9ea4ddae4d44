"""Batch inputs read as polars scans (``trakt.runtime.scans``): byte for byte and record for
record what the exact reader gives, or the run starts over and reads every input exactly."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

SELECT = """\
- id: pick
  uses: trakt.select
  with: {input: orders, output: out, columns: COLUMNS}
"""


def _pipeline(root: Path, steps: str, mode: str) -> Path:
    body = textwrap.indent(steps, "  ")
    text = (
        "name: scans\ninputs:\n  orders:\n    uri: orders.csv\n"
        f"steps:\n{body}outputs:\n  datasets:\n    - name: out\n      from: out\n"
        f"execution:\n  mode: {mode}\n"
    )
    path = root / "pipeline.yaml"
    path.write_text(text)
    return path


def _run(
    root: Path, data: bytes, steps: str, scan: bool, mode: str = "batch", chunk: int = 50_000
) -> dict[str, Any]:
    """One run: the output's bytes, the manifest's parts that must agree, the error."""
    (root / "input").mkdir(parents=True)
    (root / "input" / "orders.csv").write_bytes(data)
    runner = LocalRunner(root / "input", root / "output", scan_inputs=scan, stream_chunk_size=chunk)
    result = runner.run(load_pipeline_from_yaml(_pipeline(root, steps, mode)))
    manifest = json.loads((root / "output" / "manifest.json").read_text())
    out = root / "output" / "out.csv"
    inputs = {
        name: {k: v for k, v in entry.items() if k not in ("started_at", "duration_s")}
        for name, entry in manifest["inputs"].items()
    }
    return {
        "status": result["status"],
        "error": str((manifest.get("error") or {}).get("message")).replace(str(root), "ROOT"),
        "bytes": out.read_bytes() if out.exists() else None,
        "inputs": inputs,
        "steps": [
            (s["id"], s["status"], s.get("rows_in"), s.get("rows_out")) for s in manifest["steps"]
        ],
        "outputs": [(o["name"], o["rows"], o.get("column_summaries")) for o in manifest["outputs"]],
    }


def _columns(data: bytes) -> str:
    header = data.decode("utf-8-sig", "replace").splitlines()[0]
    return json.dumps(list(reversed(header.split(","))))


def _both(
    tmp_path: Path, data: bytes, steps: str | None = None, mode: str = "batch", chunk: int = 50_000
) -> tuple[dict[str, Any], ...]:
    steps = steps or SELECT.replace("COLUMNS", _columns(data))
    return (
        _run(tmp_path / "scan", data, steps, True, mode, chunk),
        _run(tmp_path / "exact", data, steps, False, mode, chunk),
    )


# (file, whether the scan's rows stand: False where the run must start over)
CASES = {
    "plain": (b"id,country,amount,qty,note\n1,FR,10.5,3,a\n2,DE,7,,\n3,,-2.25,0,c\n", True),
    "quoted delimiters": (b'id,place,amount\n1,"GB, UK",2.5\n2,"a ""b"", c",3\n', True),
    "missing markers": (b'id,note,amount\n1,NA,1.5\n2,null,\n3,"",2\n4,N/A,NaN\n5,x,1\n', True),
    "crlf": (b"id,note,amount\r\n1,a,1.5\r\n2,b,2\r\n", True),
    "no last line break": (b"id,note,amount\n1,a,1.5\n2,b,2", True),
    "float spellings": (b"id,note,amount\n1,a,1e5\n2,b,.5\n3,c,5.\n4,d,-0.0\n", True),
    "byte order mark": (b"\xef\xbb\xbfid,note,amount\n1,a,1.5\n", None),
    "quoted line break": (b'id,note,amount\n1,"two\nlines",1.5\n2,b,2\n', False),
    "short record": (b"id,note,amount\n1,a,1.5\n2,b\n", False),
    "blank line": (b"id,note,amount\n1,a,1.5\n\n2,b,2\n", False),
    "stray quote": (b'id,note,amount\n1,a"b,1.5\n2,b,2\n', False),
    "text after a closing quote": (b'id,note,amount\n1,"a"b,1.5\n2,b,2\n', False),
    "lone carriage return": (b"id,note,amount\n1,a\r2,b,2\n3,c,1\n", False),
    "invalid utf-8": (b"id,note,amount\n1,\xff,1.5\n", False),
}


MODES = [("batch", 50_000), ("stream", 1), ("stream", 2), ("stream", 50_000)]


@pytest.mark.parametrize(("mode", "chunk"), MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_scan_gives_what_the_exact_reader_gives(
    tmp_path: Path, name: str, mode: str, chunk: int, caplog: pytest.LogCaptureFixture
) -> None:
    data, stands = CASES[name]
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, data, mode=mode, chunk=chunk)
    assert scanned == exact
    said = caplog.text
    if stands is True:
        assert "the scan read what the exact reader reads" in said
        assert "starts over" not in said
        assert scanned["status"] == "success"
    elif stands is False:
        assert "read by a polars scan" not in said or "starts over" in said


def _later(first: str, later: str, rows: int = 120_000) -> bytes:
    """A file whose first block (1 MiB) has ``first`` in column n, and ``later`` near its end."""
    lines = [f"{i},{first},x{i}" for i in range(rows)]
    lines[-3] = f"{rows},{later},y"
    return ("id,n,note\n" + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ("7", "007"),  # an int spelled so it would change: the column stays text
        ("7", "+7"),
        ("7", "-0"),
        ("7", "1.5"),  # ints, then a float: float64
        ("7", "99999999999999999999"),  # past int64
        ("7", "seven"),
        ("1.5", "+1.5"),
        ("1.5", "01.5"),
        ("1.5", "1e-400"),  # underflows
        ("1.5", "1e400"),  # overflows
        ("1.5", "0.12345678901234567890"),  # more digits than a float keeps
        ("1.5", "abc"),
    ],
)
@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_later_value_the_first_block_did_not_foresee_starts_the_run_over(
    tmp_path: Path, first: str, later: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = _later(first, later)
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, data, mode=mode)
    assert "read by a polars scan" in caplog.text
    assert "the run starts over, every input read exactly" in caplog.text
    assert scanned == exact
    if mode == "batch":  # the whole file decides a column's type
        assert scanned["status"] == "success"
        assert f"y,{later},{120_000}\n".encode() in scanned["bytes"]
    else:  # the first block does: a later value that does not fit is a clear error
        assert scanned["status"] == "failed"
        assert later in scanned["error"]


def test_a_derived_column_streams_and_counts(tmp_path: Path) -> None:
    data = b"id,amount,note\n" + b"".join(b"%d,%d.5,n%d\n" % (i, i, i) for i in range(5000))
    steps = """\
- id: double
  uses: trakt.derive
  with: {input: orders, output: twice, columns: {amount: "amount * 2"}}
- id: keep
  uses: trakt.filter
  with: {input: twice, output: out, where: "id % 2 = 0"}
"""
    scanned, exact = _both(tmp_path, data, steps)
    assert scanned == exact
    assert scanned["steps"] == [
        ("double", "success", {"input": 5000}, {"output": 5000}),
        ("keep", "success", {"input": 5000}, {"output": 2500}),
    ]
    assert scanned["inputs"]["orders"]["rows"] == 5000
    assert scanned["inputs"]["orders"]["column_summaries"]["amount"]["max"] == 4999.5
    assert scanned["bytes"].splitlines()[1] == b"0,1.0,n0"


def test_a_bad_expression_fails_as_without_the_scan(tmp_path: Path) -> None:
    steps = """\
- id: double
  uses: trakt.derive
  with: {input: orders, output: out, columns: {x: "note * 2"}}
"""
    scanned, exact = _both(tmp_path, b"id,note\n1,a\n2,b\n", steps)
    assert scanned == exact
    assert scanned["status"] == "failed"
    assert "double" in scanned["error"]


STEP = """
from pathlib import Path

import polars as pl

def run(ctx, input, output):
    with open(SEEN, "a") as seen:
        seen.write(type(input).__name__ + "\\n")
    return {"output": input.with_columns(pl.col("amount") * 2)}

run.frame = "polars"
"""


@pytest.mark.parametrize("lazy", [True, False])
def test_a_polars_step_gets_a_scan_only_when_it_says_it_takes_lazyframes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lazy: bool
) -> None:
    module = f"double_{'lazy' if lazy else 'eager'}"
    seen = tmp_path / "seen.txt"
    code = f"SEEN = {str(seen)!r}\n" + STEP + ("run.lazy = True\n" if lazy else "")
    (tmp_path / f"{module}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    steps = f"""\
- id: double
  uses: {module}
  with: {{input: orders, output: out}}
"""
    data = b"id,amount\n1,1.5\n2,\n3,-4\n"
    scanned, exact = _both(tmp_path, data, steps)
    assert scanned == exact
    assert scanned["bytes"] == b"id,amount\n1,3.0\n2,\n3,-8.0\n"
    # The scanned run first, then the exact one.
    assert seen.read_text().split() == ["LazyFrame" if lazy else "DataFrame", "DataFrame"]


_INTS = st.sampled_from(["0", "7", "-12", "007", "+3", "-0", "", "NA", "12345678901234567890"])
_FLOATS = st.sampled_from(["1.5", "-2.25", "1e5", ".5", "5.", "+1.5", "01.5", "NaN", "inf", ""])
_TEXTS = st.sampled_from(["a", "b c", '"x, y"', '"say ""hi"""', "null", "", "N/A", "é"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(st.tuples(_INTS, _FLOATS, _TEXTS), min_size=1, max_size=12),
    mode=st.sampled_from(MODES),
)
def test_any_small_file_reads_the_same_either_way(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str]],
    mode: tuple[str, int],
) -> None:
    data = ("id,amount,note\n" + "".join(",".join(r) + "\n" for r in rows)).encode()
    scanned, exact = _both(tmp_path_factory.mktemp("law"), data, mode=mode[0], chunk=mode[1])
    assert scanned == exact


JOIN_STEP = """
import polars as pl

def run(ctx, input, segments, output):
    joined = input.lazy().join(segments.lazy(), on="customer", how="inner")
    return {"output": joined.group_by("segment").agg(pl.col("amount").sum()).sort("segment")}

run.frame = "polars"
run.lazy = True
run.declared_inputs = ["input", "segments"]
run.declared_outputs = ["output"]
"""


def test_two_scanned_inputs_joined_into_a_parquet_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "join_step.py").write_text(JOIN_STEP)
    monkeypatch.syspath_prepend(str(tmp_path))
    results = {}
    for scan in (True, False):
        root = tmp_path / str(scan)
        (root / "input").mkdir(parents=True)
        orders = "".join(f"c{i % 7},{i}.5\n" for i in range(200))
        (root / "input" / "orders.csv").write_text("customer,amount\n" + orders)
        (root / "input" / "segments.csv").write_text(
            "customer,segment\n" + "".join(f"c{i},s{i % 3}\n" for i in range(6))
        )
        (root / "pipeline.yaml").write_text(
            "name: join\ninputs:\n  orders: {uri: orders.csv}\n  segments: {uri: segments.csv}\n"
            "steps:\n  - id: join\n    uses: join_step\n"
            "    with: {input: orders, segments: segments, output: totals}\n"
            "outputs:\n  datasets:\n    - {name: out, from: totals, path: out.parquet}\n"
        )
        runner = LocalRunner(root / "input", root / "output", scan_inputs=scan)
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            result = runner.run(load_pipeline_from_yaml(root / "pipeline.yaml"))
        assert result["status"] == "success"
        manifest = json.loads((root / "output" / "manifest.json").read_text())
        results[scan] = (
            (root / "output" / "out.parquet").read_bytes(),
            {n: (i["rows"], i["column_summaries"]) for n, i in manifest["inputs"].items()},
            [(s["rows_in"], s["rows_out"]) for s in manifest["steps"]],
            [o["rows"] for o in manifest["outputs"]],
        )
    assert results[True] == results[False]
    assert results[True][2] == [({"input": 200, "segments": 6}, {"output": 3})]
    assert "input 'orders': the scan read what the exact reader reads" in caplog.text
    assert "input 'segments': the scan read what the exact reader reads" in caplog.text


_ROW = st.lists(st.text(alphabet='ab1,"\r\n ', min_size=0, max_size=6), min_size=1, max_size=4).map(
    lambda fields: ",".join(fields)
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(_ROW, min_size=1, max_size=6), mode=st.sampled_from(MODES))
def test_any_quoting_reads_the_same_either_way(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str], mode: tuple[str, int]
) -> None:
    data = ("id,note,n\n" + "".join(row + "\n" for row in rows)).encode()
    scanned, exact = _both(tmp_path_factory.mktemp("quotes"), data, mode=mode[0], chunk=mode[1])
    assert scanned == exact


@pytest.mark.parametrize(("mode", "chunk"), [("batch", 50_000), ("stream", 2)])
def test_a_compressed_input_with_bad_lines_set_aside(
    tmp_path: Path, mode: str, chunk: int, caplog: pytest.LogCaptureFixture
) -> None:
    import gzip

    data = b"id,note,amount\n1,a,1.5\n2,b\n3,c,2\n4,d,2.5,extra\n5,e,3\n"
    steps = SELECT.replace("COLUMNS", '["amount", "id"]')
    results = []
    for scan in (True, False):
        root = tmp_path / str(scan)
        (root / "input").mkdir(parents=True)
        (root / "input" / "orders.csv.gz").write_bytes(gzip.compress(data, mtime=0))
        pipeline = _pipeline(root, steps, mode)
        text = pipeline.read_text().replace(
            "uri: orders.csv", "uri: orders.csv.gz\n    on_bad_lines: quarantine"
        )
        pipeline.write_text(text)
        runner = LocalRunner(
            root / "input", root / "output", scan_inputs=scan, stream_chunk_size=chunk
        )
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            result = runner.run(load_pipeline_from_yaml(pipeline))
        assert result["status"] == "success"
        manifest = json.loads((root / "output" / "manifest.json").read_text())
        entry = manifest["inputs"]["orders"]
        results.append(
            (
                (root / "output" / "out.csv").read_bytes(),
                (root / "output" / "_rejected" / "orders.csv").read_bytes(),
                entry["rows"],
                [(f["records"], f["kept"], f["set_aside"]) for f in entry["files"]],
                {k: v for k, v in entry["bad_lines"].items() if k != "path"},
                entry["column_summaries"],
            )
        )
    assert results[0] == results[1]
    assert results[0][0] == b"amount,id\n1.5,1\n2.0,3\n3.0,5\n"
    assert results[0][3] == [(5, 3, 2)]
    # The records set aside leave blank lines in the clean copy (line numbers stay the
    # file's), which polars reads as rows: the scan is given up, the exact reader reads.
    assert "input 'orders': read by a polars scan" in caplog.text
    assert "the run starts over, every input read exactly" in caplog.text


def test_a_file_of_several_blocks_streams_the_same(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # About 5.4 MiB: the stream scan reads it in blocks of whole lines; chunks span blocks.
    lines = [f'{i},"n {i}, x",{i % 97}.25' for i in range(220_000)]
    data = ("id,note,amount\n" + "\n".join(lines) + "\n").encode()
    assert len(data) > 2 * (2 << 20)
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, data, mode="stream", chunk=999)
    assert "the scan read what the exact reader reads" in caplog.text
    assert scanned == exact
    assert scanned["inputs"]["orders"]["rows"] == 220_000


FIRST_CHUNK = """
def run(ctx, input, output):
    def first():
        for chunk in input:
            yield chunk
            return
    return {"output": first()}

run.frame = "polars"
run.lazy = True
run.supports_stream = True
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


def test_a_stream_reader_that_stops_early_leaves_no_row_unverified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "first_chunk.py").write_text(FIRST_CHUNK)
    monkeypatch.syspath_prepend(str(tmp_path))
    steps = """\
- id: head
  uses: first_chunk
  with: {input: orders, output: out}
"""
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, _later("7", "8"), steps, mode="stream", chunk=10)
    assert "a scan was not verified" in caplog.text
    assert scanned == exact
    assert scanned["status"] == "success"
    assert scanned["bytes"].count(b"\n") == 11


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_delimiter_inside_a_number_is_counted(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``.`` as the delimiter, a quoted float holds one: it is counted, so a record short
    of a field elsewhere still shows (uncounted, the two would cancel out)."""
    rows = "".join(f"{i}.7.x\n" for i in range(2, 120_000))  # past the first block (1 MiB)
    data = f'id.amount.note\n1."2.5".a\n{rows}0.4\n5.6.c\n'.encode()
    steps = SELECT.replace("COLUMNS", '["note", "amount", "id"]')
    runs = []
    for scan in (True, False):
        root = tmp_path / str(scan)
        (root / "input").mkdir(parents=True)
        text = _pipeline(root, steps, mode).read_text()
        text = text.replace("uri: orders.csv\n", "uri: orders.csv\n    options: {sep: '.'}\n")
        (root / "input" / "orders.csv").write_bytes(data)
        (root / "pipeline.yaml").write_text(text)
        runner = LocalRunner(root / "input", root / "output", scan_inputs=scan)
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            runs.append(runner.run(load_pipeline_from_yaml(root / "pipeline.yaml"))["status"])
    assert runs == ["failed", "failed"]  # the short record, by the exact reader both times
    assert "the scan read what the exact reader reads" not in caplog.text


def _run_files(
    root: Path, pipeline: str, files: dict[str, str], scan: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One batch run of a whole ``pipeline`` text over input ``files`` (name -> text): the
    runner's result and the manifest."""
    (root / "input").mkdir(parents=True)
    for name, text in files.items():
        (root / "input" / name).write_text(text)
    (root / "pipeline.yaml").write_text(pipeline)
    runner = LocalRunner(root / "input", root / "output", scan_inputs=scan)
    result = runner.run(load_pipeline_from_yaml(root / "pipeline.yaml"))
    return result, json.loads((root / "output" / "manifest.json").read_text())


def _orders_and_segments(rows: int) -> dict[str, str]:
    """orders.csv (customers c0-c8, every 11th amount missing) and segments.csv (c0-c6)."""
    orders = "customer,amount,note\n" + "".join(
        f"c{i % 9},{'' if i % 11 == 0 else f'{i}.25'},n{i}\n" for i in range(rows)
    )
    segments = "customer,segment\n" + "".join(f"c{i},s{i % 3}\n" for i in range(7))
    return {"orders.csv": orders, "segments.csv": segments}


BUILTIN_JOIN = """\
name: join
inputs:
  orders: {uri: orders.csv}
  segments: {uri: segments.csv}
steps:
  - id: join
    uses: trakt.join
    with: {input: orders, right: segments, "on": customer, how: HOW, output: joined}
  - id: totals
    uses: trakt.aggregate
    with:
      input: joined
      output: totals
      by: BY
      aggregations:
        {n: count(), total: sum(amount), average: mean(amount), top: max(amount),
         segments: count(segment), first: min(segment)}
outputs:
  datasets:
    - {name: out, from: totals}
"""


@pytest.mark.parametrize(
    ("how", "by"), [("inner", "[segment]"), ("left", "[segment, customer]"), ("inner", "[]")]
)
def test_builtin_join_and_aggregate_extend_the_scans(
    tmp_path: Path,
    how: str,
    by: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """trakt.join joins a scanned input lazily and trakt.aggregate collects only the columns
    it aggregates: the bytes, counts and summaries of the exact reader's run, both files
    verified (a customer without a segment, a missing amount on the way), and the joined
    rows counted as aggregate collects them, not by running the query again."""

    def counted_again(data: object) -> int:
        raise AssertionError(f"a query ran again to count its rows: {data!r}")

    monkeypatch.setattr("trakt.runtime.scans.rows", counted_again)
    files = _orders_and_segments(3000)
    pipeline = BUILTIN_JOIN.replace("HOW", how).replace("BY", by)
    results = {}
    for scan in (True, False):
        root = tmp_path / str(scan)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            result, manifest = _run_files(root, pipeline, files, scan)
        assert result["status"] == "success", result
        if scan:
            assert "input 'orders': the scan read what the exact reader reads" in caplog.text
            assert "input 'segments': the scan read what the exact reader reads" in caplog.text
            assert "starts over" not in caplog.text
        results[scan] = (
            (root / "output" / "out.csv").read_bytes(),
            {n: (i["rows"], i["column_summaries"]) for n, i in manifest["inputs"].items()},
            [(s["rows_in"], s["rows_out"]) for s in manifest["steps"]],
            [(o["rows"], o["column_summaries"]) for o in manifest["outputs"]],
        )
    assert results[True] == results[False]
    joined = 3000 if how == "left" else sum(1 for i in range(3000) if i % 9 < 7)
    assert results[True][2][0] == ({"input": 3000, "right": 7}, {"output": joined})
    assert results[True][2][1][0] == {"input": joined}
    lines = results[True][0].decode().splitlines()
    header = by.strip("[]").replace(" ", "") + ",n,total,average,top,segments,first"
    assert lines[0] == header.lstrip(",")


def test_an_aggregate_of_a_scan_that_turns_out_wrong_starts_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A value the first block did not foresee (text in a number column) gives the scan up
    inside trakt.aggregate too: the run starts over and words it as the exact reader does."""
    data = b"key,amount\n" + b"".join(b"k%d,%d\n" % (i % 3, i) for i in range(120_000))
    data += b"k1,lots\n"
    steps = """\
- id: totals
  uses: trakt.aggregate
  with: {input: orders, output: out, by: key, aggregations: {n: count(), total: sum(amount)}}
"""
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, data, steps)
    assert "input 'orders': read by a polars scan" in caplog.text
    assert "the run starts over, every input read exactly" in caplog.text
    assert scanned == exact
    assert scanned["status"] == "failed"
    assert "totals" in scanned["error"]


CHAIN = """\
- id: double
  uses: trakt.derive
  with: {input: orders, output: twice, columns: {amount: "amount * 2"}}
- id: pick
  uses: trakt.select
  with: {input: twice, output: picked, columns: [id, amount]}
- id: name
  uses: trakt.rename
  with: {input: picked, output: named, mapping: {amount: total}}
- id: retype
  uses: trakt.cast
  with: {input: named, output: typed, columns: {id: float}}
- id: keep
  uses: trakt.filter
  with: {input: typed, output: KEPT, where: "id > 10"}
"""


@pytest.mark.parametrize("last", ["out", "kept"])
def test_a_chain_of_built_ins_reads_the_file_once(
    tmp_path: Path, last: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built-ins that keep every row (derive, select, rename, cast) give their input's row
    count to their output: no intermediate result is counted by a query of its own, and the
    counts are the exact reader's (with the filter last, or in the middle)."""

    def counted_again(data: object) -> int:
        raise AssertionError(f"a query ran again to count its rows: {data!r}")

    data = b"id,amount,note\n" + b"".join(b"%d,%d.5,n%d\n" % (i, i, i) for i in range(500))
    steps = CHAIN.replace("KEPT", last)
    if last == "kept":  # the filter in the middle: a row-keeping step after it
        steps += (
            "- id: tail\n  uses: trakt.derive\n"
            '  with: {input: kept, output: out, columns: {flag: "total > 100"}}\n'
        )
    exact = _run(tmp_path / "exact", data, steps, False)
    monkeypatch.setattr("trakt.runtime.scans.rows", counted_again)
    scanned = _run(tmp_path / "scan", data, steps, True)
    assert scanned == exact
    assert scanned["status"] == "success"
    counts = [(s[0], s[2], s[3]) for s in scanned["steps"]]
    assert counts[:5] == [
        ("double", {"input": 500}, {"output": 500}),
        ("pick", {"input": 500}, {"output": 500}),
        ("name", {"input": 500}, {"output": 500}),
        ("retype", {"input": 500}, {"output": 500}),
        ("keep", {"input": 500}, {"output": 489}),
    ]
    assert scanned["bytes"].splitlines()[1].startswith(b"11.0,23.0")


FILTERS = """\
- id: big
  uses: trakt.filter
  with: {input: orders, output: big, where: "amount > 10"}
- id: odd
  uses: trakt.filter
  with: {input: big, output: odd, where: "id % 2 = 1"}
- id: small
  uses: trakt.filter
  with: {input: odd, output: out, where: "amount < 400"}
"""


def test_the_counts_a_chain_leaves_run_as_one_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters (which drop rows) in a row: the output is sunk, and the results in between,
    which no query of the run counted, are counted at the end by one call of polars for all
    of them (it reads the file once for them all), not a query each; the counts are the
    exact reader's."""
    import polars as pl

    def counted_alone(data: object) -> int:
        raise AssertionError(f"a query ran alone to count its rows: {data!r}")

    calls: list[int] = []
    collect_all = pl.collect_all

    def counting(queries: list[Any], **options: Any) -> Any:
        calls.append(len(queries))
        return collect_all(queries, **options)

    data = b"id,amount\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(500))
    exact = _run(tmp_path / "exact", data, FILTERS, False)
    monkeypatch.setattr("trakt.runtime.scans.rows", counted_alone)
    monkeypatch.setattr(pl, "collect_all", counting)
    scanned = _run(tmp_path / "scan", data, FILTERS, True)
    assert scanned == exact
    assert [(s[0], s[2], s[3]) for s in scanned["steps"]] == [
        ("big", {"input": 500}, {"output": 490}),
        ("odd", {"input": 490}, {"output": 245}),
        ("small", {"input": 245}, {"output": 195}),
    ]
    assert 2 in calls  # big's and odd's outputs, together


SORT_DEDUPE = {
    "sort": """\
- id: order
  uses: trakt.sort
  with: {input: orders, output: out, by: [region, amount], descending: [false, true]}
""",
    "dedupe": """\
- id: once
  uses: trakt.dedupe
  with: {input: orders, output: out, subset: [region, amount]}
""",
    "dedupe_all": """\
- id: once
  uses: trakt.dedupe
  with: {input: orders, output: out}
""",
    "filter_then_sort": """\
- id: keep
  uses: trakt.filter
  with: {input: orders, output: kept, where: "id % 3 <> 0"}
- id: order
  uses: trakt.sort
  with: {input: kept, output: out, by: amount}
""",
}


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("steps", sorted(SORT_DEDUPE))
def test_sort_and_dedupe_of_a_scan_read_as_the_exact_reader(
    tmp_path: Path, steps: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """trakt.sort (stable, nulls last) and trakt.dedupe (the first of equal rows, nulls equal)
    over a scanned input: the exact reader's bytes, counts and summaries, with ties, missing
    keys and repeated rows; in batch, the file goes through polars once (the scan's query
    sorted or deduplicated, counted on its way into the output)."""
    rows = [f"{i},{('r' + str(i % 4)) if i % 7 else ''},{'' if i % 5 == 0 else i % 13}.5\n"
            for i in range(400)]  # fmt: skip
    data = ("id,region,amount\n" + "".join(rows) + "".join(rows[:50])).encode()
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        scanned, exact = _both(tmp_path, data, SORT_DEDUPE[steps], mode, chunk=64)
    assert scanned["status"] == "success", scanned["error"]
    assert scanned == exact
    if mode == "batch" or steps.startswith("dedupe"):  # a stream run's sort reads it whole
        assert "input 'orders': read by a polars scan" in caplog.text
        assert "input 'orders': the scan read what the exact reader reads" in caplog.text
    assert "starts over" not in caplog.text
    assert scanned["inputs"]["orders"]["rows"] == 450


@pytest.mark.parametrize("step", ["sort", "dedupe"])
def test_a_sort_or_dedupe_by_a_column_the_scan_lacks_fails_as_without_it(
    tmp_path: Path, step: str
) -> None:
    steps = SORT_DEDUPE[step].replace("region", "regoin")
    scanned, exact = _both(tmp_path, b"id,region,amount\n1,a,2.5\n2,b,3.5\n", steps)
    assert scanned == exact
    assert scanned["status"] == "failed"
    assert "regoin" in scanned["error"]


SQL_PIPELINE = """\
name: sql
inputs:
  orders: {uri: orders.csv}
  segments: {uri: segments.csv}
steps:
  - id: report
    uses: trakt.sql
    with:
      input: orders
      input_segments: segments
      output: out
      query: QUERY
outputs:
  datasets:
    - {name: out, from: out}
"""

SQL_QUERIES = {
    "group": "SELECT customer, COUNT(*) AS n, SUM(amount) AS total, MIN(note) AS first "
    "FROM orders GROUP BY customer ORDER BY customer",
    "join": "SELECT o.customer, s.segment, o.amount FROM orders o JOIN segments s "
    "ON o.customer = s.customer WHERE o.amount > 100 ORDER BY o.amount DESC, o.note",
    "bad": "SELECT custmer FROM orders",
}


@pytest.mark.parametrize("query", sorted(SQL_QUERIES))
def test_a_sql_query_extends_the_scans_of_its_inputs(
    tmp_path: Path, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    """trakt.sql over two scanned inputs (a group-by, a join): the query runs over the files
    as polars reads them, with the exact reader's bytes, counts and summaries; a query naming
    a column the input lacks fails as it does without the scans."""
    files = _orders_and_segments(600)
    pipeline = SQL_PIPELINE.replace("QUERY", repr(SQL_QUERIES[query]).replace("'", '"'))
    results = {}
    for scan in (True, False):
        root = tmp_path / str(scan)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            result, manifest = _run_files(root, pipeline, files, scan)
        if scan and query != "bad":
            assert "input 'orders': the scan read what the exact reader reads" in caplog.text
            assert "input 'segments': the scan read what the exact reader reads" in caplog.text
            assert "starts over" not in caplog.text
        out = root / "output" / "out.csv"
        results[scan] = (
            result["status"],
            str((manifest.get("error") or {}).get("message")).replace(str(root), "ROOT"),
            out.read_bytes() if out.exists() else None,
            {n: (i["rows"], i["column_summaries"]) for n, i in manifest["inputs"].items()},
            [(s["rows_in"], s["rows_out"]) for s in manifest["steps"]],
            [(o["rows"], o["column_summaries"]) for o in manifest["outputs"]],
        )
    assert results[True] == results[False]
    if query == "bad":
        assert results[True][0] == "failed"
        assert "custmer" in results[True][1]
    else:
        assert results[True][0] == "success"
        assert results[True][4][0][0] == {"input": 600, "input_segments": 7}


SLOW_STEP = """
import time
from pathlib import Path

import polars as pl

CALLS = Path(__file__).with_name("calls.txt")


def run(ctx, input, output):
    with CALLS.open("a") as calls:
        calls.write("run\\n")
    time.sleep(5)
    return {"output": input}


def stream(ctx, input, output):
    def chunks():
        with CALLS.open("a") as calls:
            calls.write("stream\\n")
        for chunk in input:
            time.sleep(5)
            yield chunk

    return {"output": chunks()}


run.frame = stream.frame = "polars"
run.lazy = stream.lazy = True
stream.supports_stream = True
"""


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_step_over_its_timeout_is_not_run_again_without_the_scan(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A StepTimeout would only recur: the run does not start over for it (the step stopped
    once, after ``timeout_s``, not twice)."""
    (tmp_path / f"slow_{mode}.py").write_text(SLOW_STEP)  # a module of its own per test
    monkeypatch.syspath_prepend(str(tmp_path))
    fn = "run" if mode == "batch" else "stream"
    steps = f"""\
- id: slow
  uses: slow_{mode}.{fn}
  timeout_s: 0.5
  with: {{input: orders, output: out}}
"""
    with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
        result = _run(tmp_path / "run", b"id,amount\n1,2.5\n2,3.5\n", steps, True, mode)
    assert result["status"] == "failed"
    assert "did not finish within timeout_s=0.5" in result["error"]
    assert "read by a polars scan" in caplog.text
    assert "starts over" not in caplog.text
    assert (tmp_path / "calls.txt").read_text().splitlines() == [fn]


@pytest.mark.parametrize("how", ["semi", "anti"])
def test_a_semi_or_anti_join_of_a_scan_reads_as_the_exact_reader(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = "customer,amount\n" + "".join(f"c{i % 5},{i}.5\n" for i in range(300))
    steps = f"""\
- id: join
  uses: trakt.join
  with: {{input: orders, right: vip, "on": customer, how: {how}, output: out}}
"""
    results = []
    vip = "customer,since\nc1,2020\nc3,2021\nc3,2022\n"
    for scan in (True, False):
        root = tmp_path / f"{scan}"
        root.mkdir()
        pipeline = _pipeline(root, steps, "batch").read_text()
        pipeline = pipeline.replace("inputs:\n", "inputs:\n  vip: {uri: vip.csv}\n")
        files = {"orders.csv": data, "vip.csv": vip}
        with caplog.at_level(logging.DEBUG, logger="trakt.scans"):
            result, manifest = _run_files(root, pipeline, files, scan)
        out = (root / "output" / "out.csv").read_bytes()
        results.append((result["status"], out, [s["rows_out"] for s in manifest["steps"]]))
    assert results[0] == results[1]
    assert results[0][2] == [{"output": 120 if how == "semi" else 180}]
    assert "input 'orders': the scan read what the exact reader reads" in caplog.text


def test_an_aggregate_by_a_column_the_scan_lacks_fails_as_without_it(tmp_path: Path) -> None:
    steps = """\
- id: totals
  uses: trakt.aggregate
  with: {input: orders, output: out, by: region, aggregations: {n: count()}}
"""
    scanned, exact = _both(tmp_path, b"id,amount\n1,2.5\n2,3.5\n", steps)
    assert scanned == exact
    assert scanned["status"] == "failed"
    assert "totals" in scanned["error"] and "region" in scanned["error"]


def test_twins_nobody_counted_are_counted_once_at_the_end(tmp_path: Path) -> None:
    """A filter's result, derived on (twins), then joined with a side input: no query of the
    run counts the twins, so the end of the run counts one of them, which counts both (the
    built-ins demo's shape)."""
    orders = "id,amount,customer\n" + "".join(f"{i},{i}.5,c{i % 4}\n" for i in range(200))
    pipeline = """\
name: twins
inputs:
  orders: {uri: orders.csv}
  customers: {uri: customers.csv}
steps:
  - id: keep
    uses: trakt.filter
    with: {input: orders, output: kept, where: "id >= 50"}
  - id: double
    uses: trakt.derive
    with: {input: kept, output: twice, columns: {amount: "amount * 2"}}
  - id: join
    uses: trakt.join
    with: {input: twice, right: customers, "on": customer, how: inner, output: out}
outputs:
  datasets:
    - {name: out, from: out}
"""
    results = {}
    files = {"orders.csv": orders, "customers.csv": "customer,name\nc1,one\nc2,two\n"}
    for scan in (True, False):
        result, manifest = _run_files(tmp_path / str(scan), pipeline, files, scan)
        assert result["status"] == "success", result.get("error")
        root = tmp_path / str(scan)
        results[scan] = (
            (root / "output" / "out.csv").read_bytes(),
            [(s["id"], s["rows_in"], s["rows_out"]) for s in manifest["steps"]],
        )
    assert results[True] == results[False]
    assert results[True][1] == [
        ("keep", {"input": 200}, {"output": 150}),
        ("double", {"input": 150}, {"output": 150}),
        ("join", {"input": 150, "right": 2}, {"output": 75}),
    ]
