"""What a step returned, checked; failures attributed to the step they surfaced in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trakt.errors import StepError, TraktError
from trakt.io.base import is_pandas
from trakt.runtime.adapter import Data, is_frame, result_table
from trakt.runtime.context import StepContext
from trakt.runtime.manifest import StepRecord
from trakt.runtime.planning import StepPlan

if TYPE_CHECKING:
    import pandas as pd


def check_outputs(step: StepPlan, result: Any, kind: str = "a pandas DataFrame") -> dict[str, Any]:
    """The step's result must map exactly its output bindings to values."""
    expected = set(step.outputs)
    if not isinstance(result, Mapping):
        raise StepError(
            f"step '{step.id}' must return a dict of {sorted(expected)} -> {kind}, "
            f"but returned {type(result).__name__}",
            step_id=step.id,
        )
    missing = sorted(expected - set(result))
    extra = sorted(set(map(str, result)) - expected)
    if missing or extra:
        raise StepError(
            f"step '{step.id}' returned keys {sorted(map(str, result))}; expected "
            f"{sorted(expected)} (missing {missing}, unexpected {extra})",
            step_id=step.id,
        )
    return dict(result)


FRAMES_EXPECTED = "a pandas DataFrame, a polars DataFrame or LazyFrame, or a pyarrow Table"


def check_frame(step: StepPlan, binding: str, value: Any, what: str = "") -> Data:
    """A step's output must be a frame of one of the libraries (whatever its own ``frame``)."""
    if not is_frame(value):
        raise StepError(
            f"step '{step.id}' returned {type(value).__name__} for output '{binding}'{what}; "
            f"expected {FRAMES_EXPECTED}",
            step_id=step.id,
        )
    return value


def check_chunks(step: StepPlan, binding: str, value: Any) -> Iterator[Any]:
    if is_frame(value) or not isinstance(value, Iterable):
        raise StepError(
            f"step '{step.id}' is stream-capable but returned {type(value).__name__} for output "
            f"'{binding}'; return an iterator (or generator) of DataFrames",
            step_id=step.id,
        )
    return iter(value)


def claim(exc: TraktError, step_id: str) -> None:
    """Attribute an error to the step it surfaced in, unless it belongs to an input (a read
    that failed while the step pulled from it) or to another step."""
    if "artifact" not in exc.fields:
        exc.fields.setdefault("step_id", step_id)


def finish_failed(record: StepRecord, ctx: StepContext, exc: BaseException, step_id: str) -> None:
    if isinstance(exc, TraktError):
        claim(exc, step_id)
    record.events = [e.to_dict() for e in ctx.events]
    record.finish("failed")


def concat_results(chunks: list[Data]) -> Data:
    """A stream-capable step's chunks in a batch run as one: pandas chunks as one frame,
    any other mix as one Arrow table."""
    frames = [c for c in chunks if is_pandas(c)]
    if len(frames) == len(chunks):
        return concat_chunks(frames)
    tables = [result_table(c) for c in chunks]
    return pa.concat_tables(tables, promote_options="permissive")


def concat_chunks(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunks as one frame; a named index (e.g. from groupby) is data and is kept."""
    import pandas as pd

    if not chunks:
        return pd.DataFrame()
    if any(name is not None for name in chunks[0].index.names):
        return pd.concat(chunks)
    return pd.concat(chunks, ignore_index=True)
