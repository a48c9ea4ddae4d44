"""TEMPORARY: the built-ins' pandas <-> polars bridge, removed when the frames engine lands.

The built-ins take and return polars frames (``run.frame = "polars"``). Until the engine
hands steps the frame library they declare, it hands every step pandas frames and expects
pandas back; :func:`bridged` wraps a built-in so that it sees polars and the engine sees
pandas. It is applied in one place (:func:`trakt.steps.builtins.lookup_builtin`) and only
while the engine does not know ``frame`` (``StepFunction`` has no ``frame`` field), so the
same tests pass before and after the merge. Nothing else may depend on this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# pandas and pyarrow are imported when data moves, not when `trakt validate` resolves a
# built-in: the conversions below import them.


def engine_knows_frames() -> bool:
    """Whether the engine converts frames itself (then the bridge steps aside)."""
    from trakt.steps.resolve import StepFunction

    return "frame" in getattr(StepFunction, "__dataclass_fields__", {})


def _mapping() -> dict[Any, Any]:
    """Trakt's dtype rules for a step's pandas frame (io/frames.py; the steps layer may not
    import io, and this module is short-lived): integers Int64, booleans boolean."""
    import pandas as pd
    import pyarrow as pa

    integers = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16())
    return {
        **{t: pd.Int64Dtype() for t in (*integers, pa.uint32())},
        pa.bool_(): pd.BooleanDtype(),
    }


def to_polars(value: Any) -> Any:
    """A pandas frame (or an iterator of them) as polars; anything else unchanged."""
    import pandas as pd
    import polars as pl

    if isinstance(value, pd.DataFrame):
        return pl.from_pandas(value, include_index=False)
    if isinstance(value, Iterator):
        return (to_polars(chunk) for chunk in value)
    return value


def to_pandas(value: Any) -> Any:
    """A polars frame (or an iterable of them) as pandas by Trakt's dtype rules."""
    import polars as pl

    if isinstance(value, pl.LazyFrame):
        value = value.collect()
    if isinstance(value, pl.DataFrame):
        # A column without a type (all nulls) is text, as Trakt reads one.
        value = value.with_columns(pl.col(pl.Null).cast(pl.String))
        table = value.to_arrow(compat_level=pl.CompatLevel.oldest())
        return table.to_pandas(types_mapper=_mapping().get)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return _chunks(value)
    return value


def _chunks(chunks: Iterable[Any]) -> Iterator[Any]:
    for chunk in chunks:
        yield to_pandas(chunk)


def bridged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking and returning pandas frames (its declarations kept)."""
    if engine_knows_frames():
        return fn

    @functools.wraps(fn)  # keeps the signature and the step's attributes
    def step(ctx: Any, **kwargs: Any) -> Any:
        result = fn(ctx, **{k: to_polars(v) for k, v in kwargs.items()})
        if isinstance(result, dict):
            return {k: to_pandas(v) for k, v in result.items()}
        return result

    return step
