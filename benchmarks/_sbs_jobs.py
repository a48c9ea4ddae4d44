"""The two jobs of ``side_by_side.py``, written once per tool: step modules, pipelines, scripts.

Job ``double``: read the mixed CSV, double ``amount``, write CSV. Job ``join``: inner-join the
records with a small dimension CSV (``customer`` -> ``segment``), group by segment and country,
``total_amount`` = sum of amount, ``orders`` = count of rows, write CSV.

Everything a variant runs is text here, written into the benchmark's work directory: the
step functions (shared by Trakt, the plain scripts and Kedro: the same code in every tool),
the Trakt pipelines and the peer scripts. THE PIPELINES OF THE POLARS AND BUILT-IN VARIANTS
(``FRAME_POLARS`` and ``BUILTIN_PIPELINES``) use keys from issue 14 that may be named otherwise
when those features land: adjust them here, nowhere else.
"""

from __future__ import annotations

SEGMENTS = ("retail", "smb", "enterprise", "public", "partner")
CUSTOMERS = 100_000  # generate_csv draws customer ids cust_0 .. cust_99999


def dimension_csv(path: str) -> None:
    """customer,segment for 9 in 10 customers (the rest drop out of the inner join)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("customer,segment\n")
        for i in range(CUSTOMERS):
            if i % 10 != 9:
                out.write(f"cust_{i},{SEGMENTS[i % len(SEGMENTS)]}\n")


PANDAS_STEPS = '''\
"""The jobs as pandas functions: Trakt's pandas steps, the plain pandas script and Kedro's node."""

import pandas as pd


def double(frame):
    frame = frame.copy()
    frame["amount"] = frame["amount"] * 2
    return frame


def join_aggregate(records, segments):
    joined = records.merge(segments, on="customer", how="inner")
    return joined.groupby(["segment", "country"], as_index=False).agg(
        total_amount=("amount", "sum"), orders=("amount", "size")
    )


def combine(parts):
    whole = pd.concat(parts, ignore_index=True)
    return whole.groupby(["segment", "country"], as_index=False).agg(
        total_amount=("total_amount", "sum"), orders=("orders", "sum")
    )


def double_run(ctx, input, output):
    return {"output": double(input)}


def double_stream(ctx, input, output):
    return {"output": (double(chunk) for chunk in input)}


def join_run(ctx, input, segments, output):
    return {"output": join_aggregate(input, segments)}


def join_stream(ctx, input, segments, output):
    def totals():
        yield combine([join_aggregate(chunk, segments) for chunk in input])

    return {"output": totals()}


for _step in (double_run, double_stream, join_run, join_stream):
    _step.declared_outputs = ["output"]
double_run.declared_inputs = double_stream.declared_inputs = ["input"]
join_run.declared_inputs = join_stream.declared_inputs = ["input", "segments"]
double_stream.supports_stream = join_stream.supports_stream = True
join_stream.stream_inputs = ["input"]
'''

POLARS_STEPS = '''\
"""The jobs as polars functions: Trakt's polars steps and the plain polars lazy script."""

import polars as pl


def double(frame):
    return frame.lazy().with_columns(pl.col("amount") * 2)


def join_aggregate(records, segments):
    joined = records.lazy().join(segments.lazy(), on="customer", how="inner")
    return joined.group_by("segment", "country").agg(
        pl.col("amount").sum().alias("total_amount"), pl.len().alias("orders")
    )


def combine(parts):
    return pl.concat(parts).group_by("segment", "country").agg(
        pl.col("total_amount").sum(), pl.col("orders").sum()
    )


def double_run(ctx, input, output):
    return {"output": double(input)}


def double_stream(ctx, input, output):
    return {"output": (chunk.with_columns(pl.col("amount") * 2) for chunk in input)}


def join_run(ctx, input, segments, output):
    return {"output": join_aggregate(input, segments)}


def join_stream(ctx, input, segments, output):
    def totals():
        side = segments.lazy()
        parts = [join_aggregate(chunk, side).collect() for chunk in input]
        yield combine(parts)

    return {"output": totals()}


for _step in (double_run, double_stream, join_run, join_stream):
    _step.declared_outputs = ["output"]
    _step.frame = "polars"
