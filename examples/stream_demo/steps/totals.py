"""An aggregating stream step: consumes every chunk, yields one small frame at the end.

Only the running totals are held in memory, never the input.
"""

import pandas as pd


def run(ctx, input, output, by="country"):
    def _totals():
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for chunk in input:
            grouped = chunk.groupby(by)["amount"].agg(["sum", "count"])
            for key, row in grouped.iterrows():
                totals[key] = totals.get(key, 0.0) + float(row["sum"])
                counts[key] = counts.get(key, 0) + int(row["count"])
        ctx.emit_event("summary", "totals computed", groups=len(totals))
        keys = sorted(totals)
        yield pd.DataFrame(
            {by: keys, "orders": [counts[k] for k in keys], "amount": [totals[k] for k in keys]}
        )

    return {"output": _totals()}


run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
run.stateful = True  # keeps totals across chunks: one partition, in input order, on Spark
