"""benchmarks/side_by_side.py: it runs end to end on a tiny file and refuses a wrong answer.

Its timings are not checked here (benchmarks measure, tests do not); the peers (DuckDB, Kedro)
run where ``make bench-peers`` made ``.venv-peers``, and are shown as n/a otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _sbs_check import check  # noqa: E402

CHECKED = ("reference", "identical", "same values")


def _rows(text: str, title: str) -> dict[str, str]:
    """variant -> its table line, for the table under ``title``."""
    table = text.split(title, 1)[1].split("(x wall", 1)[0]
    lines = [line for line in table.splitlines()[2:] if line.strip()]
    return {line[:44].strip(): line[44:] for line in lines}


@pytest.mark.slow
def test_side_by_side_runs_every_available_variant_and_checks_its_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "side_by_side.py"), "300", "--repeat", "1",
         "--no-warm-up", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "side_by_side: 300 rows" in out
    assert "Cold start (median of 1)" in out
    peers = (BENCHMARKS.parent / ".venv-peers" / "bin" / "python").exists()
    for title in ("Job 1: read CSV, double a column", "Job 2: join a dimension CSV"):
        rows = _rows(out, title)
        assert rows["polars lazy (sink_csv)"].rstrip().endswith("reference")
        for name in ("trakt batch, pandas step", "trakt stream, pandas step", "plain pandas"):
            assert rows[name].rstrip().endswith(("identical", "same values")), rows[name]
        for name in ("DuckDB COPY", "Kedro SequentialRunner"):
            if peers:
                assert rows[name].rstrip().endswith(CHECKED), rows[name]
            else:
                assert "make bench-peers" in rows[name]
        for name, line in rows.items():  # the polars and built-in rows: measured or n/a
            assert line.rstrip().endswith(CHECKED) or "n/a" in line, (name, line)
        assert len(rows) == 10
    assert "Issue 14 targets for job 1" in out
    assert "heavy modules loaded by import trakt: none" in out


def _double_csv(path: Path, amounts: list[str], qty: list[str]) -> Path:
    lines = [
        "id,amount,qty",
        *(f"{i},{a},{q}" for i, (a, q) in enumerate(zip(amounts, qty, strict=True))),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_tells_identical_from_same_values_from_wrong(tmp_path: Path) -> None:
    ref = _double_csv(tmp_path / "ref.csv", ["2.5", "4.0"], ["3", ""])
    same = _double_csv(tmp_path / "same.csv", ["2.5", "4.0"], ["3", ""])
    pandas_like = _double_csv(tmp_path / "pd.csv", ["2.50", "4"], ["3.0", ""])
    wrong = _double_csv(tmp_path / "wrong.csv", ["2.5", "2.0"], ["3", ""])
    assert check("double", ref, same) == "identical"
    assert check("double", ref, pandas_like) == "same values"
    with pytest.raises(SystemExit, match=r"column 'amount' row 1: 4\.0 vs 2\.0"):
        check("double", ref, wrong)


def test_check_join_compares_groups_counts_and_sums(tmp_path: Path) -> None:
    ref = tmp_path / "ref.csv"
    ref.write_text('segment,country,total_amount,orders\nsmb,DE,10.1,2\nretail,"GB, UK",0.3,1\n')
    reordered = tmp_path / "other.csv"
    reordered.write_text(
        'segment,country,total_amount,orders\nretail,"GB, UK",0.30000000000000004,1\n'
        "smb,DE,10.1,2\n"
    )
    assert check("join", ref, reordered) == "same values"
    short = tmp_path / "short.csv"
    short.write_text("segment,country,total_amount,orders\nsmb,DE,10.1,3\n")
    with pytest.raises(SystemExit, match="groups differ"):
        check("join", ref, short)
    miscounted = tmp_path / "miscounted.csv"
    miscounted.write_text(
        'segment,country,total_amount,orders\nsmb,DE,10.1,3\nretail,"GB, UK",0.3,1\n'
    )
    with pytest.raises(SystemExit, match="orders differ"):
        check("join", ref, miscounted)
