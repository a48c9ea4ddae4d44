"""``trakt completion``: the scripts, generated from the parser, complete in the real shells.

bash: the script is sourced in a real ``bash`` and its function called with ``COMP_WORDS`` set,
as readline would. fish: ``complete -C`` asks fish itself. zsh: an interactive zsh in tmux gets
a real TAB (slow). A shell that is not installed skips its test.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from trakt.cli import COMMANDS, build_parser, main
from trakt.commands.completion import describe_cli, script

BASH_PROBE = """
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
_trakt
(( ${#COMPREPLY[@]} )) && printf '%s\\n' "${COMPREPLY[@]}"
exit 0
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A dir with two pipelines and a data file, for names and files to complete to."""
    for name in ("alpha", "beta"):
        (tmp_path / "pipelines" / name).mkdir(parents=True)
        (tmp_path / "pipelines" / name / "pipeline.yaml").write_text("name: x\n")
    (tmp_path / "data.csv").write_text("a\n")
    return tmp_path


def _write(tmp_path: Path, shell: str) -> Path:
    path = tmp_path / f"trakt.{shell}"
    path.write_text(script(shell))
    return path


def _bash(script_path: Path, cwd: Path, *words: str) -> list[str]:
    proc = subprocess.run(
        ["bash", "--norc", "-c", BASH_PROBE, "probe", str(script_path), *words],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout.splitlines()


def test_the_model_follows_the_parser() -> None:
    cli = describe_cli(build_parser())
    assert [c.name for c in cli.commands] == [m.rpartition(".")[2] for m in COMMANDS]
    run = next(c for c in cli.commands if c.name == "run")
    kinds = {f: o.kind for o in run.options for f in o.flags}
    assert kinds["--pipeline-file"] == "file"
    assert kinds["--manifest-path"] == "file"
    assert kinds["--output-dir"] == "dir"
    assert kinds["--pipeline"] == "pipeline"
    assert kinds["--log-format"] == "choices"
    assert kinds["--quiet"] == kinds["-q"] == "none"
    assert kinds["--input"] == "value"  # NAME=PATH
    assert {f for o in cli.options for f in o.flags} == {"-h", "--help", "--version"}


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert out == script("bash")
    assert out.rstrip().endswith("complete -F _trakt trakt")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_flags_and_values(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, "bash")
    assert _bash(path, project, "trakt", "ru") == ["run"]
    assert _bash(path, project, "trakt", "") == [m.rpartition(".")[2] for m in COMMANDS]
    assert _bash(path, project, "trakt", "--ver") == ["--version"]
    assert _bash(path, project, "trakt", "run", "--pipeline-f") == ["--pipeline-file"]
    assert _bash(path, project, "trakt", "run", "--pipeline", "") == ["alpha", "beta"]
    assert _bash(path, project, "trakt", "run", "-q", "--pipeline", "b") == ["beta"]
    assert _bash(path, project, "trakt", "run", "--log-format", "") == ["text", "json"]
    assert _bash(path, project, "trakt", "run", "--pipeline-file", "da") == ["data.csv"]
    # bash splits --flag=value at "=": the flag is found before it
    assert _bash(path, project, "trakt", "run", "--pipeline-file", "=", "da") == ["data.csv"]
    assert _bash(path, project, "trakt", "run", "--output-dir", "") == ["pipelines"]
    assert _bash(path, project, "trakt", "validate", "d") == ["data.csv"]
    assert _bash(path, project, "trakt", "init", "--template", "s") == ["sql", "stream"]
    assert _bash(path, project, "trakt", "completion", "") == ["bash", "zsh", "fish"]
    # a positional already given: nothing more to complete
    assert _bash(path, project, "trakt", "completion", "bash", "") == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_registers_the_function(tmp_path: Path) -> None:
    path = _write(tmp_path, "bash")
    proc = subprocess.run(
        ["bash", "--norc", "-c", 'source "$1" && complete -p trakt', "probe", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "complete -F _trakt trakt"


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, "fish")

    def ask(line: str) -> list[str]:
        proc = subprocess.run(
            ["fish", "--no-config", "-c", f"source {path}; complete -C'{line}'"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert ask("trakt ru") == ["run"]
    assert ask("trakt run --pipeline ") == ["alpha", "beta"]
    assert ask("trakt run --log-format ") == ["json", "text"]
    assert ask("trakt run --out") == ["--output-dir"]
    assert ask("trakt validate da") == ["data.csv"]
    assert ask("trakt completion ") == ["bash", "fish", "zsh"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("zsh") is None or shutil.which("tmux") is None, reason="needs zsh and tmux"
)
def test_zsh_completes_on_tab(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, "zsh")
    server = f"trakt-test-{uuid.uuid4().hex[:8]}"  # a tmux server of this test's own

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", server, *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout

    def screen_shows(text: str) -> str:
        deadline = time.monotonic() + 20
        while True:
            screen = tmux("capture-pane", "-p", "-t", "t")
            if text in screen or time.monotonic() > deadline:
                return screen
            time.sleep(0.1)

    shell = f"cd {project} && env -i HOME={tmp_path} TERM=xterm PATH=/usr/bin:/bin zsh -f"
    tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "40", shell)
    try:
        setup = f"autoload -U compinit && compinit -u && source {path} && echo READY"
        tmux("send-keys", "-t", "t", setup, "Enter")
        assert "READY" in screen_shows("\nREADY")
        tmux("send-keys", "-t", "t", "trakt ru", "Tab")
        # (tmux drops a line's trailing spaces: the space the completion added is not seen)
        assert "trakt run\n" in screen_shows("trakt run\n")
        tmux("send-keys", "-t", "t", "--", "--log-f", "Tab")
        assert "--log-format" in screen_shows("--log-format")
        tmux("send-keys", "-t", "t", " ", "Tab")
        screen = screen_shows("json")
        assert "json" in screen and "text" in screen
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True, timeout=30)
