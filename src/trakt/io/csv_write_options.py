"""CSV writer options: checked when a pipeline is validated (no pandas, pyarrow or polars here).

``sep`` is one ASCII character (polars writes single-byte separators), ``,`` by default;
``compression`` is ``gzip``, ``bz2``, ``zstd``, ``xz`` or ``none``, and an output path ending in
``.gz`` / ``.bz2`` / ``.zst`` / ``.xz`` implies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trakt.errors import UsageError
from trakt.io.registry import COMPRESSION_BY_EXTENSION, check_unknown_options, split_compression

WRITER_OPTION_NAMES = frozenset({"sep", "compression"})
CODECS = tuple(dict.fromkeys(COMPRESSION_BY_EXTENSION.values()))
# Characters a separator cannot be: the quote, and line ends (a record would end there).
_NOT_SEPARATORS = {'"': "the quote character", "\n": "a line end", "\r": "a line end"}


def _sep_problem(sep: Any) -> str | None:
    if not isinstance(sep, str) or len(sep) != 1 or not sep.isascii():
        return f"option 'sep' must be a single ASCII character (e.g. ';' or a tab), found {sep!r}"
    if sep in _NOT_SEPARATORS:
        return f"option 'sep' cannot be {sep!r} ({_NOT_SEPARATORS[sep]}); choose another character"
    return None


def codec(options: Mapping[str, Any]) -> str | None:
    """The compression codec the options ask for (None: plain text)."""
    value = options.get("compression")
    return None if value in (None, "none") else str(value)


def check_writer_options(options: Mapping[str, Any]) -> list[str]:
    """Every problem with an output's CSV options, as messages."""
    problems = check_unknown_options(options, WRITER_OPTION_NAMES, "csv writer")
    if "sep" in options:
        problem = _sep_problem(options["sep"])
        if problem is not None:
            problems.append(problem)
    value = options.get("compression")
    if value is not None and value != "none" and value not in CODECS:
        problems.append(
            f"option 'compression' must be one of {', '.join(CODECS)} or none, found {value!r}"
        )
    return problems


def writer_options_for(path: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` plus the compression the path's extension implies (``.csv.gz``: gzip).

    Raises :class:`UsageError` when the extension and ``options.compression`` disagree.
    """
    implied = split_compression(path)[1]
    if implied is None:
        return dict(options)
    declared = options.get("compression")
    if declared is not None and declared != implied:
        raise UsageError(
            f"output '{path}': its extension means {implied} compression, but options."
            f"compression is {declared!r}; drop the option or change the path's extension",
            file=path,
        )
    return {**options, "compression": implied}
