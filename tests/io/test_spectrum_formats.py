"""The csv-spectrum corpus through every output format: each CSV is read by a pipeline (every
column as text), written as csv, csv.gz, tsv, jsonl and parquet, read back by a second pipeline
in the same mode, and the records equal the corpus's JSON twin (batch, and stream in chunks of
one row).

The corpus and its known defects are those of ``test_csv_spectrum.py`` (skipped without it).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, forget_package
from tests.io.test_csv_spectrum import (
    CSV_NAMES,
    LOCATION,
    PHONE,
    csv_column_text,
    csv_path,
    expected_records,
    without,
)
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

# Every column as text, and no value turned into a missing one: the JSON holds strings only.
TEXT = {"dtype": "str", "keep_default_na": False}


@dataclass(frozen=True)
class Target:
    """An output format: the output's YAML keys, its file, and the options to read it back."""

    keys: dict[str, Any]
    file: str
    read_options: dict[str, Any]


TARGETS = {
    "csv": Target({}, "out.csv", TEXT),
    "csv.gz": Target({"path": "out.csv.gz"}, "out.csv.gz", TEXT),
    "tsv": Target({"format": "tsv"}, "out.tsv", TEXT),
    "jsonl": Target({"format": "jsonl"}, "out.jsonl", {}),
    "parquet": Target({"format": "parquet"}, "out.parquet", {}),
}
MODES = {"batch": None, "stream": 1}

# Passes its input on (a one-chunk iterator in batch mode), pickling the records it saw.
CAPTURE = """
import pickle

def run(ctx, input, output, dump):
    def chunks():
        records = []
        for chunk in input:
            records.extend(chunk.to_dict(orient="records"))
            yield chunk
        with open(dump, "wb") as f:
            pickle.dump(records, f)
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

PIPELINE = """
name: spectrum
execution:
  mode: {mode}
inputs:
  records:
    uri: {uri}
    options: {options}
steps:
  - id: capture
    uses: {uses}
    with:
      input: records
      output: seen
      dump: {dump}
outputs:
  datasets:
    - name: out
      from: seen
{keys}"""


class Corpus:
    """One project for the module; ``through`` runs the write and the read-back pipelines."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.uses = project.step("capture", CAPTURE)
        self.count = 0

    def run(self, uri: Path, options: dict[str, Any], mode: str, keys: dict[str, Any]) -> Path:
        self.count += 1
        out = self.project.root / f"run{self.count}"
        dump = self.project.root / f"run{self.count}.pickle"
        yaml_text = PIPELINE.format(
            mode=mode,
            uri=json.dumps(str(uri)),
            options=json.dumps(options),
            uses=self.uses,
            dump=json.dumps(str(dump)),
            keys="".join(f"      {k}: {json.dumps(v)}\n" for k, v in keys.items()),
        )
        pipeline = load_pipeline_from_yaml(
            self.project.pipeline(yaml_text, f"run{self.count}.yaml")
        )
        runner = LocalRunner(
            input_dir=self.project.input_dir, output_dir=out, stream_chunk_size=MODES[mode]
        )
        result = runner.run(pipeline, run_id="spectrum")
        assert result["status"] == "success", result.get("error")
        return out

    def through(self, name: str, target: Target, mode: str) -> list[dict[str, Any]]:
        """The records a second pipeline reads from ``name`` written as ``target``."""
        out = self.run(csv_path(name), TEXT, mode, target.keys)
        written = out / target.file
        assert written.exists(), sorted(p.name for p in out.iterdir())
        back = self.run(written, target.read_options, mode, {})
        records: list[dict[str, Any]] = pickle.loads(
            (back.parent / f"{back.name}.pickle").read_bytes()
        )
        return records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    project = Project(tmp_path_factory.mktemp("spectrum"))
    yield Corpus(project)
    forget_package(project.package)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", CSV_NAMES)
def test_records_survive_the_format(corpus: Corpus, name: str, target: str, mode: str) -> None:
    got = corpus.through(name, TARGETS[target], mode)
    expected = expected_records(name)
    if name == LOCATION:
        # Known corpus defect (see test_csv_spectrum): the phone is the CSV's own text.
        assert [row[PHONE] for row in got] == csv_column_text(name, PHONE)
        got, expected = without(got, PHONE), without(expected, PHONE)
    assert got == expected
