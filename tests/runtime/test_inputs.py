"""InputSource: one input, readable again and again (like a petl table), whole or in chunks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from trakt import load_pipeline_from_yaml
from trakt.runtime.inputs import InputSource
from trakt.runtime.planning import plan_pipeline

ROWS = "".join(f"{i},name {i},{i / 4}\n" for i in range(10))


def _source(tmp_path: Path, uri: str, fmt: str = "") -> InputSource:
    pipeline = tmp_path / "pipeline.yaml"
    declared = f", format: {fmt}" if fmt else ""
    pipeline.write_text(
        f"name: p\ninputs:\n  src: {{uri: '{uri}'{declared}}}\n"
        "outputs:\n  datasets: [{name: o, from: src}]\n"
    )
    plan = plan_pipeline(load_pipeline_from_yaml(pipeline))
    source = InputSource.open(plan.inputs["src"], 0, tmp_path / "in", None, tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    source.prepare(lambda name: scratch / name)
    return source


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz", "a.tsv"])
def test_read_and_chunks_give_the_same_rows_every_time(tmp_path: Path, name: str) -> None:
    (tmp_path / "in").mkdir()
    text = "id,name,x\n" + ROWS
    if name.endswith(".tsv"):
        text = text.replace(",", "\t")
    data = text.encode()
    (tmp_path / "in" / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    source = _source(tmp_path, name)
    first, second = source.read(), source.read()
    assert first.num_rows == 10 and first.equals(second)
    for size in (1, 3, 50):
        once = list(source.chunks(size))
        again = list(source.chunks(size))
        assert [t.num_rows for t in once] == [min(size, 10 - i) for i in range(0, 10, size)]
        assert pa.concat_tables(once).equals(pa.concat_tables(again))
        assert pa.concat_tables(once).equals(first)
    assert source.file_rows == {name: 10}


def test_a_glob_is_read_again_in_the_same_file_order(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for day in ("03", "01", "02"):
        (tmp_path / "in" / f"d{day}.csv").write_text(f"id,day\n1,{day}\n2,{day}\n")
    source = _source(tmp_path, "d*.csv")
    days = [source.read().column("day").to_pylist() for _ in range(2)]
    # "01" stays text: a column is numeric only where no value would change
    assert days[0] == days[1] == ["01", "01", "02", "02", "03", "03"]
    chunked = [pa.concat_tables(list(source.chunks(4))).column("day").to_pylist() for _ in "ab"]
    assert chunked[0] == chunked[1] == days[0]
