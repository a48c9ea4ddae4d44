"""The step log (:class:`trakt.progress.StepLog`): one line when a step starts, one when it
finishes, the latter with rows a query counts after the step itself returned."""

from __future__ import annotations

import logging

import pytest

from trakt.progress import StepLog
from trakt.runtime.manifest import Manifest, StepRecord


def _finished(step_id: str, counting: int) -> StepRecord:
    record = StepRecord(step_id, "trakt.derive", frame="polars")
    record.start()
    record.rows_in, record.rows_out = {"input": 0}, {"output": 0}
    record.counting = counting
    record.finish("success")
    return record


def test_a_finish_line_waits_for_the_rows_a_query_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifest = Manifest("r1", {"name": "p"}, "batch", "0")
    record = _finished("double", counting=2)
    manifest.steps.append(record)
    steps = StepLog(logging.getLogger("trakt.steps.test"))
    steps.manifest = manifest  # polled by hand: no thread
    with caplog.at_level(logging.INFO, logger="trakt.steps.test"):
        steps._poll()
        assert caplog.messages == ["step double started"]
        record.rows_in["input"], record.rows_out["output"] = 5000, 2500
        record.counting = 0  # the query ran
        steps._poll()
    assert caplog.messages[1].startswith("step double success: 5,000 rows in, 2,500 rows out")


def test_at_the_end_a_count_that_never_came_is_a_question_mark(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifest = Manifest("r1", {"name": "p"}, "batch", "0")
    manifest.steps.append(_finished("double", counting=1))
    steps = StepLog(logging.getLogger("trakt.steps.test"))
    steps.manifest = manifest
    with caplog.at_level(logging.INFO, logger="trakt.steps.test"):
        steps.finish()
    assert caplog.messages[1].startswith("step double success: ? rows in, ? rows out")
    assert caplog.records[1].rows_in is None  # the JSON log's field: not a made-up 0
