"""``LocalRunner.run(..., keep=[...])``: artifacts handed back in memory, as pandas DataFrames
in ``result["artifacts"]`` (a notebook's quick look). Batch runs copy the whole artifact;
stream runs gather the chunks as they pass (so a kept artifact costs its whole size)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from trakt.errors import UsageError, did_you_mean
from trakt.runtime.adapter import Data, as_pandas
from trakt.runtime.planning import ExecutionPlan
from trakt.runtime.stepcheck import concat_chunks

if TYPE_CHECKING:
    import pandas as pd


def check_keep(keep: Iterable[str], plan: ExecutionPlan) -> tuple[str, ...]:
    """The artifacts to keep, each one the plan reads or produces; else :class:`UsageError`."""
    known = [*plan.inputs, *(a for s in plan.steps for a in s.outputs.values())]
    names = tuple(dict.fromkeys(keep))
    for name in names:
        if name not in known:
            raise UsageError(
                f"keep={name!r}: the run has no artifact '{name}'{did_you_mean(name, known)}; "
                f"artifacts: {', '.join(known) or 'none'}"
            )
    return names


class Keeper:
    """Collects the kept artifacts of one run."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.chunks: dict[str, list[pd.DataFrame]] = {}

    def take(self, artifact: str, data: Data) -> None:
        """A whole artifact (batch): a copy, so later in-place changes do not reach it."""
        if artifact in self.names:
            self.chunks[artifact] = [as_pandas(data).copy(deep=True)]

    def wrap(self, artifact: str, chunks: Iterator[Data]) -> Iterator[Data]:
        """``chunks`` passed on unchanged, each one copied aside when the artifact is kept."""
        if artifact not in self.names:
            return chunks
        return self._gather(artifact, chunks)

    def _gather(self, artifact: str, chunks: Iterator[Data]) -> Iterator[Data]:
        gathered = self.chunks.setdefault(artifact, [])
        for chunk in chunks:
            gathered.append(as_pandas(chunk).copy(deep=True))
            yield chunk

    def result(self) -> dict[str, pd.DataFrame]:
        """The kept artifacts, each one frame."""
        return {name: concat_chunks(parts) for name, parts in self.chunks.items()}

    def clear(self) -> None:
        """Drop what was gathered (a run that failed returns nothing)."""
        self.chunks.clear()


def kept_result(keeper: Keeper, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with ``artifacts`` added when the run succeeded."""
    frames = keeper.result() if result.get("status") == "success" else {}
    keeper.clear()
    return {**result, "artifacts": frames}
