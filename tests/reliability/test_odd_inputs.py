"""Odd-but-legal input works, wrong input gets a clear error (issue 9).

File names holding glob characters, directories holding them, extensions that decide (or do
not decide) the format, ``--input`` overrides, and xlsx sheets with mixed columns.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import UsageError
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.planning import plan_pipeline

MODES = ["batch", "stream"]


def _yaml(uri: str, mode: str = "batch", extra: str = "") -> str:
    return f"""
name: odd
inputs:
  orders:
    uri: '{uri}'
{extra}
outputs:
  datasets: [{{name: out, from: orders}}]
execution:
  mode: {mode}
"""


def _run(
    project: Project, yaml_text: str, overrides: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(
        project.input_dir, project.output_dir, stream_chunk_size=1, input_overrides=overrides
    )
    result = runner.run(pipeline)
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    return result, manifest


def _out(project: Project) -> str:
    return (project.output_dir / "out.csv").read_text()


# --- 1. glob characters in real names ----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["orders[1].csv", "what?.csv", "star*.csv", "[abc].csv"])
def test_an_existing_file_is_that_file_whatever_its_name(
    project: Project, mode: str, name: str
) -> None:
    project.csv(name, "id,v\n1,right\n")
    # Decoys the name would match as a pattern.
    for decoy in ("orders1.csv", "whatX.csv", "starry.csv", "a.csv"):
        project.csv(decoy, "id,v\n9,wrong\n")
    result, manifest = _run(project, _yaml(name, mode))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id,v\n1,right\n"
    assert manifest["inputs"]["orders"]["files"] == [
        {
            "path": name,
            "bytes": 13,
            "records": 1,
            "kept": 1,
            "set_aside": 0,
            "sha256": hashlib.sha256(b"id,v\n1,right\n").hexdigest(),
        }
    ]


@pytest.mark.parametrize("mode", MODES)
def test_patterns_still_match_and_an_input_dir_with_brackets_is_literal(
    project: Project, mode: str
) -> None:
    odd_dir = project.root / "exports[2024]"
    odd_dir.mkdir()
    (odd_dir / "o1.csv").write_text("id\n1\n")
    (odd_dir / "o2.csv").write_text("id\n2\n")
    (odd_dir / "o3.csv").write_text("id\n3\n")
    pipeline = load_pipeline_from_yaml(project.pipeline(_yaml("o[12].csv", mode)))
    result = LocalRunner(odd_dir, project.output_dir).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id\n1\n2\n"
    # A directory inside the uri that exists as named is literal too.
    (odd_dir / "q[1]").mkdir()
    (odd_dir / "q[1]" / "a.csv").write_text("id\n7\n")
    (odd_dir / "q1").mkdir()
    (odd_dir / "q1" / "a.csv").write_text("id\n9\n")
    pipeline = load_pipeline_from_yaml(project.pipeline(_yaml("q[1]/*.csv", mode)))
    result = LocalRunner(odd_dir, project.output_dir).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id\n7\n"


def test_a_pattern_with_brackets_that_matches_nothing_says_how_to_escape(
    project: Project,
) -> None:
    result, manifest = _run(project, _yaml("report[final].csv"))
    assert result["status"] == "failed"
    assert manifest["error"]["type"] == "InputError"
    assert "write '[[]' for a literal '['" in manifest["error"]["message"]


@pytest.mark.parametrize("mode", MODES)
def test_an_input_override_naming_a_file_with_brackets_reads_that_file(
    project: Project, mode: str
) -> None:
    project.csv("orders.csv", "id,v\n0,spec\n")
    odd = project.csv("upload[1].csv", "id,v\n1,override\n")
    project.csv("upload1.csv", "id,v\n9,wrong\n")
    result, _ = _run(project, _yaml("orders.csv", mode), {"orders": str(odd)})
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id,v\n1,override\n"


# --- 2. extensions ---------------------------------------------------------------------------

TSV = "id\tname\tnote\n1\tAda\ta, b\n2\tGrace\tplain\n"
TSV_OUT = 'id,name,note\n1,Ada,"a, b"\n2,Grace,plain\n'


@pytest.mark.parametrize("mode", MODES)
def test_tsv_is_split_on_tabs(project: Project, mode: str) -> None:
    project.csv("people.tsv", TSV)
    result, manifest = _run(project, _yaml("people.tsv", mode))
    assert result["status"] == "success", result["error"]
    assert _out(project) == TSV_OUT
    assert manifest["inputs"]["orders"]["columns"] == ["id", "name", "note"]
    # An explicit separator still wins over the extension.
    project.csv("semi.tsv", "id;name\n1;Ada\n")
    result, _ = _run(project, _yaml("semi.tsv", mode, "    options: {sep: ';'}"))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id,name\n1,Ada\n"


@pytest.mark.parametrize("mode", MODES)
def test_tsv_bad_lines_are_found_with_tabs(project: Project, mode: str) -> None:
    project.csv("people.tsv", "id\tname\n1\tAda\n2\tGrace\textra\n3\tLin\n")
    extra = "    on_bad_lines: quarantine"
    result, manifest = _run(project, _yaml("people.tsv", mode, extra))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id,name\n1,Ada\n3,Lin\n"
    assert (project.output_dir / "_rejected" / "orders.csv").read_text() == (
        'file,line,reason,raw\npeople.tsv,3,"expected 2 fields, found 3",2\tGrace\textra\n'
    )
    assert manifest["inputs"]["orders"]["bad_lines"]["count"] == 1


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("data.avro", "no reader for '.avro' files"),
        ("data.json", "no reader for '.json' files"),
        ("data.dat", "no reader for '.dat' files"),
        ("records/*.orc", "no reader for '.orc' files"),
        ("data.csv.lz4", "compressed (.lz4)"),
    ],
)
def test_an_extension_no_format_reads_is_a_validation_error(
    project: Project, uri: str, expected: str
) -> None:
    path = project.pipeline(_yaml(uri))
    with pytest.raises(PipelineValidationError, match=r"inputs\.orders\.uri") as info:
        plan_pipeline(load_pipeline_from_yaml(path))
    problem = info.value.problems[0]
    assert expected in problem.message
    assert problem.path == "inputs.orders.uri" and problem.line == 4
    assert info.value.exit_code == 2
    if "compressed" not in expected:
        assert "csv (.csv .txt)" in problem.message and "xlsx (.xlsm .xlsx)" in problem.message
        assert "`format: csv`" in problem.message and "options.sep" in problem.message


@pytest.mark.parametrize("mode", MODES)
def test_csv_by_default_and_by_declaration(project: Project, mode: str) -> None:
    project.csv("a.txt", "id\n1\n")
    project.csv("records/part-1", "id\n2\n")
    project.csv("version.2024", "id\n3\n")
    project.csv("pipes.dat", "id|v\n4|x\n")
    for uri, extra, expected in [
        ("a.txt", "", "id\n1\n"),
        ("records/*", "", "id\n2\n"),
        ("version.2024", "", "id\n3\n"),  # digits are no extension
        ("pipes.dat", "    format: csv\n    options: {sep: '|'}", "id,v\n4,x\n"),
    ]:
        result, _ = _run(project, _yaml(uri, mode, extra))
        assert result["status"] == "success", (uri, result["error"])
        assert _out(project) == expected
    with pytest.raises(PipelineValidationError, match=r"no reader for '\.dat'"):
        _run(project, _yaml("pipes.dat", mode))


@pytest.mark.parametrize("mode", MODES)
def test_an_override_is_read_by_its_own_extension(project: Project, mode: str) -> None:
    project.csv("orders.csv", "id,v\n0,spec\n")
    tsv = project.csv("upload.tsv", "id\tv\n1\tx,y\n")
    result, _ = _run(project, _yaml("orders.csv", mode), {"orders": str(tsv)})
    assert result["status"] == "success", result["error"]
    assert _out(project) == 'id,v\n1,"x,y"\n'


def test_an_override_with_an_unreadable_extension_is_refused_at_start(project: Project) -> None:
    project.csv("orders.csv", "id\n1\n")
    avro = project.csv("upload.avro", "Obj not text")
    with pytest.raises(UsageError, match=r"--input orders=.*upload\.avro: .*no reader") as info:
        _run(project, _yaml("orders.csv"), {"orders": str(avro)})
    assert info.value.exit_code == 2
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["status"] == "invalid"
    assert "no reader for '.avro'" in manifest["error"]["message"]


@pytest.mark.slow
@pytest.mark.slow
def test_cli_exit_code_for_an_unreadable_extension(project: Project) -> None:
    project.csv("orders.json", '{"id": 1}\n')
    path = project.pipeline(_yaml("orders.json"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "trakt.run_local", "--pipeline-file", str(path)),
            *("--input-dir", str(project.input_dir), "--output-dir", str(project.output_dir)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "pipeline.yaml:4" in proc.stderr and "no reader for '.json' files" in proc.stderr
    assert not (project.output_dir / "out.csv").exists()


# --- 3. xlsx ----------------------------------------------------------------------------------


def _workbook(path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "zip", "amount"])
    sheet.append([1, 1234, 1.5])
    sheet.append([2, "AB-12", 2])
    sheet.append([3, 7, 0.25])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["str", "{zip: str}", None])
def test_xlsx_numbers_with_one_text_cell_are_read(
    project: Project, mode: str, dtype: str | None
) -> None:
    _workbook(project.input_dir / "book.xlsx")
    extra = f"    options: {{dtype: {dtype}}}" if dtype else ""
    result, manifest = _run(project, _yaml("book.xlsx", mode, extra))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "id,zip,amount\n1,1234,1.5\n2,AB-12,2" + (
        ".0\n3,7,0.25\n" if dtype != "str" else "\n3,7,0.25\n"
    )
    assert manifest["inputs"]["orders"]["rows"] == 3


def test_xlsx_declared_number_with_text_names_the_cell(project: Project) -> None:
    _workbook(project.input_dir / "book.xlsx")
    result, manifest = _run(project, _yaml("book.xlsx", extra="    options: {dtype: {zip: int}}"))
    assert result["status"] == "failed"
    assert manifest["error"]["type"] == "InputError"
    assert "book.xlsx:3: column 'zip'" in manifest["error"]["message"]
    assert "'AB-12'" in manifest["error"]["message"]


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
def test_on_bad_lines_on_an_xlsx_input_is_a_validation_error(project: Project, policy: str) -> None:
    _workbook(project.input_dir / "book.xlsx")
    path = project.pipeline(_yaml("book.xlsx", extra=f"    on_bad_lines: {policy}"))
    with pytest.raises(PipelineValidationError, match="applies to CSV inputs") as info:
        plan_pipeline(load_pipeline_from_yaml(path))
    problem = info.value.problems[0]
    assert (problem.path, problem.line) == ("inputs.orders.on_bad_lines", 5)
    assert not (project.output_dir / "_rejected").exists()


def _sheet(path: Path, *rows: list[Any]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("header", "twice"), [(["a", "a", "b"], "['a']"), (["a", None, None], "['']")]
)
def test_xlsx_header_with_a_name_twice_is_an_input_error(
    project: Project, mode: str, header: list[Any], twice: str
) -> None:
    _sheet(project.input_dir / "book.xlsx", header, [1, 2, 3])
    result, manifest = _run(project, _yaml("book.xlsx", mode))
    assert result["status"] == "failed"
    assert manifest["error"]["type"] == "InputError"
    assert (
        f"book.xlsx:1: the header names column(s) {twice} more than once"
        in (manifest["error"]["message"])
    )
    assert not (project.output_dir / "out.csv").exists()


@pytest.mark.parametrize("mode", MODES)
def test_xlsx_header_names_are_kept_as_written(project: Project, mode: str) -> None:
    # An empty cell is "" as in a CSV header; "NA" is a name, not a missing value.
    _sheet(project.input_dir / "book.xlsx", ["a", None, "NA", 2025], [1, 2, 3, 4], [5, 6, 7, 8])
    result, manifest = _run(project, _yaml("book.xlsx", mode))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "a,,NA,2025\n1,2,3,4\n5,6,7,8\n"
    assert manifest["inputs"]["orders"]["columns"] == ["a", "", "NA", "2025"]


def test_xlsx_usecols_by_name_picks_header_names(project: Project) -> None:
    _sheet(project.input_dir / "book.xlsx", ["a", "b", "c"], [1, 2, 3])
    extra = "    options: {usecols: [c, a]}"
    result, _ = _run(project, _yaml("book.xlsx", extra=extra))
    assert result["status"] == "success", result["error"]
    assert _out(project) == "a,c\n1,3\n"
    result, manifest = _run(project, _yaml("book.xlsx", extra="    options: {usecols: [z]}"))
    assert result["status"] == "failed"
    assert "usecols names column(s) ['z']" in manifest["error"]["message"]
