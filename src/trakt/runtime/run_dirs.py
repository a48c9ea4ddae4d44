"""Where a run reads and writes by default: ``--input-dir`` / ``--output-dir`` given, else
``TRAKT_INPUT_DIR`` / ``TRAKT_OUTPUT_DIR``, else the pipeline file's ``execution.input_dir`` /
``execution.output_dir`` (relative to the file's directory), else ``.`` and ``output``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trakt.io.locations import is_store
from trakt.model.model import Pipeline

DEFAULTS = {"input_dir": ".", "output_dir": "output"}
ENV = {"input_dir": "TRAKT_INPUT_DIR", "output_dir": "TRAKT_OUTPUT_DIR"}


@dataclass(frozen=True)
class RunDirs:
    """The two directories and where each came from (``flag``, ``env``, ``file``, ``default``)."""

    input_dir: str
    output_dir: str
    origin: Mapping[str, str]


def _from_file(pipeline: Pipeline | None, key: str) -> str | None:
    if pipeline is None:
        return None
    value: str | None = getattr(pipeline.spec.execution, key)
    if value is None or is_store(value) or Path(value).is_absolute():
        return value
    base = Path(pipeline.source.file).parent if pipeline.source.file else Path(".")
    return str(base / value)


def pipeline_dirs(
    pipeline: Pipeline | None,
    input_dir: str | os.PathLike[str] | None,
    output_dir: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None = None,
) -> RunDirs:
    """The input and output dirs of a run, by the precedence flag > env > file > default."""
    env = os.environ if environ is None else environ
    chosen: dict[str, str] = {}
    origin: dict[str, str] = {}
    for key, given in (("input_dir", input_dir), ("output_dir", output_dir)):
        candidates = (
            ("flag", os.fspath(given) if given is not None else None),
            ("env", env.get(ENV[key]) or None),
            ("file", _from_file(pipeline, key)),
            ("default", DEFAULTS[key]),
        )
        origin[key], chosen[key] = next((o, v) for o, v in candidates if v is not None)
    return RunDirs(chosen["input_dir"], chosen["output_dir"], origin)
