"""``storage_options``: fsspec's settings for object-store locations, per pipeline and
overridden key by key per input or output; checked where they cannot apply.

The pipeline's mapping applies to every store location of a run (inputs, ``--input-dir``,
``--output-dir``, the manifest); an input's or output's own keys replace the pipeline's.
Credentials are best left out of the YAML (s3fs reads the standard AWS variables); whatever is
given, its secret values never appear in a message (:func:`trakt.io.locations.secret_values`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from trakt.errors import UsageError
from trakt.io.locations import is_store, join_uri, local_path, uri_scheme
from trakt.model.model import PipelineSpec
from trakt.runtime.collector import Collector
from trakt.runtime.datasets import InputPlan

KEY = "storage_options"


def merged(pipeline: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline's storage_options with an input's or output's own keys over them."""
    return {**pipeline, **own}


def explicitly_local(uri: str) -> bool:
    """Whether ``uri`` is a local place whatever the input dir (an absolute path or a
    ``file://`` URI); a relative uri may still land on a store input dir."""
    scheme = uri_scheme(uri)
    if scheme is not None:
        return not is_store(uri)
    return os.path.isabs(uri)


def check_storage_options(spec: PipelineSpec, out: Collector) -> None:
    """A problem at each ``storage_options:`` whose location is certainly not a store."""
    for name, inp in spec.inputs.items():
        if inp.storage_options and explicitly_local(inp.uri):
            out.add(("inputs", name, KEY), _not_a_store(f"input '{name}'", inp.uri))
    for index, dataset in enumerate(spec.outputs.datasets):
        uri = dataset.uri
        if dataset.storage_options and uri is not None and explicitly_local(uri):
            out.add(
                ("outputs", "datasets", index, KEY),
                _not_a_store(f"output '{dataset.name}'", uri),
            )


def _not_a_store(what: str, uri: str) -> str:
    return (
        f"{KEY} applies to object stores (s3://, gs://, memory://...), but {what} is the local "
        f"file {uri!r}; remove {KEY}, or give a store URI"
    )


def input_uri(uri: str, input_dir: str | None) -> str:
    """An input's uri with a store ``--input-dir`` applied: a relative uri goes under it."""
    if input_dir is None or is_store(uri) or explicitly_local(uri):
        return uri
    return join_uri(input_dir, uri)


def input_location(input_dir: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """An input dir as a run takes it: (the local dir, None), or (``.``, the store URI) for
    ``s3://...`` (a ``file://`` URI is a local dir)."""
    text = os.fspath(input_dir)
    if is_store(text):
        return Path("."), text
    return Path(local_path(text)), None


def placed(
    planned: InputPlan, pipeline_options: Mapping[str, Any], input_store: str | None
) -> InputPlan:
    """An input as a run reads it: its relative uri under a store input dir, with the
    pipeline's storage_options under its own."""
    spec = planned.spec
    options = merged(pipeline_options, spec.storage_options)
    uri = input_uri(spec.uri, input_store)
    if uri == spec.uri and options == spec.storage_options:
        return planned
    update = {"uri": uri, "storage_options": options}
    return replace(planned, spec=spec.model_copy(update=update))


def check_at_run(
    spec: PipelineSpec, input_dir: str | None, output_store: bool, overrides: Mapping[str, str]
) -> None:
    """Before anything runs: storage_options whose location turned out to be local
    (a relative uri under a local input dir, an output in a local output dir), exit 2. An
    input replaced by ``--input`` is not checked: its options apply only if it is a store."""
    for name, inp in spec.inputs.items():
        if name in overrides:  # --input NAME=local.csv for a try-out: the options just go unused
            continue
        uri = input_uri(inp.uri, input_dir)
        if inp.storage_options and not is_store(uri):
            raise UsageError(
                f"input '{name}' has {KEY}, but its uri {uri!r} names a local file; {KEY} "
                "apply to object stores: remove them, or read it from a store (a store uri, "
                "or --input-dir s3://...)",
                artifact=name,
            )
    if output_store:
        return
    for dataset in spec.outputs.datasets:
        if dataset.storage_options and dataset.uri is None:
            raise UsageError(
                f"output '{dataset.name}' has {KEY}, but --output-dir is a local directory; "
                f"{KEY} apply to object stores: remove them, or write to --output-dir s3://...",
                output=dataset.name,
            )
