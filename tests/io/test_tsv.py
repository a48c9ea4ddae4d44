"""The tsv format: CSV with a tab separator by default, for .tsv and .tab files."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trakt.io.csv import CsvFormat
from trakt.io.csv_inputs import to_utf8_where_needed
from trakt.io.sources import SourceFile
from trakt.io.tsv import TsvFormat, tabbed

TSV = TsvFormat()


@dataclass(frozen=True)
class Input:
    artifact: str
    files: list[SourceFile]
    options: dict[str, Any]


def test_name_extensions_and_options() -> None:
    assert TSV.name == "tsv" and TSV.extensions == (".tsv", ".tab")
    assert ".tsv" not in CsvFormat.extensions
    assert TSV.option_names == CsvFormat.option_names
    assert TSV.check_options({"sep": "\t", "dtype": {"id": "int"}}) == []
    assert TSV.check_options({"sepp": "\t"})[0].startswith("unknown csv option 'sepp'")


@pytest.mark.parametrize("uri", ["people.tsv", "people.TAB", "people.tsv.gz", "data/*.tsv"])
def test_tab_unless_a_separator_is_given(uri: str) -> None:
    assert TSV.options_for(uri, {})["sep"] == "\t"
    assert TSV.options_for(uri, {"sep": ";"})["sep"] == ";"
    assert TSV.options_for(uri, {"delimiter": "|"}) == {"delimiter": "|"}
    assert CsvFormat().options_for(uri, {}) == {}


def test_writer_options_default_to_tab() -> None:
    assert TSV.writer_options_for("out.tsv", {})["sep"] == "\t"
    assert TSV.writer_options_for("out.tsv", {"sep": ","})["sep"] == ","
    assert tabbed({"na_rep": ""}) == {"na_rep": "", "sep": "\t"}


def test_reads_tabs_with_quotes_and_commas(tmp_path: Path) -> None:
    path = tmp_path / "people.tab"
    path.write_text('id\tname\tnote\n1\tAda\t"a, b"\n2\tGrace\t"tab\tinside"\n')
    request = SourceFile(path, path.name, 0).request(TSV.options_for(path.name, {}))
    assert TSV.read_table(request).to_pylist() == [
        {"id": 1, "name": "Ada", "note": "a, b"},
        {"id": 2, "name": "Grace", "note": "tab\tinside"},
    ]
    chunks = list(TSV.iter_tables(request, 1))
    assert [c.to_pylist() for c in chunks] == [[r] for r in TSV.read_table(request).to_pylist()]


def test_compressed_tsv(tmp_path: Path) -> None:
    path = tmp_path / "people.tsv.gz"
    path.write_bytes(gzip.compress(b"id\tcity\n1\tK\xc3\xb6ln\n"))
    options = TSV.options_for(path.name, {})
    files = [SourceFile(path, path.name, path.stat().st_size)]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    source = to_utf8_where_needed(Input("people", files, options), lambda n: scratch / n, "in0")
    table = TSV.read_table(source.files[0].request(options))
    assert table.to_pylist() == [{"id": 1, "city": "Köln"}]
