"""TSV: the CSV format with a tab as its separator, reading and writing (``sep`` overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trakt.io.csv_format import CsvFormat


def tabbed(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with ``sep`` a tab unless ``sep`` or ``delimiter`` says otherwise."""
    if options.get("sep") or options.get("delimiter"):
        return dict(options)
    return {**options, "sep": "\t"}


class TsvFormat(CsvFormat):
    """Tab-separated values (``.tsv``, ``.tab``; compressed too: ``.tsv.gz``)."""

    name = "tsv"
    extensions: tuple[str, ...] = (".tsv", ".tab")

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return super().options_for(uri, tabbed(options))

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        # The CSV writer's own rules (compression by extension) apply once it has them.
        parent = getattr(super(), "writer_options_for", None)
        return dict(parent(path, tabbed(options))) if parent else tabbed(options)
