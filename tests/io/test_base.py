"""``io.base.scratch_memory``: Arrow's allocations inside go to the system allocator when the
process runs on jemalloc (the CLI's pool), and the pool is put back whatever happens. And
``is_pandas`` while pandas is half imported."""

from __future__ import annotations

import sys
import types

import pyarrow as pa
import pytest

from trakt.io.base import is_pandas, scratch_memory


def _jemalloc() -> pa.MemoryPool:
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc
        pytest.skip("this pyarrow has no jemalloc")


def test_inside_the_system_pool_then_jemalloc_again() -> None:
    before = pa.default_memory_pool()
    pa.set_memory_pool(_jemalloc())
    try:
        with scratch_memory():
            assert pa.default_memory_pool().backend_name == "system"
            table = pa.table({"a": list(range(1000))})  # allocated inside, used after
        assert pa.default_memory_pool().backend_name == "jemalloc"
        assert table.column("a").to_pylist()[-1] == 999
        with pytest.raises(ValueError, match="boom"), scratch_memory():
            raise ValueError("boom")
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)


def test_any_other_pool_is_left_as_it_is() -> None:
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    try:
        with scratch_memory():
            assert pa.default_memory_pool().backend_name == "mimalloc"
        assert pa.default_memory_pool().backend_name == "mimalloc"
    finally:
        pa.set_memory_pool(before)


def test_is_pandas_while_another_thread_imports_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas half imported (in sys.modules, no DataFrame yet: another thread is importing
    it): nothing can be a pandas frame yet, and asking must not raise AttributeError."""
    half = types.ModuleType("pandas")
    monkeypatch.setitem(sys.modules, "pandas", half)
    assert is_pandas(object()) is False
    monkeypatch.setattr(half, "DataFrame", dict, raising=False)
    assert is_pandas({}) is True
    monkeypatch.delitem(sys.modules, "pandas")
    assert is_pandas({}) is False
