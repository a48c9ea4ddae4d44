"""The output dir's lock: one run at a time, and no `.trakt.lock` left behind by a run that ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trakt.runtime.outdir import LOCK_NAME, OutputDirLock, OutputDirLocked


def test_a_run_that_ends_removes_its_lock_file(tmp_path: Path) -> None:
    lock = OutputDirLock(tmp_path, "first")
    lock.acquire()
    assert (tmp_path / LOCK_NAME).read_text() == f"run first (pid {os.getpid()})\n"
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    first = OutputDirLock(tmp_path, "first")
    first.acquire()
    try:
        with pytest.raises(OutputDirLocked, match=r"is in use by run first \(pid \d+\)"):
            OutputDirLock(tmp_path, "second").acquire()
    finally:
        first.release()
    second = OutputDirLock(tmp_path, "second")
    second.acquire()  # free again once the first ended
    second.release()


def test_a_killed_runs_lock_file_is_taken_over_and_removed(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("run killed (pid 1)\n")  # no flock: its process died
    lock = OutputDirLock(tmp_path, "next")
    lock.acquire()
    assert (tmp_path / LOCK_NAME).read_text().startswith("run next (pid ")
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_lock_on_a_file_already_removed_is_taken_again_on_the_new_file(tmp_path: Path) -> None:
    # The race the removal opens: run B opened the lock file, run A removed it and ended, and
    # run C created a new one. B's flock on the old, nameless file must not count as the lock.
    first = OutputDirLock(tmp_path, "a")
    first.acquire()
    # B's handle, opened before A ended.
    with open(tmp_path / LOCK_NAME, encoding="utf-8") as stale:
        first.release()
        third = OutputDirLock(tmp_path, "c")
        third.acquire()
        try:
            second = OutputDirLock(tmp_path, "b")
            assert not second._still_named(stale)  # what B checks after its flock
            with pytest.raises(OutputDirLocked, match=r"in use by run c"):
                second.acquire()
        finally:
            third.release()
