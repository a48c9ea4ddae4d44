"""1% malformed rows with ``on_bad_lines: quarantine`` (and ``skip``), batch and stream.

A 2,000-record file gets 20 malformed lines (extra fields, missing fields, and an unterminated
quote as the very last line); some good records span two lines (a quoted line break), so line
numbers and record numbers differ. The run must reject exactly those lines, with their line
numbers and reasons, and the good rows must come out byte-identical to a run over the same file
with the bad lines removed.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STREAM_DOUBLE
from tests.reliability.harness import Env, published, temp_files
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

GOOD_ROWS = 1_980
BAD_ROWS = 20
CHUNK = 64


@dataclass(frozen=True)
class Generated:
    full: bytes  # the file with its malformed lines
    clean: bytes  # the same file without them
    rejected: list[list[str]]  # expected quarantine rows: file, line, reason, raw


def _good(i: int, rng: random.Random) -> str:
    amount = f"{rng.randint(-999, 999)}.{rng.randint(0, 99):02d}"
    note = rng.choice(
        [
            f"plain {i}",
            "",
            f'"with, comma {i}"',
            f'"said ""hi"" {i}"',
            f'"two\nlines {i}"',  # a record spanning two lines
            "café",
        ]
    )
    return f"{i},{amount},{note}"


_BAD = [
    ("{i},1.5,x,EXTRA", "expected 3 fields, found 4"),
    ("{i},1.5,x,y,z", "expected 3 fields, found 5"),
    ("{i},1.5", "expected 3 fields, found 2"),
    ("{i}", "expected 3 fields, found 1"),
    ('{i},"1,5",x,y', "expected 3 fields, found 4"),
]
_UNTERMINATED = (
    '{i},2.5,"never closed',
    "unterminated quote: the quoted field runs to the end of the file",
)


def generate(newline: str, seed: int = 1) -> Generated:
    rng = random.Random(seed)
    header = "id,amount,note"
    # Positions (in good-record order) before which a bad line goes; the last bad line is the
    # unterminated quote at the very end of the file.
    before = sorted(rng.sample(range(1, GOOD_ROWS), BAD_ROWS - 1))
    full, clean = [header], [header]
    rejected: list[list[str]] = []
    line = 2  # the next line number (1-based; the header is line 1)
    bad_iter = iter(before)
    next_bad = next(bad_iter, None)
    for i in range(GOOD_ROWS):
        if i == next_bad:
            template, reason = rng.choice(_BAD)
            text = template.format(i=10_000 + i)
            full.append(text)
            rejected.append(["records.csv", str(line), reason, text])
            line += 1
            next_bad = next(bad_iter, None)
        record = _good(i, rng)
        full.append(record)
        clean.append(record)
        line += record.count("\n") + 1
    template, reason = _UNTERMINATED
    text = template.format(i=99_999)
    full.append(text)
    rejected.append(["records.csv", str(line), reason, text])

    def encode(records: list[str]) -> bytes:
        # Line breaks inside quoted values follow the file's line ending too.
        return "".join(r.replace("\n", newline) + newline for r in records).encode()

    for row in rejected:
        row[3] = row[3].replace("\n", newline)
    return Generated(encode(full), encode(clean), rejected)


def _run(env: Env, mode: str, policy: str | None, name: str) -> dict[str, Any]:
    stream = mode == "stream"
    pipeline = env.pipeline(STREAM_DOUBLE, stream=stream, on_bad_lines=policy, name=name)
    runner = LocalRunner(env.input_dir, env.out, stream_chunk_size=CHUNK)
    result = runner.run(load_pipeline_from_yaml(pipeline), run_id=f"{mode}-{policy}")
    assert result["status"] == "success", result["error"]
    return result


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_quarantine_one_percent_malformed(tmp_path: Path, mode: str, newline: str) -> None:
    data = generate(newline)
    assert len(data.rejected) == BAD_ROWS
    assert f'"two{newline}lines'.encode() in data.clean  # line numbers != record numbers
    env = Env(tmp_path)

    # Reference: the same file with the bad lines removed, default policy (error).
    env.records.write_bytes(data.clean)
    _run(env, mode, None, "clean.yaml")
    reference = (env.out / "final.csv").read_bytes()
    assert reference.count(b"\n") >= GOOD_ROWS + 1

    env.records.write_bytes(data.full)
    _run(env, mode, "quarantine", "quarantine.yaml")
    files = published(env.out)
    assert set(files) == {"final.csv", "_rejected/records.csv"}
    assert files["final.csv"] == reference
    rows = list(csv.reader(io.StringIO(files["_rejected/records.csv"].decode(), newline="")))
    assert rows[0] == ["file", "line", "reason", "raw"]
    assert rows[1:] == data.rejected
    manifest = env.manifest()
    assert manifest["inputs"]["records"]["bad_lines"] == {
        "policy": "quarantine",
        "count": BAD_ROWS,
        "path": str(env.out / "_rejected" / "records.csv"),
    }
    assert manifest["inputs"]["records"]["rows"] == GOOD_ROWS
    assert temp_files(env.out) == []
    assert env.records.read_bytes() == data.full  # the input is never rewritten

    # skip: the same good rows, counted, nothing written aside (the old quarantine file of the
    # previous run stays as it was: skip does not publish one).
    quarantine_file = files["_rejected/records.csv"]
    _run(env, mode, "skip", "skip.yaml")
    assert published(env.out) == {"final.csv": reference, "_rejected/records.csv": quarantine_file}
    assert env.manifest()["inputs"]["records"]["bad_lines"] == {"policy": "skip", "count": 20}
