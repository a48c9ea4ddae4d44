"""moto's standalone S3 server on 127.0.0.1 and a free port: a real S3-compatible HTTP server
the S3 tests (marker ``s3``) read and write through s3fs, as Trakt would against AWS."""

from __future__ import annotations

import itertools
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

_buckets = itertools.count()
# moto takes any credentials; these are what the tests check never appear in Trakt's output.
ACCESS_KEY = "AKIATRAKTTESTKEY0001"
SECRET_KEY = "trakt-secret-Zx9Q-never-shown"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3:
    """One test's bucket on the server, and an s3fs filesystem to look at it."""

    endpoint: str
    bucket: str
    fs: Any

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}"

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.bucket}/{key}", data)

    def get(self, key: str) -> bytes:
        return bytes(self.fs.cat_file(f"{self.bucket}/{key}"))

    def listing(self) -> list[str]:
        """Every object in the bucket, relative to it, sorted."""
        self.fs.invalidate_cache()
        found = self.fs.find(self.bucket)
        return sorted(k.removeprefix(f"{self.bucket}/") for k in found)

    def options(self) -> str:
        """storage_options as YAML flow mapping (endpoint and credentials)."""
        return f"{{endpoint_url: '{self.endpoint}', key: {ACCESS_KEY}, secret: {SECRET_KEY}}}"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The server, started once for the session and stopped afterwards."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A fresh bucket; the AWS variables point s3fs at the server (no endpoint in the YAML
    needed), and nothing reaches the network outside it."""
    import s3fs

    for name, value in {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    fs = s3fs.S3FileSystem(
        endpoint_url=s3_endpoint, key=ACCESS_KEY, secret=SECRET_KEY, skip_instance_cache=True
    )
    bucket = f"trakt-test-{next(_buckets)}"
    fs.mkdir(bucket)
    return S3(s3_endpoint, bucket, fs)
