"""A wide CSV or JSON Lines file streams in blocks of many lines (``trakt.io.base.lines_block``):
a block's checks cost the same for each column, so blocks of a fixed byte size made a file
twice as wide cost four times as much (``benchmarks/wide_columns.py``: 20.8x the time for 10x
the columns)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from trakt import load_pipeline_from_yaml
from trakt.io import csv as csv_io
from trakt.io import csv_scan
from trakt.io.csv import iter_tables, read_table
from trakt.io.registry import ReadRequest
from trakt.runtime.local_runner import LocalRunner

COLUMNS = 1500
ROWS = 600


def _wide(path: Path) -> Path:
    """ints, floats and text (some quoted, holding the delimiter) in turn: about 6 MB."""
    kinds = ("{r}", "{r}.25", '"t, {r}"')
    header = ",".join(f"c{i}" for i in range(COLUMNS))
    lines = [header] + [
        ",".join(kinds[i % 3].format(r=r * 7 + i) for i in range(COLUMNS)) for r in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_wide_file_streams_in_one_block_and_reads_as_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = ReadRequest(_wide(tmp_path / "wide.csv"), {})
    assert request.path.stat().st_size > 5 << 20  # several of the old 1 MiB blocks
    blocks: list[int] = []
    fixed = csv_io._fixed

    def counted(*args: Any) -> pa.RecordBatch:
        blocks.append(args[1].num_rows)
        return fixed(*args)

    monkeypatch.setattr(csv_io, "_fixed", counted)
    chunks = list(iter_tables(request, 250))
    assert blocks == [ROWS]  # 1 MiB blocks: 7 of about 90 lines each
    assert [c.num_rows for c in chunks] == [250, 250, 100]
    whole = read_table(request)
    assert pa.concat_tables(chunks).equals(whole)
    assert whole.schema.field("c1").type == pa.float64()
    assert whole.column("c2")[0].as_py() == "t, 2"


def test_a_wide_file_scanned_in_stream_is_cut_in_blocks_of_many_lines(tmp_path: Path) -> None:
    path = _wide(tmp_path / "wide.csv")
    sizes = [len(block) for block in csv_scan._line_blocks(path)]
    assert len(sizes) == 1  # 1.5 MiB blocks: 5
    assert sum(sizes) == path.stat().st_size


STEP = """\
import polars as pl

def run(ctx, input, output):
    return {"output": (chunk.with_columns(pl.col("c1") * 2) for chunk in input)}

run.frame = "polars"
run.lazy = True
run.supports_stream = True
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


@pytest.mark.parametrize("scan", [True, False])
def test_a_wide_file_streamed_writes_what_batch_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan: bool
) -> None:
    (tmp_path / "wide_step.py").write_text(STEP)
    monkeypatch.syspath_prepend(str(tmp_path))
    written = {}
    for mode in ("batch", "stream"):
        root = tmp_path / mode
        (root / "input").mkdir(parents=True)
        _wide(root / "input" / "wide.csv")
        (root / "pipeline.yaml").write_text(
            "name: wide\ninputs:\n  records: {uri: wide.csv}\n"
            "steps:\n  - id: double\n    uses: wide_step\n"
            "    with: {input: records, output: doubled}\n"
            "outputs:\n  datasets:\n    - {name: out, from: doubled}\n"
            f"execution:\n  mode: {mode}\n"
        )
        runner = LocalRunner(
            root / "input", root / "output", scan_inputs=scan, stream_chunk_size=250
        )
        result = runner.run(load_pipeline_from_yaml(root / "pipeline.yaml"))
        assert result["status"] == "success", result
        manifest = json.loads((root / "output" / "manifest.json").read_text())
        assert manifest["outputs"][0]["rows"] == ROWS
        written[mode] = (root / "output" / "out.csv").read_bytes()
    assert written["stream"] == written["batch"]
    first = written["batch"].split(b"\n")[1].split(b",")
    assert first[:4] == [b"0", b"2.5", b'"t', b' 2"']  # c1 doubled; text quoted as read


def _wide_jsonl(path: Path, rows: int = 700, columns: int = 800) -> Path:
    """About 8.7 MB: 1 MiB holds about 85 of its lines."""
    with path.open("w") as out:
        for r in range(rows):
            values = (f'"k{i}": {r * i}' if i % 2 else f'"k{i}": "v{r}"' for i in range(columns))
            out.write("{" + ", ".join(values) + "}\n")
    return path


def test_a_wide_jsonl_is_read_in_blocks_of_many_lines(tmp_path: Path) -> None:
    from trakt.io import jsonl_io

    path = _wide_jsonl(tmp_path / "wide.jsonl")
    with path.open("rb") as handle:
        blocks = list(jsonl_io._blocks(handle))
    first_lines = [line for line, _ in blocks]
    sizes = [len(data) for _, data in blocks]
    assert sizes[0] <= jsonl_io.BLOCK  # the first block fixes the columns: about 1 MiB
    assert len(blocks) == 2  # then the rest at once (1 MiB blocks: 9)
    assert first_lines[1] == blocks[0][1].count(b"\n") + 1
    assert sum(sizes) == path.stat().st_size
    request = ReadRequest(path, {})
    streamed = pa.concat_tables(jsonl_io.iter_tables(request, 100))
    assert streamed.equals(jsonl_io.read_table(request))
