"""The ``csv`` template: a batch pipeline, CSV in, one pandas step, CSV out."""

from __future__ import annotations

PIPELINE = """\
# Pipeline __NAME__: data/orders.csv -> steps/clean_orders.py -> output/orders_clean.csv
# Run from the project directory:  trakt run --pipeline __NAME__
name: __NAME__

inputs:
  orders:
    uri: data/orders.csv          # relative to --input-dir (default: the current directory)

steps:
  - id: clean_orders
    uses: steps.clean_orders      # steps/clean_orders.py, its run(ctx, ...)
    with:
      input: orders
      output: orders_clean
      min_amount: 0               # a parameter: any other `with` key

outputs:
  datasets:
    - name: orders_clean          # output/orders_clean.csv
      from: orders_clean
"""

STEP = '''\
"""Drop orders below ``min_amount`` and add ``amount_with_vat``."""

import pandas as pd


def run(ctx, input: pd.DataFrame, output: str, min_amount: float = 0.0) -> dict[str, pd.DataFrame]:
    """Keep orders of at least ``min_amount``; add the amount with 20 % VAT."""
    frame = input[input["amount"] >= min_amount].copy()
    frame["amount_with_vat"] = (frame["amount"] * 1.2).round(2)
    ctx.logger.info("kept %d of %d orders", len(frame), len(input))
    return {"output": frame}


# Which `with` keys are artifacts; every other key is a parameter of run().
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
'''

DATA = """\
order_id,customer,country,amount
1,Ada,DE,21.50
2,Grace,US,40.00
3,Linus,FI,-3.00
4,Margaret,US,200.00
5,Ken,GB,0.20
6,Barbara,GB,6.00
"""

README = """\
# __NAME__

A [Trakt](https://pypi.org/project/trakt-etl/) project made by `trakt init --template csv`.

```bash
trakt run --pipeline __NAME__          # from this directory
cat output/orders_clean.csv            # the result; output/manifest.json says how it went
```

| path | what |
|---|---|
| `pipelines/__NAME__/pipeline.yaml` | the pipeline: inputs, steps, outputs |
| `steps/clean_orders.py` | the step: `run(ctx, input, output, min_amount)` on a pandas frame |
| `data/orders.csv` | the sample input |
| `output/` | outputs and `manifest.json` (ignored by git) |

Run it from this directory: input uris are relative to `--input-dir` (default `.`), and
`uses: steps.clean_orders` is found because the directory a run starts in is searched for step
modules (from elsewhere: `PYTHONPATH=<this dir> trakt run --pipeline-file ... --input-dir ...`).

Next: `trakt validate pipelines/__NAME__/pipeline.yaml` checks the file without reading data;
`trakt run --help` lists the flags; `trakt steps` lists installed step aliases.
"""

FILES = {
    "pipelines/__NAME__/pipeline.yaml": PIPELINE,
    "steps/clean_orders.py": STEP,
    "data/orders.csv": DATA,
    "README.md": README,
}
