"""Nothing escapes the output dir: names, symbolic links, and where the manifest goes.

Every name that becomes part of a file name is checked by validation; nothing Trakt creates or
truncates in the output dir is written through a link it did not create; and no two files of
a run (outputs, quarantine files, the manifest) nor an input may be one file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DOUBLE, Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import OutputConflict, OutputError, UsageError
from trakt.run_local import main as cli_main
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.manifest import Manifest

BAD_CSV = "id,amount\n1,2\n2,3,EXTRA\n3,4\n"


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file and link under ``root`` (links by target, anything else that is no regular
    file by its kind), relative to it. ``root`` holds other tests' directories too: a FIFO
    one left is never opened (without a writer, reading it waits for ever)."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if Path(dirpath, d).is_symlink()]:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = f"special file {stat.S_IFMT(path.lstat().st_mode):o}"
    return found


def quarantine_yaml(name: str, output: str = "final") -> str:
    return f"""
    name: names
    inputs:
      "{name}": {{uri: r.csv, on_bad_lines: quarantine}}
    outputs:
      datasets: [{{name: "{output}", from: "{name}"}}]
    """


def run(project: Project, yaml_text: str, **kwargs: Any) -> dict[str, Any]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    run_id = kwargs.pop("run_id", None)
    return LocalRunner(project.input_dir, project.output_dir, **kwargs).run(pipeline, run_id)


# --- 1. names that become file names ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "../../../tmp/escape",
        "a/b",
        "a\\\\b",
        "..",
        ".",
        ".hidden",
        "x..y",
        "  ",
        "nul\\0byte",
        "new\\nline",
        "x" * 101,
    ],
)
def test_input_names_must_be_file_names(project: Project, name: str) -> None:
    project.csv("r.csv", BAD_CSV)
    pipeline = project.pipeline(quarantine_yaml(name))
    before = tree(project.root.parent)

    with pytest.raises(PipelineValidationError, match=r"invalid input name") as info:
        LocalRunner(project.input_dir, project.output_dir).run(load_pipeline_from_yaml(pipeline))

    (problem,) = info.value.problems
    assert problem.path.startswith("inputs")
    assert problem.line == 3
    assert "rename the input" in problem.message
    after = tree(project.root.parent)
    written = {k for k in after if k not in before}
    assert all(k.startswith(f"{project.root.name}/output/") for k in written), written
    assert not any(k.endswith(".csv") for k in written), written


def test_escaping_input_name_is_reported_with_every_other_problem(project: Project) -> None:
    with pytest.raises(PipelineValidationError) as info:
        run(
            project,
            """
            name: many
            inputs:
              "../up": {uri: r.csv, on_bad_lines: skip}
              "ok": {uri: r.csv}
            outputs:
              datasets: [{name: "../out", from: ok}, {name: fine, from: nothing}]
            """,
        )

    messages = [(p.path, p.line) for p in info.value.problems]
    assert messages == [
        ("inputs.../up", 3),
        ("outputs.datasets[0].name", 6),
        ("outputs.datasets[1].from", 6),
    ]


@pytest.mark.parametrize("which", ["input", "output"])
def test_names_too_long_for_a_file_name_are_refused(project: Project, which: str) -> None:
    long = "n" * 101
    yaml_text = quarantine_yaml(
        long if which == "input" else "r", long if which == "output" else "f"
    )

    with pytest.raises(PipelineValidationError, match=r"is 101 characters long \(at most 100\)"):
        run(project, yaml_text)


def test_longest_names_and_run_id_fit_in_a_file_name(project: Project) -> None:
    project.csv("r.csv", BAD_CSV)
    longest = "n" * 100

    result = run(project, quarantine_yaml(longest, longest), run_id="r" * 128)

    assert result["status"] == "success", result["error"]
    assert (project.output_dir / f"{longest}.csv").read_text() == "id,amount\n1,2\n3,4\n"
    assert (project.output_dir / "_rejected" / f"{longest}.csv").exists()


def test_names_differing_only_in_case_are_refused(project: Project) -> None:
    with pytest.raises(PipelineValidationError) as info:
        run(
            project,
            """
            name: case
            inputs:
              orders: {uri: r.csv, on_bad_lines: quarantine}
              Orders: {uri: r.csv, on_bad_lines: quarantine}
            outputs:
              datasets: [{name: Sales, from: orders}, {name: sales, from: Orders}]
            """,
        )

    messages = [p.message for p in info.value.problems]
    assert "input names 'orders' and 'Orders' differ only in case" in messages[0]
    assert "also datasets[0] as 'Sales', differing only in case" in messages[1]


def test_existing_names_stay_valid(project: Project) -> None:
    project.csv("r.csv", "id,amount\n1,2\n")
    uses = project.step("double", DOUBLE)

    result = run(
        project,
        f"""
        name: ok
        inputs:
          source__records: {{uri: r.csv, on_bad_lines: skip}}
        steps:
          - {{id: s, uses: {uses}, with: {{input: source__records, output: records_norm}}}}
        outputs:
          datasets: [{{name: final.v2-x_y, from: records_norm}}]
        """,
    )

    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.v2-x_y.csv").read_text() == "id,amount\n1,4\n"


# --- 2. no symbolic link is followed --------------------------------------------------------


def test_symlinked_lock_file_is_refused_and_its_target_kept(project: Project) -> None:
    project.csv("r.csv", "id\n1\n")
    victim = project.root / "precious.txt"
    victim.write_text("keep me\n")
    project.output_dir.mkdir()
    (project.output_dir / ".trakt.lock").symlink_to(victim)

    with pytest.raises(OutputError, match=r"\.trakt\.lock is a symbolic link.*remove the link"):
        run(project, quarantine_yaml("r"))

    assert victim.read_text() == "keep me\n"
    assert not (project.output_dir / "final.csv").exists()


def test_symlinked_rejected_dir_is_refused(project: Project) -> None:
    project.csv("r.csv", BAD_CSV)
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    project.output_dir.mkdir()
    (project.output_dir / "_rejected").symlink_to(elsewhere, target_is_directory=True)

    result = run(project, quarantine_yaml("r"))

    assert result["status"] == "failed"
    assert result["exit_code"] == 1
    assert result["error"]["type"] == "OutputError"
    assert "_rejected is a symbolic link" in result["error"]["message"]
    assert list(elsewhere.iterdir()) == []
    assert not (project.output_dir / "final.csv").exists()


@pytest.mark.parametrize(
    ("planted", "what"),
    [
        (".trakt-tmp-RUN-final.csv", "temporary output"),
        (".trakt-tmp-RUN-work", "the scratch directory"),
        ("_rejected/.trakt-tmp-RUN-r.csv", "temporary quarantine file"),
    ],
)
def test_links_planted_at_temporary_paths_are_not_written_through(
    project: Project, planted: str, what: str
) -> None:
    project.csv("r.csv", BAD_CSV)
    victim_dir = project.root / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "file.csv"
    victim.write_text("keep me\n")
    target = victim_dir if planted.endswith("work") else victim
    link = project.output_dir / planted.replace("RUN", "run1")

    def plant(manifest: Manifest) -> None:  # after leftovers were removed, before any write
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)

    pipeline = load_pipeline_from_yaml(project.pipeline(quarantine_yaml("r")))
    runner = LocalRunner(project.input_dir, project.output_dir, on_start=plant)
    result = runner.run(pipeline, run_id="run1")

    assert result["status"] == "failed"
    assert result["error"]["type"] == "OutputError"
    assert f"{what} {link} is a symbolic link" in result["error"]["message"]
    assert tree(victim_dir) == {"file.csv": b"keep me\n"}
    assert not (project.output_dir / "final.csv").exists()


def test_leftover_temp_dir_link_is_removed_not_followed(project: Project) -> None:
    project.csv("r.csv", "id\n1\n")
    victim_dir = project.root / "victim"
    victim_dir.mkdir()
    (victim_dir / "data.csv").write_text("keep me\n")
    project.output_dir.mkdir()
    link = project.output_dir / ".trakt-tmp-old-work"
    link.symlink_to(victim_dir, target_is_directory=True)

    result = run(project, quarantine_yaml("r"))

    assert result["status"] == "success"
    assert not link.is_symlink() and not link.exists()
    assert tree(victim_dir) == {"data.csv": b"keep me\n"}


def test_leftovers_in_rejected_are_removed_links_and_dirs_alike(project: Project) -> None:
    project.csv("r.csv", BAD_CSV)
    victim_dir = project.root / "victim"
    victim_dir.mkdir()
    (victim_dir / "data.csv").write_text("keep me\n")
    rejected = project.output_dir / "_rejected"
    (rejected / ".trakt-tmp-old-dir").mkdir(parents=True)
    (rejected / ".trakt-tmp-old-link").symlink_to(victim_dir, target_is_directory=True)

    result = run(project, quarantine_yaml("r"))

    assert result["status"] == "success", result["error"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["removed_leftovers"] == [
        "_rejected/.trakt-tmp-old-dir",
        "_rejected/.trakt-tmp-old-link",
    ]
    assert sorted(p.name for p in rejected.iterdir()) == ["r.csv"]
    assert tree(victim_dir) == {"data.csv": b"keep me\n"}


@pytest.mark.parametrize("name", ["manifest.json", "final.csv", "_rejected/r.csv"])
def test_links_at_final_paths_are_replaced_not_written_through(project: Project, name: str) -> None:
    """Verification: publishing and the manifest rename replace a link itself."""
    project.csv("r.csv", BAD_CSV)
    victim = project.root / "victim.csv"
    victim.write_text("keep me\n")
    link = project.output_dir / name
    link.parent.mkdir(parents=True)
    link.symlink_to(victim)

    result = run(project, quarantine_yaml("r"))

    assert result["status"] == "success", result["error"]
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink() and link.is_file()
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n1,2\n3,4\n"


# --- 3. the manifest, outputs and quarantine files are distinct files -----------------------


def _manifest_paths(project: Project) -> dict[str, Path]:
    out = project.output_dir
    alias = project.root / "alias"
    alias.symlink_to(out, target_is_directory=True)
    (out / "sub").mkdir(parents=True)
    (project.root / "deep" / "er").mkdir(parents=True)
    (project.root / "deep" / "er" / "up").symlink_to(out / "sub", target_is_directory=True)
    return {
        "same": out / "final.csv",
        "dotdot": out / "sub" / ".." / "final.csv",
        "link then dotdot": project.root / "deep" / "er" / "up" / ".." / "final.csv",
        "linked dir": alias / "final.csv",
        "relative": Path(os.path.relpath(out / "final.csv")),
    }


@pytest.mark.parametrize("how", ["same", "dotdot", "link then dotdot", "linked dir", "relative"])
def test_manifest_path_on_an_output_is_refused_before_anything_runs(
    project: Project, how: str
) -> None:
    project.csv("r.csv", BAD_CSV)
    previous = b"id,amount\n9,9\n"
    manifest_path = _manifest_paths(project)[how]
    (project.output_dir / "final.csv").write_bytes(previous)
    before = tree(project.output_dir)

    match = r"output 'final' \(.*\) and the manifest \(.*\) would be written to the same file"
    with pytest.raises(OutputConflict, match=match):
        run(project, quarantine_yaml("r"), manifest_path=manifest_path)

    after = tree(project.output_dir)
    assert (project.output_dir / "final.csv").read_bytes() == previous
    assert {k: v for k, v in after.items() if k != ".trakt.lock"} == before


def test_refused_run_never_writes_its_manifest_over_another_file(project: Project) -> None:
    previous = b"id,amount\n9,9\n"
    final = project.output_dir / "final.csv"
    final.parent.mkdir()
    final.write_bytes(previous)
    overrides = {"nope": "x.csv"}  # a usage error found once the run has the lock

    with pytest.raises(UsageError, match=r"the pipeline has no input 'nope'"):
        run(project, quarantine_yaml("r"), manifest_path=final, input_overrides=overrides)

    assert final.read_bytes() == previous


def test_unloadable_pipeline_never_writes_its_manifest_over_another_file(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = b"id,amount\n9,9\n"
    final = project.output_dir / "final.csv"
    final.parent.mkdir()
    final.write_bytes(previous)
    pipeline = project.pipeline(quarantine_yaml("../r"))
    argv = ["--pipeline-file", str(pipeline), "--output-dir", str(project.output_dir)]

    code = cli_main([*argv, "--manifest-path", str(final)])

    assert code == 2
    err = capsys.readouterr().err
    assert "invalid input name '../r'" in err
    assert f"(manifest: not written: {final} holds a file that is not a manifest)" in err
    assert final.read_bytes() == previous


def test_manifest_path_on_a_quarantine_file_is_refused(project: Project) -> None:
    project.csv("r.csv", BAD_CSV)
    manifest_path = project.output_dir / "_rejected" / "r.csv"

    with pytest.raises(UsageError) as info:  # refused for its place, before any conflict
        run(project, quarantine_yaml("r"), manifest_path=manifest_path)

    message = info.value.message
    assert "the output dir's _rejected/ holds only quarantine files" in message
    assert "--manifest-path" in message
    assert info.value.exit_code == 2
    assert not manifest_path.exists()


def test_manifest_path_on_the_lock_file_is_refused(project: Project) -> None:
    project.csv("r.csv", "id\n1\n")
    lock = project.output_dir / ".trakt.lock"

    with pytest.raises(UsageError, match=r"'\.trakt\.lock' are reserved for Trakt's own files"):
        run(project, quarantine_yaml("r"), manifest_path=lock)

    assert not lock.exists()  # the refused run removed its lock when it ended
    assert not (project.output_dir / "final.csv").exists()


def test_cli_refuses_manifest_on_output_with_exit_2(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("r.csv", BAD_CSV)
    pipeline = project.pipeline(quarantine_yaml("r"))
    final = project.output_dir / "final.csv"

    code = cli_main(
        [
            "--pipeline-file",
            str(pipeline),
            "--input-dir",
            str(project.input_dir),
            "--output-dir",
            str(project.output_dir),
            "--manifest-path",
            str(final),
        ]
    )

    assert code == 2
    err = capsys.readouterr().err
    assert "the manifest" in err and "output 'final'" in err
    assert not final.exists()
    assert not (project.output_dir / "_rejected").exists()


def test_input_and_output_quarantine_files_cannot_be_one_file(project: Project) -> None:
    project.csv("r.csv", BAD_CSV)
    yaml_text = """
    name: both
    inputs:
      orders: {uri: r.csv, on_bad_lines: quarantine}
    outputs:
      datasets:
        - name: orders
          from: orders
          schema: {columns: {amount: {type: int, min: 3}}, on_violation: quarantine}
    """

    with pytest.raises(
        OutputConflict,
        match=r"quarantine of input 'orders' .* and quarantine "
        r"of output 'orders' .* would be written to the same file",
    ):
        run(project, yaml_text)

    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["status"] == "invalid"
    assert not (project.output_dir / "_rejected").exists()


def test_outputs_resolving_to_one_file_are_refused(project: Project) -> None:
    project.csv("r.csv", "id\n1\n")
    project.output_dir.mkdir()
    (project.output_dir / "a.csv").symlink_to("b.csv")

    with pytest.raises(OutputConflict, match=r"output 'a' .* and output 'b' .* same file"):
        run(
            project,
            """
            name: two
            inputs: {r: {uri: r.csv}}
            outputs:
              datasets: [{name: a, from: r}, {name: b, from: r}]
            """,
        )
    assert (project.output_dir / "a.csv").is_symlink()


# --- 4. files Trakt must never replace or truncate ------------------------------------------

PLAIN = """
name: plain
inputs:
  r: {uri: r.csv}
