"""A wrong separator: a CSV header read as one column that holds another usual separator
(``id;amount`` read with ``,``). Said where it shows — a malformed record, a required column
missing, a step's missing column — as "set ``sep``", never as ``on_bad_lines``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The separators a one-column header may hold; the input's own separator is never suggested.
LIKELY_SEPARATORS = (";", "\t", "|", ",")


def separator(options: Mapping[str, Any]) -> str:
    """The separator the input is read with."""
    return str(options.get("sep") or options.get("delimiter") or ",")


def held_separator(header: str, sep: str) -> str | None:
    """The other separator a header line read as one column holds, if any."""
    if sep in header:
        return None
    return next((c for c in LIKELY_SEPARATORS if c != sep and c in header), None)


def set_sep(found: str) -> str:
    """The fix, as YAML to paste (a tab in double quotes: ``'\\t'`` would be two characters)."""
    shown = "\\t" if found == "\t" else found
    return f"is the separator '{shown}'? set options: {{sep: \"{shown}\"}} on this input"


def header_hint(names: Sequence[str], options: Mapping[str, Any]) -> str | None:
    """The fix when the columns read are one name holding another separator, else None."""
    if len(names) != 1:
        return None
    found = held_separator(str(names[0]), separator(options))
    if found is None:
        return None
    return f"the header was read as one column {str(names[0])!r}: {set_sep(found)}"
