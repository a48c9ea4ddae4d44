"""The ``trakt`` command as a whole: ``--version``, ``python -m trakt``, every command's help
with examples, and a new user's first minutes on a real terminal (a pty)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trakt import __version__
from trakt.cli import COMMANDS, main

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BIN = Path(sys.executable).parent
# Every subcommand, by its module's name (``trakt.commands.run`` -> ``run``).
DOCUMENTED = tuple(name.rsplit(".", 1)[1] for name in COMMANDS)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"trakt {__version__}\n"


@pytest.mark.parametrize("command", DOCUMENTED)
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: trakt {command} ")
    examples = out.partition("\nexamples:\n")[2]
    # the epilog keeps its lines (RawDescriptionHelpFormatter): each example is a command line
    assert re.search(rf"^  trakt {command}\b", examples, re.MULTILINE), out


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
def test_python_dash_m_is_the_trakt_command(tmp_path: Path) -> None:
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60
        )

    script, module = run("trakt", "--version"), run(sys.executable, "-m", "trakt", "--version")
    assert script.returncode == module.returncode == 0
    assert script.stdout == module.stdout == f"trakt {__version__}\n"

    helped = run(sys.executable, "-m", "trakt", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: trakt ")
    for command in DOCUMENTED:
        assert command in helped.stdout
    assert helped.stdout == run("trakt", "--help").stdout

    bad = run(sys.executable, "-m", "trakt", "nope")
    assert bad.returncode == 2
    assert "invalid choice: 'nope'" in bad.stderr


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


@pytest.mark.slow
def test_init_then_run_on_a_terminal(tmp_path: Path) -> None:
    """``trakt init demo && cd demo && trakt run --pipeline demo`` on a pty: the live display
    (rich, only on a terminal) shows the step and the summary, and the output is written."""
    env = {**_env(), "COLUMNS": "120", "TERM": "xterm"}
    main_fd, secondary = pty.openpty()
    proc = subprocess.Popen(
        ["bash", "-c", "trakt init demo && cd demo && trakt run --pipeline demo"],
        cwd=tmp_path,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    screen = ANSI.sub("", _read_all(main_fd).decode(errors="replace"))
    os.close(main_fd)
    assert proc.wait(timeout=120) == 0, screen
    assert "created a csv project in demo:" in screen
    # the summary table the progress display prints at the end (on a terminal only)
    assert re.search(r"trakt run \S+: success", screen), screen
    assert re.search(r"clean_orders\s*│\s*success\s*│\s*6\s*│\s*5\s*│", screen), screen
    assert "→ orders_clean" in screen
    assert "run " in screen and " succeeded" in screen
    out = tmp_path / "demo" / "output" / "orders_clean.csv"
    assert out.read_text().startswith("order_id,customer,country,amount,amount_with_vat\n")


@pytest.mark.slow
def test_the_templates_are_in_the_wheel(tmp_path: Path) -> None:
    """A wheel built from the tree holds ``trakt init``'s templates and ``__main__``."""
    import shutil
    import zipfile

    repo = Path(__file__).resolve().parents[2]
    tree = tmp_path / "tree"  # a copy: the build writes build/ and *.egg-info beside the source
    shutil.copytree(repo / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, tree / name)
    wheels = tmp_path / "wheels"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(tree), "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    (wheel,) = wheels.glob("trakt_etl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__", "batch_csv", "stream", "sql"):
        assert f"trakt/commands/templates/{module}.py" in names
    assert "trakt/__main__.py" in names
