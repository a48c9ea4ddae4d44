"""Locations: where an input's files are, named by a URI.

A plain path or a ``file://`` URI is a local location (pathlib: the files are read where they
are; the output dir keeps ``rename`` and ``flock``). Any other scheme fsspec knows
(``memory://``, ``s3://`` with s3fs, ``gs://`` with gcsfs, ...) is a store location: its files
are found (globs included) and sized through fsspec, and copied once into the run's scratch
dir before a format reads them, so every reader, error and line number works as for a local
file, while the manifest and every message name the store's URI.

This module stays light: fsspec is imported only when a store URI is met, so validating a
pipeline of local files imports nothing more.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from trakt.errors import InputError, UsageError

T = TypeVar("T")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB_CHARS = set("*?[")
LOCAL_SCHEMES = frozenset({"file", "local"})
COPY_BLOCK = 1 << 20  # a store file is copied in blocks: memory stays bounded
# s3fs reads ahead 50 MiB and uploads up to 10 parts of 50 MiB at once by default (measured:
# a 1M-row stream run on Lambda peaked ~490 MiB); these keep a store transfer to ~16 MiB.
READ_AHEAD = 8 << 20
UPLOAD_PART = 8 << 20
UPLOAD_CONCURRENCY = 2
# storage_options keys whose values are credentials: never shown (key, secret, token,
# password, aws_secret_access_key, account_key, sas_token, client_secret, ...).
_SECRET_KEY = re.compile(r"key|secret|token|passw|credential|auth|signature|sas", re.IGNORECASE)


def uri_scheme(uri: str) -> str | None:
    """``s3`` for ``s3://bucket/key``; None for a plain path."""
    found = _SCHEME.match(uri)
    return found.group(1).lower() if found else None


def is_store(uri: str) -> bool:
    """Whether ``uri`` names a store (not a local path or ``file://`` URI)."""
    scheme = uri_scheme(uri)
    return scheme is not None and scheme not in LOCAL_SCHEMES


def is_glob(uri: str) -> bool:
    """Whether ``uri`` holds a glob character (``*``, ``?``, ``[``)."""
    return any(c in _GLOB_CHARS for c in uri)


def redacted(uri: str) -> str:
    """``uri`` as manifests, logs and errors show it: a password in it becomes ``***``."""
    if not is_store(uri):
        return uri
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def join_uri(base: str, relative: str) -> str:
    """``relative`` (a path with ``/``) under the store URI ``base``: ``s3://b/in`` +
    ``a/*.csv`` -> ``s3://b/in/a/*.csv``."""
    return base.rstrip("/") + "/" + relative.lstrip("/")


