"""The ``stream`` template: ``execution.mode: stream``, a CSV read in chunks by a stream step."""

from __future__ import annotations

PIPELINE = """\
# Pipeline __NAME__ in stream mode: data/readings.csv is read in chunks (--stream-chunk-size
# rows), each chunk goes through steps/to_fahrenheit.py, and output/readings_f.csv is written
# as the chunks come: memory stays bounded whatever the input's size.
# Run from the project directory:  trakt run --pipeline __NAME__ --stream-chunk-size 4
name: __NAME__

inputs:
  readings:
    uri: data/readings.csv

steps:
  - id: to_fahrenheit
    uses: steps.to_fahrenheit
    with:
      input: readings
      output: readings_f

outputs:
  datasets:
    - name: readings_f
      from: readings_f

execution:
  mode: stream
"""

STEP = '''\
"""Add ``temp_f`` to every chunk of readings (a stream step: it gets an iterator of frames)."""

from collections.abc import Iterator

import pandas as pd


def run(ctx, input: Iterator[pd.DataFrame], output: str) -> dict[str, Iterator[pd.DataFrame]]:
    """Convert ``temp_c`` to Fahrenheit chunk by chunk."""

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in input:
            frame = chunk.copy()
            frame["temp_f"] = (frame["temp_c"] * 9 / 5 + 32).round(1)
            yield frame

    return {"output": chunks()}


run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True  # takes chunks; without it, a stream run hands it the whole table
'''

DATA = "sensor,taken_at,temp_c\n" + "".join(
    f"s{i % 3 + 1},2026-01-01T{i:02d}:00:00,{(i * 7) % 25 - 5}.{i % 10}\n" for i in range(24)
)

README = """\
# __NAME__

A [Trakt](https://pypi.org/project/trakt-etl/) project made by `trakt init --template stream`.

```bash
trakt run --pipeline __NAME__ --stream-chunk-size 4   # from this directory
cat output/readings_f.csv
```

| path | what |
|---|---|
| `pipelines/__NAME__/pipeline.yaml` | the pipeline (`execution.mode: stream`) |
| `steps/to_fahrenheit.py` | a stream step: takes an iterator of frames, returns one |
| `data/readings.csv` | the sample input |
| `output/` | outputs and `manifest.json` (ignored by git) |

Run it from this directory: input uris are relative to `--input-dir` (default `.`), and
`uses: steps.to_fahrenheit` is found because the directory a run starts in is searched for
step modules. On a terminal the run shows rows and chunks per step as they flow.
"""

FILES = {
    "pipelines/__NAME__/pipeline.yaml": PIPELINE,
    "steps/to_fahrenheit.py": STEP,
    "data/readings.csv": DATA,
    "README.md": README,
}