# Written for LazyFrames and free of side effects: a CSV input may arrive as a polars scan
# (Trakt's runtime/scans.py), and a run that must give the scan up runs them again.
double_run.lazy = join_run.lazy = double_stream.lazy = join_stream.lazy = True
double_run.declared_inputs = double_stream.declared_inputs = ["input"]
join_run.declared_inputs = join_stream.declared_inputs = ["input", "segments"]
double_stream.supports_stream = join_stream.supports_stream = True
join_stream.stream_inputs = ["input"]
'''

# The per-step YAML key that asks for polars frames (issue 14); "" for the pandas steps.
FRAME_POLARS = "\n    frame: polars"

# A pipeline calling one of the step functions above; {module}, {fn}, {frame} filled in.
STEP_PIPELINES = {
    "double": """\
name: sbs_double
inputs:
  records: {{uri: {src}}}
steps:
  - id: double
    uses: sbs_steps.{module}.double_{fn}{frame}
    with: {{input: records, output: doubled}}
outputs:
  datasets:
    - {{name: result, from: doubled}}
""",
    "join": """\
name: sbs_join
inputs:
  records: {{uri: {src}}}
  segments: {{uri: {dim}}}
steps:
  - id: join_aggregate
    uses: sbs_steps.{module}.join_{fn}{frame}
    with: {{input: records, segments: segments, output: totals}}
outputs:
  datasets:
    - {{name: result, from: totals}}
""",
}

# The built-in steps (issue 14): no Python. One pipeline serves batch and stream (--mode).
BUILTIN_PIPELINES = {
    "double": """\
name: sbs_double_builtin
inputs:
  records: {{uri: {src}}}
steps:
  - id: double
    uses: trakt.derive
    with:
      input: records
      output: doubled
      columns: {{amount: "amount * 2"}}
outputs:
  datasets:
    - {{name: result, from: doubled}}
""",
    "join": """\
name: sbs_join_builtin
inputs:
  records: {{uri: {src}}}
  segments: {{uri: {dim}}}
steps:
  - id: join
    uses: trakt.join
    with: {{input: records, right: segments, "on": customer, how: inner, output: joined}}
  - id: aggregate
    uses: trakt.aggregate
    with:
      input: joined
      output: totals
      by: [segment, country]
      aggregations: {{total_amount: "sum(amount)", orders: "count()"}}
outputs:
  datasets:
    - {{name: result, from: totals}}
""",
}

# argv: job src dim dst (dim unused by ``double``). Run with Trakt's venv python.
PANDAS_SCRIPT = """\
import sys
import pandas as pd
from sbs_steps import pandas_steps

job, src, dim, dst = sys.argv[1:]
if job == "double":
    result = pandas_steps.double(pd.read_csv(src))
else:
    result = pandas_steps.join_aggregate(pd.read_csv(src), pd.read_csv(dim))
result.to_csv(dst, index=False)
"""

POLARS_SCRIPT = """\
import sys
import polars as pl
from sbs_steps import polars_steps

job, src, dim, dst = sys.argv[1:]
if job == "double":
    query = polars_steps.double(pl.scan_csv(src))
else:
    query = polars_steps.join_aggregate(pl.scan_csv(src), pl.scan_csv(dim))
query.sink_csv(dst)
"""

# ts stays text (DuckDB would otherwise rewrite 2024-01-01T00:00:00 as a TIMESTAMP).
DUCKDB_SCRIPT = """\
import sys
import duckdb

job, src, dim, dst = sys.argv[1:]
if job == "double":
    query = (
        f"SELECT * REPLACE (amount * 2 AS amount) "
        f"FROM read_csv('{src}', types={{'ts': 'VARCHAR'}})"
    )
else:
    query = (
        f"SELECT s.segment, r.country, sum(r.amount) AS total_amount, count(*) AS orders "
        f"FROM read_csv('{src}') r JOIN read_csv('{dim}') s USING (customer) GROUP BY ALL"
    )
duckdb.connect().execute(f"COPY ({query}) TO '{dst}' (HEADER, DELIMITER ',')")
"""

# A minimal Kedro pipeline: the catalog's pandas CSV datasets, one node calling the same
# pandas function as Trakt's step, run by SequentialRunner.
KEDRO_SCRIPT = """\
import sys
from kedro.io import DataCatalog
from kedro.pipeline import node, pipeline
from kedro.runner import SequentialRunner
from sbs_steps import pandas_steps

job, src, dim, dst = sys.argv[1:]
csv = "pandas.CSVDataset"
catalog = DataCatalog.from_config(
    {
        "records": {"type": csv, "filepath": src},
        "segments": {"type": csv, "filepath": dim},
        "result": {"type": csv, "filepath": dst, "save_args": {"index": False}},
    }
)
if job == "double":
    step = node(pandas_steps.double, "records", "result", name="double")
else:
    step = node(pandas_steps.join_aggregate, ["records", "segments"], "result", name="join")
SequentialRunner().run(pipeline([step]), catalog)
"""

SCRIPTS = {
    "plain_pandas.py": PANDAS_SCRIPT,
    "polars_lazy.py": POLARS_SCRIPT,
    "duckdb_copy.py": DUCKDB_SCRIPT,
    "kedro_run.py": KEDRO_SCRIPT,
}
