"""The AWS Lambda handler, invoked with test events end to end against moto's S3 server:
the pipeline file, the inputs and the outputs on S3; failures come back as a status."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STREAM_DOUBLE, Project
from tests.s3server import S3
from trakt.runtime.aws_lambda import handler

pytestmark = pytest.mark.s3

PIPELINE = """\
name: orders
inputs:
  orders: {{uri: 'day-*.csv'}}
steps:
  - {{id: double, uses: {uses}, with: {{input: orders, output: doubled}}}}
outputs:
  datasets: [{{name: final, from: doubled}}]
"""


@pytest.fixture
def steps(project: Project) -> Any:
    """A deployment package's step module, importable as in a Lambda's /var/task."""
    uses = project.step("double", STREAM_DOUBLE)
    sys.path.insert(0, str(project.root))
    yield uses
    sys.path.remove(str(project.root))


def _event(s3: S3, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline_file": s3.uri("pipelines/orders.yaml"),
        "input_dir": s3.uri("in"),
        "output_dir": s3.uri("out"),
        "run_id": "lambda-1",
        **extra,
    }


def test_a_test_event_runs_the_pipeline_from_s3_to_s3_in_stream_mode(s3: S3, steps: str) -> None:
    s3.put("pipelines/orders.yaml", PIPELINE.format(uses=steps).encode())
    s3.put("in/day-1.csv", b"id,amount\n1,1.5\n2,2\n")
    s3.put("in/day-2.csv", b"id,amount\n3,-4\n")
    s3.put("late/x.csv", b"id,amount\n9,10\n")
    result = handler(_event(s3, stream_chunk_size=1), None)
    assert result["status"] == "success", result["error"]
    assert result["run_id"] == "lambda-1"
    assert result["outputs"] == {"final": s3.uri("out/final.csv")}
    assert s3.get("out/final.csv") == b"id,amount\n1,3.0\n2,4.0\n3,-8.0\n"
    manifest = json.loads(s3.get("out/manifest.json"))
    assert manifest["mode"] == "stream" and manifest["status"] == "success"
    assert manifest["pipeline"]["file"] == s3.uri("pipelines/orders.yaml")
    json.dumps(result)  # Lambda returns it as JSON

    # "input" overrides an input's uri, as --input NAME=PATH does
    result = handler(_event(s3, run_id="lambda-2", input={"orders": s3.uri("late/*.csv")}), None)
    assert result["status"] == "success", result["error"]
    assert s3.get("out/final.csv") == b"id,amount\n9,20\n"


def test_a_failed_run_is_a_status_not_an_exception(s3: S3, steps: str) -> None:
    s3.put("pipelines/orders.yaml", PIPELINE.format(uses=steps).encode())
    s3.put("in/day-1.csv", b"id,amount\n1,2\n3,4,5\n")  # a malformed record
    result = handler(_event(s3), None)
    assert result["status"] == "failed" and result["exit_code"] == 1
    assert s3.uri("in/day-1.csv") in result["error"]["message"]
    assert [k for k in s3.listing() if k.startswith("out/")] == ["out/manifest.json"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"input_dir": "in", "output_dir": "out"}, r"the event lacks 'pipeline_file'"),
        ("run it", r"the event must be a JSON object"),
        (
            {"pipeline_file": "p.yaml", "input_dir": ".", "output_dir": "o", "inputs": {}},
            r"the event has unknown keys \['inputs'\]",
        ),
        (
            {"pipeline_file": "p.yaml", "input_dir": ".", "output_dir": "o", "mode": "fast"},
            r'"mode" is "stream" or "batch", found \'fast\'',
        ),
    ],
)
def test_a_bad_event_returns_a_failed_result_naming_the_key(event: Any, message: str) -> None:
    result = handler(event, None)
    assert result["status"] == "invalid" and result["exit_code"] == 2
    assert result["error"]["type"] == "UsageError"
    assert re.search(message, result["error"]["message"]), result["error"]["message"]


def test_an_invalid_pipeline_on_s3_is_named_by_its_uri(s3: S3, tmp_path: Path) -> None:
    s3.put("pipelines/orders.yaml", b"name: orders\ninputs: {}\nsteps:\n  - {id: x}\n")
    result = handler(_event(s3), None)
    assert result["status"] == "invalid"
    problems = result["error"]["problems"]
    assert problems and all(p["file"] == s3.uri("pipelines/orders.yaml") for p in problems)
    assert str(tmp_path) not in json.dumps(result)
    assert json.loads(s3.get("out/manifest.json"))["status"] == "invalid"


def test_a_missing_pipeline_file_on_s3_is_reported(s3: S3) -> None:
    result = handler(_event(s3), None)
    assert result["status"] == "invalid"
    assert result["error"]["message"].startswith(
        f"cannot read the pipeline file {s3.uri('pipelines/orders.yaml')}:"
    )
