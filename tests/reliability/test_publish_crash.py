"""SIGKILL at every point of the publish protocol, then run again.

A good run publishes set A (two outputs and a quarantine file). For each protocol point, a run
that would publish set B (other input: other bytes in all three files) is killed there
(``TRAKT_FAULT_PUBLISH``). Then a rerun of the same pipeline, whose step fails (so it publishes
nothing itself), must first finish or undo the interrupted publish: the output dir then holds
exactly all of A (killed before the commit point) or all of B (after it), byte for byte, with
no temporary file or journal left, and the rerun warns about the stale run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.errors import OutputError
from trakt.runtime.local_runner import LocalRunner

CHILD_TIMEOUT_S = 120
# The protocol's points, in order (trakt.runtime.publish.FAULT_POINTS); the commit point is
# between "moved" and "committed".
FAULT_POINTS = ("journal", "backup", "backups", "new", "moved", "committed", "cleaned")
BEFORE_COMMIT = FAULT_POINTS[:5]

RECORDS_A = "id,amount\n1,5\n2,7,extra\n3,11\n"
RECORDS_B = "id,amount\n1,50\n2,70\n3\n4,110\n5,1,2,3\n"

PIPELINE = """
name: sets
inputs:
  records:
    uri: records.csv
    on_bad_lines: quarantine
steps:
  - id: split
    uses: {uses}
    with:
      input: records
      doubled: doubled
      halved: halved
outputs:
  datasets:
    - name: doubled
      from: doubled
    - name: halved
      from: halved
"""

SPLIT = """
import os


def run(ctx, input, doubled, halved):
    if os.environ.get("SETS_FAIL"):
        raise ValueError("the rerun fails on purpose")
    twice = input.copy()
    twice["amount"] = twice["amount"] * 2
    half = input.copy()
    half["amount"] = half["amount"] / 2
    return {"doubled": twice, "halved": half}


run.declared_inputs = ["input"]
run.declared_outputs = ["doubled", "halved"]
"""


def _files(out: Path) -> dict[str, bytes]:
    """The published set: every file but the manifest and the lock."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", ".trakt.lock")
    }


def _publish_in_process(project: Project, pipeline: Path, records: str, out: Path) -> None:
    (project.input_dir / "records.csv").write_text(records)
    runner = LocalRunner(input_dir=project.input_dir, output_dir=out)
    result = runner.run(load_pipeline_from_yaml(pipeline))
    assert result["status"] == "success", result["error"]


def _cli(project: Project, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{project.root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "trakt.run_local",
            "--pipeline-file",
            "pipeline.yaml",
            "--input-dir",
            "input",
            "--output-dir",
            str(out),
            "--run-id",
            f"run-{len(env)}",
        ],
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


@pytest.mark.slow
def test_crash_at_every_publish_point_leaves_a_whole_set(project: Project) -> None:
    uses = project.step("split", SPLIT)
    pipeline = project.pipeline(PIPELINE.format(uses=uses))
    set_a, set_b = project.root / "set_a", project.root / "set_b"
    _publish_in_process(project, pipeline, RECORDS_A, set_a)
    _publish_in_process(project, pipeline, RECORDS_B, set_b)
    files_a, files_b = _files(set_a), _files(set_b)
    assert sorted(files_a) == ["_rejected/records.csv", "doubled.csv", "halved.csv"]
    assert sorted(files_b) == sorted(files_a)
    assert all(files_a[name] != files_b[name] for name in files_a)
    (project.input_dir / "records.csv").write_text(RECORDS_B)  # the killed runs publish B

    for point in FAULT_POINTS:
        out = project.root / f"out-{point}"
        shutil.copytree(set_a, out)
        killed = _cli(project, out, TRAKT_FAULT_PUBLISH=point)
        assert killed.returncode == -9, f"{point}: {killed.stderr}"

        rerun = _cli(project, out, SETS_FAIL="1")

        assert rerun.returncode == 1, f"{point}: {rerun.stderr}"
        assert "the rerun fails on purpose" in rerun.stderr.splitlines()[-1]
        assert "never finished" in rerun.stderr, point
        expected = files_a if point in BEFORE_COMMIT else files_b
        assert _files(out) == expected, point
        leftovers = [p.name for p in out.rglob(".trakt-*") if p.name != ".trakt.lock"]
        assert leftovers == [], point


@pytest.mark.slow
def test_interrupted_publish_is_reported_and_completed(project: Project) -> None:
    uses = project.step("split", SPLIT)
    pipeline = project.pipeline(PIPELINE.format(uses=uses))
    out = project.root / "out"
    _publish_in_process(project, pipeline, RECORDS_A, out)
    (project.input_dir / "records.csv").write_text(RECORDS_B)
    assert _cli(project, out, TRAKT_FAULT_PUBLISH="committed").returncode == -9

    rerun = _cli(project, out)  # a plain rerun: recovers, then publishes B again

    assert rerun.returncode == 0, rerun.stderr
    assert "killed while publishing its outputs; its publish was completed" in rerun.stderr
    set_b = project.root / "set_b"
    _publish_in_process(project, pipeline, RECORDS_B, set_b)
    assert _files(out) == _files(set_b)


class _Crash(BaseException):
    """Stands in for SIGKILL in-process: nothing after it runs."""


def test_recovery_interrupted_itself_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trakt.runtime import publish as protocol

    out = tmp_path / "out"
    (out / "_rejected").mkdir(parents=True)
    old = {"a.csv": b"old a\n", "b.csv": b"old b\n", "_rejected/r.csv": b"old r\n"}
    for name, data in old.items():
        (out / name).write_bytes(data)
    pending = {}
    for name in ("a", "b", "_rejected/r", "c"):  # c is new: nothing to replace
        tmp = out / f".trakt-tmp-run2-{name.replace('/', '-')}.csv"
        if name.startswith("_rejected/"):
            tmp = out / "_rejected" / tmp.name
        tmp.write_bytes(f"new {name}\n".encode())
        pending[f"{name}.csv"] = tmp  # final file name -> temporary file

    def crash_at(point: str) -> None:
        if point == "new" and (out / "b.csv").exists():  # a and b moved in, r and c not
            raise _Crash

    monkeypatch.setattr(protocol, "fault", crash_at)
    with pytest.raises(_Crash):
        protocol.publish(out, "run2", pending)
    assert (out / "b.csv").read_bytes() == b"new b\n"
    assert not (out / "_rejected" / "r.csv").exists()

    real_replace = os.replace
    calls = []

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(protocol.os, "replace", failing_replace)
    with pytest.raises(
        protocol.OutputError, match=r"its journal \.trakt-publish-run2\.json is kept"
    ):
        protocol.recover_publish(out)
    monkeypatch.setattr(protocol.os, "replace", real_replace)

    assert protocol.recover_publish(out) == [{"run_id": "run2", "action": "rolled back"}]
    on_disk = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert on_disk == old


# --- a journal is acted on only where Trakt publishes -----------------------------------------

PLAIN = """
name: plain
inputs:
  records: {uri: records.csv}
outputs:
  datasets: [{name: final, from: records}]
"""


def _plant_journal(out: Path, files: list[dict[str, str | None]], state: str = "moving") -> Path:
    out.mkdir(exist_ok=True)
    journal = out / ".trakt-publish-planted.json"
    journal.write_text(json.dumps({"run_id": "planted", "state": state, "files": files}))
    return journal


def _run_plain(project: Project) -> dict[str, Any]:
    project.csv("records.csv", "id\n1\n")
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir)
    return runner.run(load_pipeline_from_yaml(project.pipeline(PLAIN)))