steps:
  - id: double
    uses: USES
    with: {input: r, output: doubled}
outputs:
  datasets: [{name: final, from: doubled}]
"""


def _plain(project: Project) -> Path:
    project.csv("r.csv", "id,amount\n1,2\n")
    return project.pipeline(PLAIN.replace("USES", project.step("double", DOUBLE)))


def _run_file(project: Project, pipeline: Path, **kwargs: Any) -> dict[str, Any]:
    runner = LocalRunner(project.input_dir, project.output_dir, **kwargs)
    return runner.run(load_pipeline_from_yaml(pipeline))


def test_hard_linked_lock_file_is_refused_and_the_other_file_kept(project: Project) -> None:
    pipeline = _plain(project)
    victim = project.root / "precious.txt"
    victim.write_text("keep me\n")
    project.output_dir.mkdir()
    os.link(victim, project.output_dir / ".trakt.lock")

    with pytest.raises(OutputError, match=r"\.trakt\.lock is a hard link to another file"):
        _run_file(project, pipeline)

    assert victim.read_text() == "keep me\n"
    assert not (project.output_dir / "final.csv").exists()


@pytest.mark.parametrize("which", ["pipeline", "step module", "json", "txt", "empty"])
def test_manifest_path_on_a_file_that_is_not_a_manifest_is_refused(
    project: Project, which: str
) -> None:
    pipeline = _plain(project)
    others = {
        "pipeline": pipeline,
        "step module": project.root / project.package / "double.py",
        "json": project.root / "settings.json",
        "txt": project.root / "notes.txt",
        "empty": project.root / "empty.json",
    }
    others["json"].write_text('{"retries": 3}\n')
    others["txt"].write_text("my notes\n")
    others["empty"].write_text("")
    target = others[which]
    before = target.read_bytes()

    what = "the pipeline file itself" if which == "pipeline" else "a file that is not a manifest"
    with pytest.raises(OutputConflict, match=rf"--manifest-path .* is {what}") as info:
        _run_file(project, pipeline, manifest_path=target)

    assert info.value.exit_code == 2
    assert target.read_bytes() == before
    assert not (project.output_dir / "final.csv").exists()


def test_manifest_path_on_an_earlier_manifest_is_replaced(project: Project) -> None:
    pipeline = _plain(project)
    manifest_path = project.root / "m.json"
    first = _run_file(project, pipeline, manifest_path=manifest_path)

    second = _run_file(project, pipeline, manifest_path=manifest_path)

    assert first["status"] == second["status"] == "success"
    assert json.loads(manifest_path.read_text())["run_id"] == second["run_id"]


@pytest.mark.parametrize(
    ("where", "match"),
    [
        (".trakt-publish-x.json", r"names starting with '\.trakt-' .* are reserved"),
        (".trakt-tmp-m.json", r"names starting with '\.trakt-' .* are reserved"),
        ("_rejected/m.json", r"the output dir's _rejected/ holds only quarantine files"),
        (".", r"it is a directory, where the manifest must be a file"),
        ("sub", r"it is a directory, where the manifest must be a file"),
        ("x" * 251 + ".json", r"its file name is 256 bytes long; at most 255 fit"),
        ("file/m.json", r"/.*/output/file is not a directory"),
        ("file/deeper/m.json", r"/.*/output/file is not a directory"),
    ],
)
def test_unusable_manifest_paths_are_refused_before_anything_runs(
    project: Project, where: str, match: str
) -> None:
    pipeline = _plain(project)
    (project.output_dir / "sub").mkdir(parents=True)
    (project.output_dir / "file").write_text("a file\n")
    manifest_path = project.output_dir / where

    with pytest.raises(UsageError, match=rf"--manifest-path .*: {match}") as info:
        _run_file(project, pipeline, manifest_path=manifest_path)

    assert info.value.exit_code == 2
    assert sorted(p.name for p in project.output_dir.iterdir()) == ["file", "sub"]
    assert _run_file(project, pipeline)["status"] == "success"  # the dir still works


def test_unloadable_pipeline_never_writes_its_manifest_at_a_reserved_name(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = project.pipeline(quarantine_yaml("../r"))
    reserved = project.output_dir / ".trakt-publish-x.json"
    argv = ["--pipeline-file", str(pipeline), "--output-dir", str(project.output_dir)]

    assert cli_main([*argv, "--manifest-path", str(reserved)]) == 2

    assert "are reserved for Trakt's own files" in capsys.readouterr().err
    assert not reserved.exists()
    assert _run_file(project, _plain(project))["status"] == "success"


def test_input_uri_with_a_name_too_long_is_that_inputs_error(project: Project) -> None:
    uri = "x" * 300 + ".csv"
    pipeline = project.pipeline(
        PLAIN.replace("r.csv", uri).replace("USES", project.step("double", DOUBLE))
    )

    result = _run_file(project, pipeline)

    assert result["status"] == "failed"
    assert result["error"]["type"] == "InputError"
    assert re.search(
        r"input 'r': cannot look up uri 'x{300}\.csv': File name too long",
        result["error"]["message"],
    )
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
