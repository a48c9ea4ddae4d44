"""A two-step pipeline with params (scale by ``${params.factor}``, then total), shared by the
tests of params, --set, partial runs, dry runs and the notebook API."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project

SCALE = """
def run(ctx, input, output, factor=1, label="x"):
    frame = input.copy()
    frame["amount"] = frame["amount"] * factor
    frame["label"] = label
    frame["factor_type"] = type(factor).__name__
    return {"output": frame}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

TOTAL = """
import pandas as pd

def run(ctx, input, output):
    return {"output": pd.DataFrame({"total": [int(input["amount"].sum())]})}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


def params_pipeline(project: Project, extra: str = "") -> Path:
    """The pipeline file: params day and factor; steps double_amount -> sum; two outputs."""
    scale, total = project.step("scale", SCALE), project.step("total", TOTAL)
    project.csv("records.csv", "id,amount\n1,10\n2,20\n")
    return project.pipeline(
        f"""
        name: params_demo
        params:
          day: 2026-01-01
          factor: 2
        inputs:
          records:
            uri: records.csv
        steps:
          - id: double_amount
            uses: {scale}
            with:
              input: records
              output: scaled
              factor: ${{params.factor}}
              label: "day ${{params.day}}"
          - id: sum
            uses: {total}
            with:
              input: scaled
              output: totals
        outputs:
          datasets:
            - name: scaled
              from: scaled
            - name: totals
              from: totals
        {extra}
        """
    )
