"""Counts and events that executors report to the driver, and failures they raise.

Rows are counted per (what, name, binding, partition) in one dict accumulator whose merge
keeps the last value per key: a partition computed twice (a retried task, a sample taken
for a schema) counts once. Executors raise failures with a JSON marker the driver reads
back into the same :class:`TraktError` the local runner raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyspark.accumulators import AccumulatorParam

Key = tuple[str, str, str, int]
MARK = re.compile(r"TRAKT-FAILURE(\{.*?\})END-TRAKT-FAILURE")


class LastWins(AccumulatorParam):  # type: ignore[type-arg]
    """Dict accumulator: one value per key, the latest report wins."""

    def zero(self, value: dict[Key, Any]) -> dict[Key, Any]:
        return {}

    def addInPlace(self, first: dict[Key, Any], second: dict[Key, Any]) -> dict[Key, Any]:
        first.update(second)
        return first


def partition_id() -> int:
    """This task's partition, or -1 on the driver."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return -1 if context is None else context.partitionId()


def total(values: dict[Key, Any], what: str, name: str, binding: str) -> int:
    """The rows counted under (what, name, binding), all partitions."""
    return sum(
        v for (w, n, b, p), v in values.items() if (w, n, b) == (what, name, binding) and p >= 0
    )


def bindings(values: dict[Key, Any], what: str, name: str) -> list[str]:
    """The bindings counted under (what, name), sorted."""
    return sorted({b for (w, n, b, p) in values if (w, n) == (what, name) and p >= 0})


def events(values: dict[Key, Any], step_id: str) -> list[dict[str, Any]]:
    """A step's events from every partition, in partition order."""
    found = [(p, v) for (w, n, _, p), v in values.items() if (w, n) == ("events", step_id)]
    return [event for p, listed in sorted(found) if p >= 0 for event in listed]


def failure(**fields: Any) -> RuntimeError:
    """An executor's failure, carrying what the driver needs to rebuild the error."""
    return RuntimeError("TRAKT-FAILURE" + json.dumps(fields) + "END-TRAKT-FAILURE")


def read_failure(exc: BaseException) -> dict[str, Any] | None:
    """The fields of a failure raised by :func:`failure` somewhere in a Spark job."""
    found = MARK.search(str(exc))
    return json.loads(found.group(1)) if found else None
