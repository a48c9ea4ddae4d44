"""Locations: local paths, file:// URIs and stores (fsspec), found, sized and copied."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trakt.errors import InputError, UsageError
from trakt.io.locations import (
    StoreFile,
    StoreLocation,
    check_uri,
    is_store,
    local_path,
    redacted,
)
from trakt.io.sources import fetch, resolve_files

fsspec = pytest.importorskip("fsspec")
from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402


class FlakyFileSystem(MemoryFileSystem):  # type: ignore[misc]
    """A memory store whose reads fail half-way, as a dropped connection would."""

    protocol = "flaky"

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        if path.startswith("flaky://"):
            path = "memory://" + path[len("flaky://") :]
        return str(super()._strip_protocol(path))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode:
            raise ConnectionResetError(f"connection reset by peer while reading {path}")
        return super()._open(path, mode, **kwargs)


@pytest.fixture
def flaky(memory: Any) -> Iterator[Any]:
    fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)
    yield FlakyFileSystem()
    importlib.import_module("fsspec.registry")._registry.pop("flaky", None)


# --- naming -------------------------------------------------------------------------------


def test_a_password_in_a_uri_is_never_shown() -> None:
    assert redacted("ftp://ann:s3cret@host:2121/in/a.csv") == "ftp://ann:***@host:2121/in/a.csv"
    assert redacted("s3://bucket/in/a.csv") == "s3://bucket/in/a.csv"
    assert redacted("/data/ann:s3cret@x.csv") == "/data/ann:s3cret@x.csv"  # a path: as is


def test_local_uris_are_paths_and_stores_are_not() -> None:
    assert local_path("file:///data/a%20b.csv") == "/data/a b.csv"
    assert local_path("data/a.csv") == "data/a.csv"
    assert not is_store("file:///data/a.csv") and not is_store("C:/data/a.csv")
    assert is_store("memory://bucket/a.csv") and is_store("S3://bucket/a.csv")
    with pytest.raises(UsageError, match=r"'s3://bucket/a.csv' names a store, not a local"):
        local_path("s3://bucket/a.csv")


def test_check_uri_names_an_unknown_scheme_and_a_file_uri_with_a_host() -> None:
    assert check_uri("data/*.csv") is None and check_uri("memory://bucket/a.csv") is None
    problem = check_uri("s4://bucket/a.csv")
    assert problem is not None
    assert "no store is known for s4://" in problem and "check the scheme's spelling" in problem
    problem = check_uri("file://server/a.csv")
    assert problem is not None and "a file:// URI names a local file (file:///path)" in problem


# --- finding a store's files --------------------------------------------------------------


def test_a_glob_finds_a_stores_files_in_sorted_order_as_the_user_spells_them(
    memory: Any,
) -> None:
    for name in ("b.csv", "a.csv", "sub/c.csv", "a.txt"):
        memory.pipe(f"/bucket/in/{name}", b"id\n1\n")
    found = StoreLocation("sales", "memory://bucket/in/*.csv").files()
    assert [f.uri for f in found] == ["memory://bucket/in/a.csv", "memory://bucket/in/b.csv"]
    assert [f.size for f in found] == [5, 5]
    deep = StoreLocation("sales", "memory://bucket/in/**/*.csv").files()
    assert [f.uri for f in deep][-1] == "memory://bucket/in/sub/c.csv"


def test_a_store_file_whose_name_has_glob_characters_is_that_file(memory: Any) -> None:
    memory.pipe("/bucket/in/a[1].csv", b"id\n1\n")
    memory.pipe("/bucket/in/a1.csv", b"id\n2\n")
    [found] = StoreLocation("sales", "memory://bucket/in/a[1].csv").files()
    assert found.uri == "memory://bucket/in/a[1].csv" and found.key == "/bucket/in/a[1].csv"


def test_a_missing_store_file_a_directory_and_an_empty_glob_are_errors(memory: Any) -> None:
    memory.pipe("/bucket/in/sub/a.csv", b"id\n1\n")
    with pytest.raises(InputError, match=r"input 'sales': file not found: memory://bucket/x.csv"):
        StoreLocation("sales", "memory://bucket/x.csv").files()
    with pytest.raises(InputError, match=r"expected a file, found a directory: memory://bucket/in"):
        StoreLocation("sales", "memory://bucket/in").files()
    with pytest.raises(
        InputError, match=r"pattern 'memory://bucket/in/\*' matched no files \(only directories"
    ):
        StoreLocation("sales", "memory://bucket/in/*").files()


def test_a_store_file_is_copied_block_by_block_byte_for_byte(memory: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MiB: several copy blocks
    memory.pipe("/bucket/big.csv.gz", data)
    [source] = resolve_files("big", "memory://bucket/big.csv.gz", tmp_path, "input3")
    assert source.path == Path("input3-0-copy.csv.gz")  # keeps the extensions, not the name
    assert source.shown == source.origin == "memory://bucket/big.csv.gz"
    assert source.size == len(data)

    def create(name: str) -> Path:
        path = tmp_path / "scratch" / name
        path.parent.mkdir(exist_ok=True)
        path.touch()
        return path

    [copied] = fetch([source], create)
    assert copied.path == tmp_path / "scratch" / "input3-0-copy.csv.gz"
    assert copied.path.read_bytes() == data
    assert copied.store is None and copied.shown == "memory://bucket/big.csv.gz"
    assert copied.request({}).shown == "memory://bucket/big.csv.gz"  # errors name the store


def test_a_read_that_fails_names_the_input_and_the_uri(flaky: Any, tmp_path: Path) -> None:
    flaky.pipe("/bucket/a.csv", b"id\n1\n")
    location = StoreLocation("sales", "flaky://bucket/a.csv")
    [found] = location.files()
    dest = tmp_path / "copy.csv"
    dest.touch()
    with pytest.raises(InputError) as caught:
        location.copy(StoreFile(found.uri, found.size, found.key), dest)
    message = caught.value.message
    assert message.startswith("input 'sales': cannot read flaky://bucket/a.csv: connection reset")
    assert "check the uri, the store's credentials and that it can be reached" in message
    assert caught.value.fields["file"] == "flaky://bucket/a.csv"
