"""``trakt steps``: the built-in steps, aliases from ``register_step`` and from ``trakt.steps``
entry points, with their bindings, parameters and docstrings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trakt.cli import main
from trakt.steps import unregister_step

ALIASES = """
import trakt


@trakt.register_step("{alias}_scale")
def scale(ctx, input, output, factor: float = 2.0, label="x"):
    \"\"\"Multiply amount by factor.

    More text.
    \"\"\"
    return {{"output": input}}


scale.declared_inputs = ["input"]
scale.declared_outputs = ["output"]
scale.supports_stream = True


@trakt.register_step("{alias}_join")
def join(ctx, input_left, input_right, output, how):
    return {{"output": input_left}}
"""


@pytest.fixture
def alias_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A module in the current dir that registers two aliases; both removed afterwards."""
    alias = f"t{uuid.uuid4().hex[:8]}"
    module = f"aliases_{alias}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(ALIASES.format(alias=alias)))
    monkeypatch.chdir(tmp_path)
    yield module, alias
    for name in ("scale", "join"):
        unregister_step(f"{alias}_{name}")
    sys.modules.pop(module, None)


def test_json_describes_registered_aliases(
    alias_module: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    module, alias = alias_module
    assert main(["steps", "--json", "--import", module]) == 0
    steps = {s["alias"]: s for s in json.loads(capsys.readouterr().out)}
    assert steps[f"{alias}_scale"] == {
        "alias": f"{alias}_scale",
        "source": f"register_step: {module}.scale",
        "inputs": ["input"],
        "outputs": ["output"],
        "declared": True,
        "supports_stream": True,
        "parameters": [{"name": "factor", "default": 2.0}, {"name": "label", "default": "x"}],
        "accepts_any_keyword": False,
        "doc": "Multiply amount by factor.",
    }
    join = steps[f"{alias}_join"]
    assert (join["inputs"], join["outputs"], join["declared"]) == (
        ["input_left", "input_right"],
        ["output"],
        False,
    )
    assert join["parameters"] == [{"name": "how"}]
    assert join["doc"] == "" and join["supports_stream"] is False


def test_text_listing(alias_module: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    module, alias = alias_module
    assert main(["steps", "--import", module]) == 0
    out = capsys.readouterr().out
    assert f"{alias}_scale  (register_step: {module}.scale)\n" in out
    assert "    Multiply amount by factor.\n" in out
    assert "    inputs: input   outputs: output   (declared)   stream: yes\n" in out
    assert "    parameters: factor=2.0, label='x'\n" in out
    assert "inputs: input_left, input_right   outputs: output   (by name)   stream: no\n" in out


def test_import_of_a_missing_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["steps", "--import", "no_such_module_here"]) == 2
    err = capsys.readouterr().err
    assert "trakt steps --import no_such_module_here: cannot import it: ModuleNotFoundError" in err
    assert str(tmp_path) not in sys.path


PLUGIN = '''
def double(ctx, input, output, factor=2):
    """Double a column."""
    return {"output": input}

double.declared_inputs = ["input"]
double.declared_outputs = ["output"]
'''


@pytest.mark.slow
def test_entry_points_in_a_fresh_process(tmp_path: Path) -> None:
    """An installed distribution's ``trakt.steps`` entry points (a real dist-info on the path),
    one of them broken: listed with its error, the others still described."""
    (tmp_path / "demo_plugin.py").write_text(PLUGIN)
    info = tmp_path / "demo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[trakt.steps]\ndemo_double = demo_plugin:double\ndemo_broken = demo_plugin:missing\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "trakt", "steps", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    steps = {s["alias"]: s for s in json.loads(proc.stdout)}
    assert steps["demo_double"]["source"] == "entry point of demo-plugin (demo_plugin:double)"
    assert steps["demo_double"]["doc"] == "Double a column."
    assert steps["demo_double"]["parameters"] == [{"name": "factor", "default": 2}]
    assert "failed to load: AttributeError" in steps["demo_broken"]["error"]


@pytest.mark.slow
def test_nothing_registered(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "trakt", "steps"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("trakt.select  (built-in)\n")
    assert proc.stdout.endswith(
        "no step aliases registered (none from trakt.register_step in an imported module, "
        "no 'trakt.steps' entry point installed). Module steps need none: "
        "`uses: steps.clean_orders` runs steps/clean_orders.py's run(ctx, ...).\n"
    )


def test_builtins_are_listed_first_with_their_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["steps", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    names = [s["alias"] for s in steps if s["source"] == "built-in"]
    assert names == [
        "trakt.select",
        "trakt.rename",
        "trakt.cast",
        "trakt.derive",
        "trakt.filter",
        "trakt.dedupe",
        "trakt.sort",
        "trakt.join",
        "trakt.aggregate",
        "trakt.sql",
    ]
    join = steps[names.index("trakt.join")]
    assert join["inputs"] == ["input", "right"] and join["supports_stream"] is True
    assert (
        join["doc"]
        == "Join the input with a side input (inner, left, semi or anti) on key columns."
    )
    assert {
        "name": "how",
        "required": False,
        "expects": "one of inner, left, semi, anti",
        "doc": "inner (default), left, semi or anti",
    } in join["parameters"]
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert "trakt.sort  (built-in)\n    Sort the rows (stable; nulls last)" in out
    assert "    with.by (required): a column name or a non-empty list of them; " in out
    assert "trakt.sql  (built-in)" in out and "inputs: input, input_<name>" in out
