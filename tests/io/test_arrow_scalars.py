"""Scalars built from bytes (:mod:`trakt.io.arrow_scalars`), and what they are for: a run whose
steps are polars or built-in never imports pandas, whatever the CSV reader's checks look at.

The runs happen in a child process, where ``sys.modules`` starts without pandas; the input has
the values that send the checks down each of their paths (zeros, long and subnormal floats,
infinities spelled out, missing-value markers, a quoted line break)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trakt.io.arrow_scalars import scalar

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        (True, pa.bool_()),
        (False, pa.bool_()),
        (0, pa.int64()),
        (-7, pa.int8()),
        (65535, pa.uint16()),
        (2**63 - 1, pa.int64()),
        (16, pa.int32()),
        (2.2250738585072014e-308, pa.float64()),
        (-0.0, pa.float64()),
        (1.5, pa.float32()),
        (float("inf"), pa.float64()),
    ],
)
def test_scalar_is_what_pyarrow_converts(value: float, type_: pa.DataType) -> None:
    made = scalar(value, type_)
    assert made.type == type_
    assert made.equals(pa.scalar(value, type_))
    assert str(made.as_py()) == str(value if not pa.types.is_boolean(type_) else bool(value))


def test_scalar_works_in_compute_calls() -> None:
    floats = pa.chunked_array([[0.0, 1.0, None]])
    zero = pc.fill_null(pc.equal(floats, scalar(0, pa.float64())), scalar(False, pa.bool_()))
    assert zero.to_pylist() == [True, False, False]
    assert pc.index(zero, scalar(True, pa.bool_())).as_py() == 0


@pytest.mark.parametrize("value", ["", "a", "+7", "zwölf €", "x" * 300])
@pytest.mark.parametrize("type_", [pa.string(), pa.large_string()])
def test_a_text_scalar_is_what_pyarrow_converts(value: str, type_: pa.DataType) -> None:
    made = scalar(value, type_)
    assert made.type == type_
    assert made.equals(pa.scalar(value, type_))
    assert made.as_py() == value
    column = pa.chunked_array([["b", value, None]], type_)
    assert pc.equal(column, made).to_pylist() == [value == "b", True, None]


def test_scalar_refuses_what_it_cannot_build() -> None:
    with pytest.raises(ValueError, match=r"1\.5 is not a int64 value"):
        scalar(1.5, pa.int64())
    with pytest.raises(TypeError, match="1 is no string value"):
        scalar(1, pa.string())
    with pytest.raises(TypeError, match="'a' is no int64 value"):
        scalar("a", pa.int64())
    with pytest.raises(TypeError, match=r"no scalar of type date32.* is built from bytes"):
        scalar(1, pa.date32())


CSV = (
    "id,amount,ratio,tiny,label,note\n"
    "1,0.0,0.12345678901234,2.5e-310,a,NA\n"
    "2,1.5,1e-5,1e-300,inf,\n"
    '3,-0.0,123456.78901234567,3.0,"two\nlines",x\n'
    "4,2.25,0.5,-1e-320,NaN,null\n"
)

POLARS_STEP = """\
import polars as pl


def run(ctx, input, output):
    return {"output": input.with_columns(pl.col("amount") * 2)}


def stream(ctx, input, output):
    return {"output": (chunk.with_columns(pl.col("amount") * 2) for chunk in input)}


run.frame = stream.frame = "polars"
run.declared_inputs = stream.declared_inputs = ["input"]
run.declared_outputs = stream.declared_outputs = ["output"]
stream.supports_stream = True
"""

PIPELINE = """\
name: no_pandas
inputs:
  records: {{uri: {src}}}
steps:
  - id: double
    uses: {uses}
    with: {{input: records, output: doubled{more}}}
outputs:
  datasets:
    - {{name: result, from: doubled}}
"""


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("step", ["polars", "builtin"])
def test_polars_and_builtin_runs_never_import_pandas(tmp_path: Path, step: str, mode: str) -> None:
    src = tmp_path / "records.csv"
    src.write_text(CSV, encoding="utf-8")
    (tmp_path / "nopd_steps.py").write_text(POLARS_STEP, encoding="utf-8")
    uses = "nopd_steps.run" if mode == "batch" else "nopd_steps.stream"
    more = ""
    if step == "builtin":
        uses, more = "trakt.derive", ', columns: {amount: "amount * 2"}'
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(src=src, uses=uses, more=more), encoding="utf-8")
    out = tmp_path / "out"
    assert _run_without_pandas(tmp_path, pipeline, mode, out) == "0"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "success"
    assert (out / "result.csv").read_text(encoding="utf-8") == (
        "id,amount,ratio,tiny,label,note\n"
        "1,0.0,0.12345678901234,2.5e-310,a,\n"
        "2,3.0,0.00001,1e-300,inf,\n"  # shortest round-trip form, as polars writes it
        '3,-0.0,123456.78901234567,3.0,"two\nlines",x\n'
        "4,4.5,0.5,-1e-320,,\n"
    )


def _run_without_pandas(root: Path, pipeline: Path, mode: str, out: Path) -> str:
    """``trakt run`` in a child process that must not import pandas; its exit code."""
    code = textwrap.dedent(
        f"""\
        import sys
        from trakt.cli import main
        try:
            code = main(["run", "--pipeline-file", {str(pipeline)!r}, "--mode", {mode!r},
                         "--output-dir", {str(out)!r}, "-q"])
        except SystemExit as exc:
            code = exc.code
        print(code, sorted(m for m in sys.modules if m.split(".")[0] == "pandas"))
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(root)]))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    code_, modules = proc.stdout.split(maxsplit=1)[-2:] if proc.stdout else ("?", "?")
    assert modules.strip() == "[]", f"the run imported pandas: {proc.stderr[-2000:]}"
    return code_


def test_a_stream_run_that_fails_on_a_later_value_imports_no_pandas(tmp_path: Path) -> None:
    """The scan gives up on a value its first block did not foresee (``+7`` in a column of
    integers), the run starts over with the exact reader, which fails naming the line: the
    reader's threads word that without a Python value converted (which imports pandas, and
    raced the main thread asking whether a chunk is a pandas frame)."""
    lines = [f"{i},7,x{i}" for i in range(120_000)]
    lines[-3] = "120000,+7,y"
    src = tmp_path / "records.csv"
    src.write_text("id,amount,note\n" + "\n".join(lines) + "\n", encoding="utf-8")
    pipeline = tmp_path / "pipeline.yaml"
    more = ', columns: {amount: "amount * 2"}'
    pipeline.write_text(PIPELINE.format(src=src, uses="trakt.derive", more=more), encoding="utf-8")
    out = tmp_path / "out"
    assert _run_without_pandas(tmp_path, pipeline, "stream", out) == "1"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert "records.csv:119999: " in manifest["error"]["message"]
    assert "a later row has '+7'" in manifest["error"]["message"]
