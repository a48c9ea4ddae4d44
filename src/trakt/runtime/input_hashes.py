"""A sha256 of every input file, for the manifest: hashed by a thread of its own while the
run reads (hashlib releases the GIL), so it mostly costs no wall time (see
benchmarks/input_hashes.py)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

BLOCK = 1 << 20


class InputHasher:
    """Hashes the files it is given, one after another, in a background thread."""

    def __init__(self) -> None:
        self._pending: list[tuple[str, Path]] = []
        self.hashes: dict[str, str] = {}  # the file's shown name -> sha256 (hex)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, files: Iterable[tuple[str, Path]]) -> None:
        """Queue ``(shown name, local path)`` pairs; the thread starts on the first."""
        with self._wake:
            self._pending.extend(files)
            self._wake.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="trakt-hash", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                shown, path = self._pending.pop(0)
            digest = self._hash(path)
            if digest is not None:
                self.hashes[shown] = digest

    def _hash(self, path: Path) -> str | None:
        sha = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while block := handle.read(BLOCK):
                    if self._stop.is_set():
                        return None
                    sha.update(block)
        except OSError:  # gone or unreadable: the read reports it, the manifest lacks a hash
            return None
        return sha.hexdigest()

    def finish(self, stop: bool = False) -> dict[str, str]:
        """Wait for every queued file (``stop``: abandon what is left); the hashes."""
        if stop:
            self._stop.set()
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        return dict(self.hashes)
