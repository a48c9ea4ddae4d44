"""Every Python snippet of the product description and README runs verbatim.

The snippets are read from README.md (which quotes the description's snippets); where the
description itself is present (../shared/seed), the test also checks that README.md still
quotes each of its Python snippets word for word.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED

EXAMPLE = REPO / "examples" / "multi_file_demo"
FENCE = re.compile(r"```python\n(.*?)```", re.S)
YAML_FENCE = re.compile(r"```yaml\n(.*?)```", re.S)


def python_blocks(markdown: Path) -> list[str]:
    return FENCE.findall(markdown.read_text(encoding="utf-8"))


def _block(containing: str) -> str:
    (block,) = [b for b in python_blocks(REPO / "README.md") if containing in b]
    return block


def _code_lines(text: str) -> str:
    """ruff format adds blank lines to the example modules: compare the code itself."""
    return "\n".join(line for line in text.splitlines() if line.strip())


def _project(tmp_path: Path) -> Path:
    """A user's project laid out as the description's snippets expect, with the example data."""
    root = tmp_path / "project"
    (root / "pipelines" / "my_pipeline").mkdir(parents=True)
    shutil.copy(EXAMPLE / "pipeline.yaml", root / "pipelines" / "my_pipeline" / "pipeline.yaml")
    shutil.copytree(EXAMPLE / "steps", root / "steps")
    shutil.copytree(EXAMPLE / "input", root / "data" / "input")
    return root


def _run_script(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    (root / "snippet.py").write_text(code)
    return subprocess.run(
        [sys.executable, "snippet.py"], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_yaml_api_snippet_runs_verbatim(tmp_path: Path) -> None:
    root = _project(tmp_path)
    proc = _run_script(root, _block("load_pipeline_from_yaml("))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["success", "data/output/manifest.json"]
    assert (
        (root / "data" / "output" / "final.csv")
        .read_text()
        .startswith("id,customer,country,amount,note\n1,Ada,DE,21.0,\n")
    )


@pytest.mark.slow
def test_workflow_snippet_runs_verbatim(tmp_path: Path) -> None:
    root = _project(tmp_path)
    code = _block('workflow("python_workflow")')
    proc = _run_script(root, code + '\nprint(result["status"])\nprint(result["manifest_path"])\n')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["success", "data/output/manifest.json"]
    assert (root / "data" / "output" / "final.csv").read_text() == (
        "id,customer,country,amount,note\n"
        "1,Ada,DE,21.0,\n"
        '2,Grace,US,40.0,"late, paid"\n'
        '3,Linus,FI,14.5,"said ""ok"""\n'
    )


def test_example_step_module_is_the_description_snippet() -> None:
    step = (EXAMPLE / "steps" / "normalize" / "double_amount.py").read_text()
    snippet = _block("def run(ctx, input, output):\n    frame = input.copy()")
    assert _code_lines(snippet) in _code_lines(step)


@pytest.mark.slow
def test_stream_example_runs_and_uses_the_description_step(tmp_path: Path) -> None:
    stream_demo = REPO / "examples" / "stream_demo"
    step = (stream_demo / "steps" / "stream_double.py").read_text()
    snippet = _block("def _iter_chunks():")
    assert _code_lines(snippet) in _code_lines(step)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(stream_demo)}
    proc = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", "--pipeline-file",
         str(stream_demo / "pipeline.yaml"), "--input-dir", str(stream_demo / "input"),
         "--output-dir", str(out), "--stream-chunk-size", "2"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "totals.csv").read_text() == (
        "country,orders,amount\nDE,1,21.0\nFI,1,14.5\nGB,1,6.0\nUS,4,231.2\n"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    totals = manifest["steps"][1]
    assert totals["chunks_in"] == {"input": 4} and totals["chunks_out"] == {"output": 1}
    assert totals["events"][0]["kind"] == "summary"


def test_readme_step_example_with_parameters_works(tmp_path: Path) -> None:
    import pandas as pd

    namespace: dict[str, object] = {}
    exec(_block("threshold=100"), namespace)
    run = namespace["run"]

    class Ctx:
        def __init__(self) -> None:
            self.events: list[tuple[str, str]] = []

        def emit_event(self, kind: str, message: str, **attrs: object) -> None:
            self.events.append((kind, message))

    frame = pd.DataFrame({"id": [1, 2], "amount": [50, 150]})
    ctx = Ctx()
    out = run(ctx, frame, "big", threshold=100)  # type: ignore[operator]
    assert out["output"]["id"].tolist() == [2]
    assert ctx.events == [("warning", "dropped small orders")]


@pytest.mark.skipif(
    not (SHARED / "seed").is_dir(), reason="../shared/seed (the product description) is absent"
)
def test_readme_quotes_every_description_python_snippet() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    seeds = sorted((SHARED / "seed").glob("*.txt"))
    blocks = [b for seed in seeds for b in python_blocks(seed)]
    blocks += [b for seed in seeds for b in YAML_FENCE.findall(seed.read_text(encoding="utf-8"))]
    assert len(blocks) >= 6
    for block in blocks:
        assert block in readme, block[:80]


def test_readme_yaml_examples_use_only_real_keys() -> None:
    """Every YAML example in the README passes the structural check (fragments are placed in
    a minimal pipeline), so the documented keys are the keys Trakt accepts."""
    import yaml

    from trakt.model.loader import parse_spec
    from trakt.model.model import SourceInfo

    blocks = YAML_FENCE.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    for block in blocks:
        data = yaml.safe_load(block)
        document = {"name": "readme", **data}
        parsed = parse_spec(document, SourceInfo())
        assert parsed.problems == [], (block, parsed.problems)
