"""Layers: runtime code never names a format, and ``trakt validate`` stays light.

- No string constant in ``src/trakt/runtime/`` names a format (``"csv"``, ``".parquet"``, …):
  formats are plug-ins under ``trakt/io`` (issue 10). Docstrings are prose, not code: skipped.
- The runtime's modules (schedulers, adapter, targets, summaries, the CSV writer) import
  without pandas: a run imports it only where a step or a conversion needs it.
- ``trakt validate`` imports neither pandas, pyarrow nor polars, nor fsspec for a pipeline of
  local files (checked in a child process through ``sys.modules``); its wall time on the demo
  pipeline is printed (best of 5).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "src" / "trakt" / "runtime"
DEMO = REPO / "examples" / "multi_file_demo"

FORMAT_NAMES = frozenset({"csv", "tsv", "parquet", "jsonl", "ndjson", "xlsx"})
# An extension inside a longer text: "<name>.csv", "_rejected/x.parquet".
EXTENSION = re.compile(r"\.(csv|tsv|parquet|jsonl|ndjson|xlsx)\b", re.IGNORECASE)
HEAVY = ("pandas", "pyarrow", "polars", "fsspec")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def format_literals(path: Path, root: Path = REPO) -> list[str]:
    """``file:line: 'text'`` for every string constant in ``path`` that names a format."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    hits: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in skip:
            continue
        text = node.value
        if text.lower().lstrip(".") in FORMAT_NAMES or EXTENSION.search(text):
            hits.append((node.lineno, text))
    return [f"{path.relative_to(root)}:{line}: {text!r}" for line, text in sorted(hits)]


def test_the_checker_finds_format_literals(tmp_path: Path) -> None:
    code = '"""Docs may say .csv."""\nA = "csv"\nB = f"{1}.parquet"\nC = ".XLSX"\nD = "csvish"\n'
    probe = tmp_path / "probe.py"
    probe.write_text(code)
    assert format_literals(probe, tmp_path) == [
        "probe.py:2: 'csv'",
        "probe.py:3: '.parquet'",
        "probe.py:4: '.XLSX'",
    ]


def test_runtime_names_no_format() -> None:
    hits = [hit for path in sorted(RUNTIME.rglob("*.py")) for hit in format_literals(path)]
    assert hits == [], "format names in runtime/ (move them to trakt/io):\n" + "\n".join(hits)


PROBE = """
import json, sys, time
from trakt.cli import main
t0 = time.perf_counter()
rc = main(["validate", sys.argv[1]])
elapsed = time.perf_counter() - t0
print("TRAKT-PROBE " + json.dumps({"rc": rc, "s": elapsed, "modules": sorted(sys.modules)}))
"""


def validate_in_child(pipeline: Path, cwd: Path) -> tuple[dict[str, object], float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(DEMO), env.get("PYTHONPATH", "")])
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(pipeline)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - t0
    line = next((x for x in proc.stdout.splitlines() if x.startswith("TRAKT-PROBE ")), None)
    assert line is not None, proc.stdout + proc.stderr
    data: dict[str, object] = json.loads(line.removeprefix("TRAKT-PROBE "))
    return data, wall


@pytest.mark.slow
def test_validate_imports_no_dataframe_library() -> None:
    data, _ = validate_in_child(DEMO / "pipeline.yaml", REPO)
    assert data["rc"] == 0
    modules = data["modules"]
    assert isinstance(modules, list)
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == [], f"trakt validate imported {loaded}"


@pytest.mark.slow
def test_validate_wall_time_on_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    walls, insides = [], []
    for _ in range(5):
        data, wall = validate_in_child(DEMO / "pipeline.yaml", REPO)
        assert data["rc"] == 0
        walls.append(wall)
        inside = data["s"]
        assert isinstance(inside, float)
        insides.append(inside)
    with capsys.disabled():
        print(
            f"\ntrakt validate {DEMO.relative_to(REPO)}/pipeline.yaml: best of 5 "
            f"{min(walls) * 1000:.0f} ms wall (process), {min(insides) * 1000:.0f} ms in main()"
        )


RUNTIME_MODULES = (
    "trakt.runtime.local_runner",
    "trakt.runtime.batch",
    "trakt.runtime.stream",
    "trakt.runtime.adapter",
    "trakt.runtime.targets",
    "trakt.runtime.inputs",
    "trakt.runtime.summary",
    "trakt.runtime.contracts",
    "trakt.runtime.database_io",
    "trakt.io.csv_writer",
    "trakt.io.csv_scan",
)


def _loaded(modules: list[str] | tuple[str, ...], package: str) -> list[str]:
    """The modules of ``package`` that importing ``modules`` loads, in a fresh interpreter."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += f"print(sorted(m for m in sys.modules if m.split('.')[0] == {package!r}))"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.replace("'", '"'))
    return loaded


def test_runtime_modules_import_without_pandas() -> None:
    loaded = _loaded(RUNTIME_MODULES, "pandas")
    assert loaded == [], f"importing the runtime imported {loaded[:5]}"


def test_the_schedulers_import_without_polars() -> None:
    """A run with pandas steps never loads polars (0.14 s and 23 MiB of every run, paid while
    the scans' marker lived beside the built-ins' polars helpers); the scan itself is polars."""
    modules = [m for m in RUNTIME_MODULES if m != "trakt.io.csv_scan"] + ["trakt.runtime.scans"]
    loaded = _loaded(modules, "polars")
    assert loaded == [], f"importing the runtime imported {loaded[:5]}"
