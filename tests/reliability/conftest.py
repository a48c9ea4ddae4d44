"""The ``launched`` fixture: every table-driven fault case, its CLI child started up front.

The CLI's start-up (~1 s of CPU: pandas, pyarrow, polars) dominates, so every case that only
starts a child and waits for it is started in a small pool, and each test waits for its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.reliability.cases import TABLES
from tests.reliability.harness import (
    POOL,
    Env,
    Launched,
    Unavailable,
    input_files,
    published,
    run_child,
)
from tests.reliability.setups import CASES


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Launched]]:
    """Set up every table case (good run first), and start its CLI child in the pool."""
    runs: dict[str, Launched] = {}
    prepares: dict[str, Callable[[Env], list[str]]] = {
        f"{table}/{name}": fault.prepare
        for table, faults in TABLES.items()
        for name, fault in faults.items()
    }
    prepares.update({f"ok/{name}": prepare for name, prepare in CASES.items()})
    for key, prepare in prepares.items():
        assert prepare is not None
        env = Env(tmp_path_factory.mktemp(key.replace("/", "-")))
        env.good_run()
        try:
            argv = prepare(env)
        except Unavailable as why:
            runs[key] = Launched(env, {}, {}, None, str(why))
            continue
        before, inputs = published(env.out), input_files(env)
        runs[key] = Launched(env, before, inputs, POOL.submit(run_child, argv, env.root))
    yield runs
    for run in runs.values():
        if run.future is not None:
            run.future.cancel()
