"""``trakt run --dry-run`` and ``trakt validate --input-dir`` with store locations (fsspec's
``memory://``): inputs found and sized, headers checked, output URIs shown as a run names
them; nothing read or written."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trakt.cli import main

fsspec = pytest.importorskip("fsspec")

CONTRACT = "    schema:\n      columns:\n        id: {type: int}\n        amount: {type: int}\n"


def _pipeline(tmp_path: Path, uri: str, contract: str = "", extra: str = "") -> str:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f"name: p\n{extra}inputs:\n  src:\n    uri: '{uri}'\n{contract}"
        "outputs:\n  datasets: [{name: o, from: src}, {name: final, from: src, path: final.csv}]\n"
    )
    return str(path)


def _stored(memory: Any) -> dict[str, bytes]:
    return {key: memory.cat(key) for key in memory.find("/")}


def test_a_dry_run_finds_and_sizes_store_inputs_and_names_store_outputs(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    # Not CSV at all: a dry run that read it would fail.
    memory.pipe("/bucket/in/day-1.csv", b"\x00\xff not a csv \x00" * 100)
    memory.pipe("/bucket/in/day-2.csv", b"id\n1\n")
    memory.pipe("/bucket/in/other.csv", b"id\n9\n")
    before = _stored(memory)
    path = _pipeline(tmp_path, "day-*.csv", extra="storage_options: {secret: hunter22}\n")
    code = main(
        [
            "run",
            "--pipeline-file",
            path,
            "--input-dir",
            "memory://bucket/in",
            "--output-dir",
            "memory://user:pa55word@bucket/out/",
            "--dry-run",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "  src: csv, 2 files, 1.4 KiB: memory://bucket/in/day-1.csv (1.4 KiB), "
        "memory://bucket/in/day-2.csv (5 B)"
    ) in out.splitlines()
    assert "outputs, to memory://user:***@bucket/out/:" in out
    assert "  o (csv) from src -> memory://user:***@bucket/out/o.csv" in out
    assert "  final (csv) from src -> memory://user:***@bucket/out/final.csv" in out
    assert "pa55word" not in out + err and "hunter22" not in out + err
    assert _stored(memory) == before  # nothing written (no manifest, no lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]


def test_a_dry_run_names_a_missing_store_input_by_its_uri(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _pipeline(tmp_path, "r.csv")
    code = main(["run", "--pipeline-file", path, "--input-dir", "memory://bucket/in", "--dry-run"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "trakt: input 'src': file not found: memory://bucket/in/r.csv" in err.splitlines()
    assert memory.find("/") == [] and not (tmp_path / "output").exists()


def test_a_local_dry_run_given_as_a_file_uri_prints_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.csv").write_text("id\n1\n")
    path = _pipeline(tmp_path, "r.csv")
    out_dir = tmp_path / "out"
    args = ["--input-dir", f"file://{tmp_path}/in", "--output-dir", f"file://{out_dir}"]
    code = main(["run", "--pipeline-file", path, *args, "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "  src: csv, 1 file, 5 B: r.csv (5 B)" in out
    assert f"  final (csv) from src -> {out_dir}/final.csv" in out
    assert not out_dir.exists()


def _validate(path: str, input_dir: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", path, "--input-dir", input_dir])
    out, err = capsys.readouterr()
    return code, out + err


def test_validate_checks_the_header_of_a_store_file(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    memory.pipe("/bucket/in/good.csv", b"id,amount,note\n1,10,x\n")
    memory.pipe("/bucket/in/bad.csv", b"id,amnt\n1,10\n")
    good = _pipeline(tmp_path, "good.csv", CONTRACT)
    code, text = _validate(good, "memory://bucket/in", capsys)
    assert code == 0, text
    assert "input 'src': 1 file(s) found" in text and "pipeline 'p' is valid" in text
    bad = _pipeline(tmp_path, "bad.csv", CONTRACT)
    code, text = _validate(bad, "memory://bucket/in/", capsys)
    assert code == 2
    assert (
        "trakt: input 'src': memory://bucket/in/bad.csv lacks required column amount (its "
        "columns: id, amnt); fix the file, or mark the column required: false"
    ) in text.splitlines()
    assert memory.find("/") == ["/bucket/in/bad.csv", "/bucket/in/good.csv"]


def test_validate_names_a_missing_store_file_by_its_uri(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _validate(_pipeline(tmp_path, "r.csv", CONTRACT), "memory://bucket/in", capsys)
    assert code == 2
    assert "trakt: input 'src': file not found: memory://bucket/in/r.csv" in text.splitlines()


def test_validate_reads_only_the_start_of_a_large_store_csv(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = b"".join(b"%d,%d\n" % (i, i * 10) for i in range(300_000))  # ~3.5 MiB
    # A quote that never closes, far past the header: reading the whole file would fail.
    memory.pipe("/bucket/in/big.csv", b"id,amount\n" + rows + b'1,"unclosed\n')
    code, text = _validate(_pipeline(tmp_path, "big.csv", CONTRACT), "memory://bucket/in", capsys)
    assert code == 0, text
    memory.pipe("/bucket/in/big.csv", b"id,total\n" + rows)
    code, text = _validate(_pipeline(tmp_path, "big.csv", CONTRACT), "memory://bucket/in", capsys)
    assert code == 2
    assert "memory://bucket/in/big.csv lacks required column amount" in text


def test_validate_checks_compressed_jsonl_and_parquet_store_files(
    tmp_path: Path, memory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = b"".join(b'{"id": %d, "amount": %d}\n' % (i, i) for i in range(100_000))
    memory.pipe("/bucket/in/a.jsonl.gz", gzip.compress(lines, mtime=0))
    memory.pipe("/bucket/in/b.jsonl.gz", gzip.compress(b'{"id": 1, "amt": 2}\n', mtime=0))
    path = _pipeline(tmp_path, "*.jsonl.gz", CONTRACT)
    code, text = _validate(path, "memory://bucket/in", capsys)
    assert code == 2
    assert "input 'src': 2 file(s) found" in text
    assert "a.jsonl.gz lacks" not in text
    assert "bucket/in/b.jsonl.gz lacks required column amount (its columns: id, amt)" in text

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(50_000)), "amt": [0] * 50_000}), buffer)
    memory.pipe("/bucket/pq/data.parquet", buffer.getvalue())
    code, text = _validate(
        _pipeline(tmp_path, "data.parquet", CONTRACT), "memory://bucket/pq", capsys
    )
    assert code == 2
    assert (
        "memory://bucket/pq/data.parquet lacks required column amount (its columns: id, amt)"
        in (text)
    )
    memory.pipe("/bucket/pq/data.parquet", b"id,amount\n1,2\n")
    code, text = _validate(
        _pipeline(tmp_path, "data.parquet", CONTRACT), "memory://bucket/pq", capsys
    )
    assert code == 2
    assert "cannot read the header of memory://bucket/pq/data.parquet" in text