def secret_values(options: Mapping[str, Any]) -> list[str]:
    """Every credential in ``storage_options`` (nested mappings too: ``client_kwargs``), by
    key name; the values errors are scrubbed of. Longest first, so a secret that contains
    another is scrubbed whole."""
    found: list[str] = []

    def walk(mapping: Mapping[str, Any], secret: bool) -> None:
        for key, value in mapping.items():
            hidden = secret or bool(_SECRET_KEY.search(str(key)))
            if isinstance(value, Mapping):
                walk(value, hidden)
            elif hidden and value is not None and not isinstance(value, bool):
                text = str(value)
                if len(text) >= 3:  # "1" or "" scrubbed would mangle every message
                    found.append(text)

    walk(options, False)
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def open_store(uri: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """(fsspec filesystem, path in it) for a store URI with ``storage_options``.

    A filesystem of its own, not fsspec's process-wide instance cache: one run's settings
    (credentials, endpoints) never carry over into the next run's."""
    from fsspec.core import url_to_fs

    return url_to_fs(uri, skip_instance_cache=True, **dict(options or {}))  # type: ignore[no-any-return]


def local_path(uri: str) -> str:
    """A local uri as a path: ``file:///data/a%20b.csv`` -> ``/data/a b.csv``; a path as is.

    Raises :class:`UsageError` for a store URI (it has no local path)."""
    scheme = uri_scheme(uri)
    if scheme is None:
        return uri
    if scheme not in LOCAL_SCHEMES:
        raise UsageError(f"'{redacted(uri)}' names a store, not a local file")
    parsed = urlsplit(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"'{uri}': a file:// URI names a local file (file:///path)")
    return unquote(parsed.path)


def store_path(uri: str) -> str:
    """The path part of a uri, for telling its format by extension (``s3://b/a.csv`` ->
    ``/a.csv``; a local uri's path)."""
    if not is_store(uri):
        return local_path(uri)
    return urlsplit(uri).path or uri


def check_uri(uri: str) -> str | None:
    """What is wrong with ``uri`` as a location, or None: an unknown scheme, or a store whose
    fsspec package is not installed (looked up, not imported)."""
    scheme = uri_scheme(uri)
    if scheme is None:
        return None
    if scheme in LOCAL_SCHEMES:
        try:
            local_path(uri)
        except UsageError as exc:
            return exc.message
        return None
    if importlib.util.find_spec("fsspec") is None:
        return f"reading {scheme}:// needs fsspec: python -m pip install fsspec"
    from fsspec.registry import known_implementations, registry

    if scheme in registry:
        return None
    known = known_implementations.get(scheme)
    if known is None:
        return (
            f"no store is known for {scheme}:// (found in {redacted(uri)!r}); Trakt reads local "
            "paths, file:// URIs and the stores fsspec knows (s3://, gs://, az://, memory://, "
            "...): check the scheme's spelling"
        )
    package = str(known["class"]).split(".", 1)[0]
    if importlib.util.find_spec(package) is None:
        why = known.get("err") or f"install {package}"
        return (
            f"reading {scheme}:// needs the {package} package ({why}): "
            f"python -m pip install {package}"
        )
    return None


@dataclass(frozen=True)
class StoreFile:
    """One file of a store: its URI as shown (the user's spelling, no password) and size."""

    uri: str
    size: int
    key: str  # the store's own name of it (fsspec path)


class StoreLocation:
    """A store location: files found, sized and copied through one fsspec filesystem.

    Nothing here needs a rename or a lock, which stores do not have: inputs are only read.
    ``storage_options`` go to fsspec (endpoint, credentials...); their secrets never appear
    in an error."""

    def __init__(
        self, artifact: str, uri: str, storage_options: Mapping[str, Any] | None = None
    ) -> None:
        self.artifact = artifact
        self.uri = uri
        self.shown = redacted(uri)
        self.secrets = secret_values(storage_options or {})
        self.fs, self.path = self._call(lambda: open_store(uri, storage_options), "cannot open")

    def files(self) -> list[StoreFile]:
        """The files the uri names, in sorted order: the file itself when one exists under
        that exact name; otherwise, for a glob, every file it matches."""
        info = self._call(lambda: _info(self.fs, self.path), "cannot look up")
        if info is not None and info.get("type") == "file":
            return [StoreFile(self.shown, int(info.get("size") or 0), self.path)]
        if info is not None and info.get("type") == "directory":
            raise self._error(f"expected a file, found a directory: {self.shown}")
        if not is_glob(self.path):
            raise self._error(f"file not found: {self.shown}")
        found = self._call(lambda: self.fs.glob(self.path, detail=True), "cannot list")
        matches = sorted(found.items())
        files = [
            StoreFile(self._shown(key), int(meta.get("size") or 0), key)
            for key, meta in matches
            if meta.get("type") == "file"
        ]
        if not files:
            only_dirs = " (only directories matched)" if matches else ""
            raise self._error(f"pattern '{self.shown}' matched no files{only_dirs}")
        return files

    def copy(self, f: StoreFile, dest: Path) -> None:
        """Copy ``f`` into the local file ``dest`` (which exists, empty), block by block."""

        def copy() -> None:
            with self.fs.open(f.key, "rb", block_size=READ_AHEAD) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, COPY_BLOCK)

        self._call(copy, f"cannot read {f.uri}:", shown=f.uri)

    def reading(self, f: StoreFile, use: Callable[[BinaryIO], T]) -> T:
        """``use`` applied to ``f`` opened for reading: only the blocks it reads are fetched
        (a header, a footer), not the whole file."""

        def read() -> T:
            with self.fs.open(f.key, "rb", block_size=COPY_BLOCK) as src:
                return use(src)

        return self._call(read, f"cannot read {f.uri}:", shown=f.uri)  # type: ignore[no-any-return]

    def _shown(self, key: str) -> str:
        """A matched key in the user's spelling: the pattern's directory as written, then
        the rest of the key (fsspec's own spelling may add or drop a leading ``/``)."""
        pattern_dir = self.path[: _glob_start(self.path)].rpartition("/")[0]
        uri_dir = self.shown[: _glob_start(self.shown)].rpartition("/")[0]
        if pattern_dir and key.startswith(pattern_dir + "/"):
            return uri_dir + key[len(pattern_dir) :]
        return redacted(str(self.fs.unstrip_protocol(key)))

    def _error(self, message: str, shown: str | None = None) -> InputError:
        return InputError(
            f"input '{self.artifact}': {message}",
            artifact=self.artifact,
            file=shown or self.shown,
        )

    def _call(self, action: Callable[[], Any], doing: str, shown: str | None = None) -> Any:
        """``action``, with a store's failure (missing package, no such bucket, a network
        error, refused credentials) made an :class:`InputError` naming the input and URI."""
        try:
            return action()
        except InputError:
            raise
        except ImportError as exc:  # fsspec: "Install s3fs to access S3"
            raise self._error(f"cannot read {self.shown}: {exc}", shown) from None
        except Exception as exc:  # stores raise their own kinds (botocore, aiohttp...)
            what = doing if doing.endswith(":") else f"{doing} {self.shown}:"
            text = store_error_text(exc, self.uri, self.secrets)
            raise self._error(
                f"{what} {text}; check the uri, the store's credentials and that it can be reached",
                shown,
            ) from None


def upload(fs: Any, local: str, key: str) -> None:
    """Put a local file at ``key``, in parts of bounded size on S3 (see :data:`UPLOAD_PART`)."""
    protocol = getattr(fs, "protocol", ())
    if "s3" in ((protocol,) if isinstance(protocol, str) else tuple(protocol)):
        fs.put_file(local, key, chunksize=UPLOAD_PART, max_concurrency=UPLOAD_CONCURRENCY)
    else:
        fs.put_file(local, key)


def store_error_text(exc: BaseException, uri: str, secrets: Iterable[str]) -> str:
    """A store's exception as one message: the URI's password and every secret of its
    storage_options scrubbed (a library may quote its arguments: ``unexpected keyword``...)."""
    text = str(exc).replace(uri, redacted(uri)) or type(exc).__name__
    return scrub(text, secrets)


def _info(fs: Any, path: str) -> dict[str, Any] | None:
    try:
        return fs.info(path)  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None


def _glob_start(text: str) -> int:
    """Where the first glob character is (the length when there is none)."""
    return next((i for i, c in enumerate(text) if c in _GLOB_CHARS), len(text))
