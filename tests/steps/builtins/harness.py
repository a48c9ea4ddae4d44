"""Running a pipeline of built-in steps through ``LocalRunner`` in batch and stream mode, and
comparing what it made with a pandas reference computed by the test."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

MODES = ("batch", "stream")


def pipeline_text(steps: str, inputs: dict[str, str], outputs: tuple[str, ...], mode: str) -> str:
    """A pipeline file: CSV inputs ``<name>.csv``, ``steps`` (YAML text), outputs by name."""
    ins = "".join(f"  {name}:\n    uri: {name}.csv\n" for name in inputs)
    outs = "".join(f"    - name: {name}\n      from: {name}\n" for name in outputs)
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ")
    return (
        f"name: builtins\ninputs:\n{ins}steps:\n{body}\n"
        f"outputs:\n  datasets:\n{outs}execution:\n  mode: {mode}\n"
    )


def run(
    tmp_path: Path,
    steps: str,
    inputs: dict[str, str],
    outputs: tuple[str, ...] = ("out",),
    mode: str = "batch",
    chunk: int = 2,
) -> dict[str, Any]:
    """One run: the manifest's result with ``artifacts`` (inputs and outputs kept as pandas)
    and ``files`` (each output's bytes)."""
    root = tmp_path / mode
    (root / "input").mkdir(parents=True, exist_ok=True)
    for name, text in inputs.items():
        (root / "input" / f"{name}.csv").write_text(textwrap.dedent(text).lstrip("\n"))
    path = root / "pipeline.yaml"
    path.write_text(pipeline_text(steps, inputs, outputs, mode))
    runner = LocalRunner(
        input_dir=root / "input", output_dir=root / "output", stream_chunk_size=chunk
    )
    result = runner.run(load_pipeline_from_yaml(path), keep=[*inputs, *outputs])
    if result["status"] == "success":
        files = {name: (root / "output" / f"{name}.csv").read_bytes() for name in outputs}
        result["files"] = files
    return result


def run_both(
    tmp_path: Path,
    steps: str,
    inputs: dict[str, str],
    outputs: tuple[str, ...] = ("out",),
    chunk: int = 2,
) -> dict[str, Any]:
    """Batch and stream runs, which must write the same bytes; the batch run's result."""
    batch = run(tmp_path, steps, inputs, outputs, "batch", chunk)
    stream = run(tmp_path, steps, inputs, outputs, "stream", chunk)
    assert stream["files"] == batch["files"], "stream and batch outputs differ"
    for name in outputs:
        assert_same(stream["artifacts"][name], batch["artifacts"][name])
    return batch


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The frame's rows as plain values: nulls None, floats rounded (9 places)."""

    def plain(value: Any) -> Any:
        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
        if hasattr(value, "item"):
            value = value.item()
        return round(value, 9) if isinstance(value, float) else value

    return [tuple(plain(v) for v in row) for row in frame.astype(object).itertuples(index=False)]


def assert_same(result: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same column names in the same order, same rows in the same order (values as above)."""
    assert [str(c) for c in result.columns] == [str(c) for c in reference.columns]
    assert rows(result) == rows(reference)
