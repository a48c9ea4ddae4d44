"""Inputs looked at without a run, for ``--dry-run`` and ``trakt validate --input-dir``: each
input placed as a run places it (:func:`trakt.runtime.storage.placed`: a relative uri under a
store input dir such as ``s3://bucket/in``, the pipeline's ``storage_options`` under its own),
so its files are found and sized the same way, through fsspec for a store (their headers are
read by :func:`trakt.io.headers.header_names`: a store file's from its start, not copied)."""

from __future__ import annotations

import os
from pathlib import Path

from trakt.runtime.datasets import InputPlan
from trakt.runtime.inputs import InputSource
from trakt.runtime.planning import ExecutionPlan
from trakt.runtime.storage import input_location, placed


def open_source(
    plan: ExecutionPlan,
    index: int,
    planned: InputPlan,
    input_dir: str | os.PathLike[str],
    override: str | None,
) -> InputSource:
    """The input's source as a run with this input dir would open it (its files found and
    sized, nothing read); ``override`` is ``--input NAME=PATH``."""
    local, store = input_location(input_dir)
    spec = placed(planned, plan.pipeline.spec.storage_options, store)
    return InputSource.open(spec, index, local, override, Path.cwd())
