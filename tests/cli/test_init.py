"""``trakt init``: each template scaffolds a project that ``trakt run --pipeline`` runs at once;
existing files are never overwritten."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from trakt.cli import main
from trakt.commands.init import pipeline_name
from trakt.commands.templates import TEMPLATES, render

CSV_FILES = [
    ".gitignore",
    "README.md",
    "data/orders.csv",
    "pipelines/demo/pipeline.yaml",
    "steps/__init__.py",
    "steps/clean_orders.py",
]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _run_scaffolded(
    tmp_path: Path, template: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, object]]:
    """``trakt init demo --template T && cd demo && trakt run --pipeline demo``, in process."""
    monkeypatch.chdir(tmp_path)
    assert main(["init", "demo", "--template", template]) == 0
    project = tmp_path / "demo"
    monkeypatch.chdir(project)
    assert main(["validate", "pipelines/demo/pipeline.yaml"]) == 0
    assert main(["run", "--pipeline", "demo", "--stream-chunk-size", "5", "-q"]) == 0
    manifest = json.loads((project / "output" / "manifest.json").read_text())
    assert manifest["status"] == "success"
    return project, manifest


def test_csv_template_runs_as_scaffolded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project, manifest = _run_scaffolded(tmp_path, "csv", monkeypatch)
    assert (project / "output" / "orders_clean.csv").read_text() == (
        "order_id,customer,country,amount,amount_with_vat\n"
        "1,Ada,DE,21.5,25.8\n"
        "2,Grace,US,40.0,48.0\n"
        "4,Margaret,US,200.0,240.0\n"
        "5,Ken,GB,0.2,0.24\n"
        "6,Barbara,GB,6.0,7.2\n"
    )
    assert [s["id"] for s in manifest["steps"]] == ["clean_orders"]  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "created a csv project in demo:" in out
    assert "  cd demo\n  trakt run --pipeline demo\n" in out


def test_stream_template_runs_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, manifest = _run_scaffolded(tmp_path, "stream", monkeypatch)
    assert manifest["mode"] == "stream"
    with open(project / "output" / "readings_f.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 24
    for row in rows:
        assert float(row["temp_f"]) == round(float(row["temp_c"]) * 9 / 5 + 32, 1)
    step = manifest["steps"][0]  # type: ignore[index]
    assert step["id"] == "to_fahrenheit"
    assert step["chunks_in"] == {"input": 5}  # 24 rows, chunks of 5


def test_sql_template_loads_a_sqlite_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sqlalchemy")
    project, _ = _run_scaffolded(tmp_path, "sql", monkeypatch)
    with sqlite3.connect(project / "demo.db") as db:
        rows = db.execute(
            "select order_id, region, revenue from sales order by order_id"
        ).fetchall()
    assert rows == [
        (1, "north", 7.5),
        (2, "south", 19.99),
        (3, "east", 25.0),
        (4, "west", 14.5),
        (5, "north", 79.96),
    ]
    assert "*.db" in (project / ".gitignore").read_text()


def test_files_of_the_csv_template(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "demo")]) == 0
    assert _files(tmp_path / "demo") == CSV_FILES
    assert "output/" in (tmp_path / "demo" / ".gitignore").read_text()
    readme = (tmp_path / "demo" / "README.md").read_text()
    assert "trakt run --pipeline demo" in readme


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_has_the_promised_parts(template: str) -> None:
    files = render(template, "p1")
    assert {".gitignore", "README.md", "pipelines/p1/pipeline.yaml", "steps/__init__.py"} <= set(
        files
    )
    assert any(p.startswith("data/") for p in files)
    step_modules = [p for p in files if p.startswith("steps/") and p != "steps/__init__.py"]
    assert len(step_modules) == 1
    module = step_modules[0].removesuffix(".py").replace("/", ".")
    assert f"uses: {module}" in files["pipelines/p1/pipeline.yaml"]
    assert "name: p1\n" in files["pipelines/p1/pipeline.yaml"]
    assert "__NAME__" not in "".join(files.values())


def test_refuses_a_non_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "the directory exists and is not empty (found notes.txt)" in err
    assert "or pass --force" in err
    assert _files(tmp_path) == ["notes.txt"]


def test_force_adds_files_and_keeps_others(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path), "--force", "--name", "demo"]) == 0
    assert _files(tmp_path) == sorted([*CSV_FILES, "notes.txt"])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_force_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("my readme")
    assert main(["init", str(tmp_path), "--force", "--name", "demo"]) == 2
    err = capsys.readouterr().err
    assert "these files exist and would be overwritten: README.md; nothing was written" in err
    assert _files(tmp_path) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "my readme"


def test_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["init", str(tmp_path / "f")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_bad_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p"), "--name", "../x"]) == 2
    assert "init --name '../x': expected a letter" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_unknown_template_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["init", "x", "--template", "excel"])
    assert exc.value.code == 2
    assert "invalid choice: 'excel'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("dirname", "expected"),
    [("demo", "demo"), ("My Project", "my_project"), ("2026-sales", "pipeline_2026_sales")],
)
def test_pipeline_name_from_dir(tmp_path: Path, dirname: str, expected: str) -> None:
    assert pipeline_name(tmp_path / dirname) == expected