@pytest.mark.parametrize(
    "final",
    ["link/victim.csv", "_rejected/victim.csv", "deep/../link/victim.csv", "./victim.csv", ""],
)
def test_journal_naming_a_file_through_a_linked_dir_is_not_acted_on(
    project: Project, final: str
) -> None:
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.csv").write_text("keep me\n")
    out = project.output_dir
    out.mkdir()
    for name in ("link", "_rejected", "deep"):
        (out / name).symlink_to(elsewhere, target_is_directory=True)
    # "moving" with no backup and no new file: a rollback would delete `final`
    journal = _plant_journal(out, [{"final": final, "new": "gone.csv", "backup": None}])

    with pytest.raises(OutputError, match=r"Trakt did not act on it: check the outputs") as info:
        _run_plain(project)

    assert "not one Trakt publishes to" in info.value.message or (
        "is not a directory of its own" in info.value.message
    )
    assert (elsewhere / "victim.csv").read_text() == "keep me\n"
    assert journal.exists()
    assert not (out / "final.csv").exists()


def test_journal_naming_a_backup_through_a_linked_rejected_dir_is_not_acted_on(
    project: Project,
) -> None:
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "r.csv").write_text("keep me\n")
    (elsewhere / "old.csv").write_text("moved over it\n")
    out = project.output_dir
    out.mkdir()
    (out / "_rejected").symlink_to(elsewhere, target_is_directory=True)
    entry = {"final": "_rejected/r.csv", "new": "_rejected/new.csv", "backup": "_rejected/old.csv"}
    _plant_journal(out, [entry])

    with pytest.raises(OutputError, match=r"_rejected is not a directory of its own"):
        _run_plain(project)

    assert (elsewhere / "r.csv").read_text() == "keep me\n"
    assert (elsewhere / "old.csv").read_text() == "moved over it\n"


def test_journal_that_is_a_link_is_not_read_nor_acted_on(project: Project) -> None:
    out = project.output_dir
    out.mkdir()
    (out / "keep.csv").write_text("keep me\n")
    target = project.root / "somewhere.json"
    # a committed journal's backups are deleted: through the link, keep.csv would go
    files = [{"final": "a.csv", "new": "b.csv", "backup": "keep.csv"}]
    target.write_text(json.dumps({"run_id": "x", "state": "committed", "files": files}))
    link = out / ".trakt-publish-x.json"
    link.symlink_to(target)

    with pytest.raises(OutputError, match=r"\(it is a symbolic link\); Trakt did not act on it"):
        _run_plain(project)

    assert (out / "keep.csv").read_text() == "keep me\n"
    assert link.is_symlink() and target.exists()


def test_a_directory_named_like_a_journal_is_reported_not_raised(project: Project) -> None:
    (project.output_dir / ".trakt-publish-x.json").mkdir(parents=True)
    (project.output_dir / ".trakt-publish-y.json.tmp").mkdir()

    with pytest.raises(OutputError, match=r"\.trakt-publish-y\.json\.tmp of an interrupted run"):
        _run_plain(project)


def test_journal_written_fresh_never_through_a_planted_link(tmp_path: Path) -> None:
    from trakt.runtime import publish as protocol

    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (out / ".trakt-publish-r.json.tmp").symlink_to(victim)
    os.link(victim, out / ".trakt-publish-s.json.tmp")
    for run_id in ("r", "s"):
        tmp = out / f".trakt-tmp-{run_id}-a.csv"
        tmp.write_text("id\n1\n")
        protocol.publish(out, run_id, {"a.csv": tmp})

    assert victim.read_text() == "keep me\n"
    assert (out / "a.csv").read_text() == "id\n1\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
