"""Format plug-ins: a format from another package (entry point group ``trakt.formats``) is read
and written like a built-in one, and a broken plug-in warns without breaking other formats.

Each case runs in a child process: a registration is process-wide, so none leaks into the
other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = '''
from trakt.io.csv_format import CsvFormat


class PsvFormat(CsvFormat):
    """Pipe-separated values."""

    name = "psv"
    extensions = (".psv",)

    def options_for(self, uri, options):
        return super().options_for(uri, {"sep": "|", **options})

    def writer_options_for(self, path, options):
        return super().writer_options_for(path, {"sep": "|", **options})
'''

PIPELINE = """name: plugged
inputs:
  src: {uri: people.psv}
outputs:
  datasets:
    - {name: copy, from: src, format: psv}
    - {name: plain, from: src}
"""


def _install(site: Path, entry_points: str) -> None:
    site.mkdir()
    (site / "psv_plugin.py").write_text(PLUGIN)
    info = site / "psv_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: psv-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[trakt.formats]\n{entry_points}\n")


def _run(tmp_path: Path, site: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "people.psv").write_text('id|name\n1|"Ada, Countess"\n2|Grace\n')
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    args = ["--pipeline-file", "pipeline.yaml", "--input-dir", "in", "--output-dir", "out"]
    return subprocess.run(
        [sys.executable, "-m", "trakt.run_local", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_an_entry_point_format_is_read_and_written(tmp_path: Path) -> None:
    _install(tmp_path / "site", "psv = psv_plugin:PsvFormat")
    done = _run(tmp_path, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    # The plug-in's own separator: the comma needs no quotes any more.
    assert (out / "copy.psv").read_text() == "id|name\n1|Ada, Countess\n2|Grace\n"
    assert (out / "plain.csv").read_text() == 'id,name\n1,"Ada, Countess"\n2,Grace\n'
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["src"]["format"] == "psv"
    assert {o["name"]: o["format"] for o in manifest["outputs"]} == {"copy": "psv", "plain": "csv"}


@pytest.mark.slow
def test_a_broken_plugin_warns_and_the_others_still_work(tmp_path: Path) -> None:
    _install(tmp_path / "site", "psv = psv_plugin:PsvFormat\nbroken = no_such_module:Format")
    done = _run(tmp_path, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "format plug-in 'broken' (no_such_module:Format) failed to load" in done.stderr
    assert (tmp_path / "out" / "copy.psv").exists()
