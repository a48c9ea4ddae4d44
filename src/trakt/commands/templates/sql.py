"""The ``sql`` template: a CSV checked by a contract, a step, loaded into a SQLite table."""

from __future__ import annotations

PIPELINE = """\
# Pipeline __NAME__: data/sales.csv -> steps/add_revenue.py -> table `sales` in __NAME__.db
# (SQLite; `sqlite:///__NAME__.db` is relative to the directory the run starts in).
# Run from the project directory:  trakt run --pipeline __NAME__
name: __NAME__

inputs:
  sales:
    uri: data/sales.csv
    schema:                       # a data contract: checked before any row is loaded
      columns:
        order_id: {type: int, unique: true, nullable: false}
        region: {type: string, allowed: [north, south, east, west]}
        quantity: {type: int, min: 0}
        unit_price: {type: float, min: 0}

steps:
  - id: add_revenue
    uses: steps.add_revenue
    with:
      input: sales
      output: sales_with_revenue

outputs:
  datasets:
    - name: sales_table
      from: sales_with_revenue
      uri: "sqlite:///__NAME__.db"
      table: sales
      if_exists: replace          # or fail / append / upsert (with key: [...])
"""

STEP = '''\
"""Add ``revenue`` = ``quantity`` * ``unit_price``."""

import pandas as pd


def run(ctx, input: pd.DataFrame, output: str) -> dict[str, pd.DataFrame]:
    """The sales with their revenue."""
    frame = input.copy()
    frame["revenue"] = (frame["quantity"] * frame["unit_price"]).round(2)
    return {"output": frame}


run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
'''

DATA = """\
order_id,region,product,quantity,unit_price
1,north,widget,3,2.50
2,south,gadget,1,19.99
3,east,widget,10,2.50
4,west,gizmo,2,7.25
5,north,gadget,4,19.99
"""

README = """\
# __NAME__

A [Trakt](https://pypi.org/project/trakt-etl/) project made by `trakt init --template sql`.
Needs the `sql` extra: `pip install "trakt-etl[sql]"`.

```bash
trakt run --pipeline __NAME__                       # from this directory
sqlite3 __NAME__.db 'select * from sales'           # the loaded table
```

| path | what |
|---|---|
| `pipelines/__NAME__/pipeline.yaml` | the pipeline: a CSV input with a contract, a SQLite output |
| `steps/add_revenue.py` | the step |
| `data/sales.csv` | the sample input |
| `__NAME__.db` | the database the run writes (ignored by git) |
| `output/` | `manifest.json` (ignored by git) |

Run it from this directory: the input uri is relative to `--input-dir` (default `.`), the
database path to the directory the run starts in, and `uses: steps.add_revenue` is found
because that directory is searched for step modules. For PostgreSQL write
`uri: "postgresql://etl:${env:PGPASSWORD}@db.internal:5432/shop"` (the `sql` extra has psycopg).
"""

FILES = {
    "pipelines/__NAME__/pipeline.yaml": PIPELINE,
    "steps/add_revenue.py": STEP,
    "data/sales.csv": DATA,
    "README.md": README,
}
