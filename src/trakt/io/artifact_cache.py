"""Where a run keeps its intermediate artifacts for later partial runs: Parquet files
``_artifact.<artifact>.parquet`` in the output dir (Parquet keeps every column's type
exactly, which a CSV output read back would guess again)."""

from __future__ import annotations

CACHE_FORMAT = "parquet"
CACHE_PREFIX = "_artifact."


def cache_file_name(artifact: str) -> str:
    """The file name an artifact is kept under in an output dir."""
    return f"{CACHE_PREFIX}{artifact}.parquet"
