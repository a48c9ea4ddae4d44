"""One run at a time per output prefix on an object store: a lease on a lock object.

A store has no ``flock`` that dies with its process, so the lock is an object,
``<prefix>/.trakt.lock``, holding the run, its host and pid, and when its lease ends. It is
created only if absent (S3: a conditional write, ``If-None-Match: *``), renewed by a thread of
the run while it is held, and deleted at the end. A run that finds it:

- held by a live run (the lease not over): refused, naming that run;
- left by a run that died (the lease over, or the pid gone on this very host): taken over
  (S3: a conditional write ``If-Match`` on the object seen, so two runs cannot both take it).

Where the store does not honour the conditions (fsspec stores other than S3; an S3-compatible
server that ignores them), the create is a look then a write: two runs started at the same
instant could both go on. ARCHITECTURE.md and the README say so.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trakt.errors import OutputError
from trakt.runtime.outdir import LOCK_NAME, OutputDirLocked

LEASE_S = 60.0  # a killed run's lock stops others for at most this long (another host)
RENEW_S = LEASE_S / 4


class StoreLock:
    """The lock object of one output prefix (see the module docstring)."""

    def __init__(
        self,
        fs: Any,
        root: str,
        shown: str,
        run_id: str,
        fail: Callable[[str, BaseException], OutputError],
    ) -> None:
        self.fs = fs
        self.path = f"{root}/{LOCK_NAME}"
        self.shown = shown
        self.run_id = run_id
        self.fail = fail
        self.conditional = "s3" in _protocols(fs)
        self.lost: str | None = None  # why the lease was lost while held (another run took it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._etag: str | None = None

    def _body(self) -> bytes:
        until = datetime.fromtimestamp(time.time() + LEASE_S, UTC)
        return json.dumps(
            {
                "run_id": self.run_id,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "expires_at": until.isoformat(timespec="seconds").replace("+00:00", "Z"),
            }
        ).encode()

    def acquire(self) -> None:
        """Take the lock, or raise :class:`OutputDirLocked` naming the run holding it."""
        for _ in range(3):  # a lock deleted or taken over between looks: look again
            if self._create():
                break
            held = self._read()
            if held is None:
                continue
            holder, etag = held
            if not _dead(holder):
                raise OutputDirLocked(
                    f"output dir {self.shown} is in use by run {holder.get('run_id')} (host "
                    f"{holder.get('host')}, pid {holder.get('pid')}, lease until "
                    f"{holder.get('expires_at')}); wait for it to finish or choose another "
                    f"--output-dir (a run that was killed on another host holds it until its "
                    f"lease ends, at most {LEASE_S:.0f} s)",
                    file=self.shown,
                )
            if self._take_over(etag):
                break
        else:
            raise OutputDirLocked(
                f"output dir {self.shown}: other runs keep taking its lock; try again",
                file=self.shown,
            )
        self._thread = threading.Thread(target=self._renew, name="trakt-lock-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop renewing and delete the lock object (if it is still this run's)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        held = self._read()
        if held is not None and held[0].get("run_id") == self.run_id:
            with contextlib.suppress(Exception):  # if not deleted, its lease ends on its own
                self.fs.rm_file(self.path)

    def _create(self) -> bool:
        """Write the lock object only if there is none; whether this run now holds it."""
        body = self._body()
        try:
            if self.conditional:
                self.fs.pipe_file(self.path, body, mode="create")
            else:  # no condition to ask for: look, then write (documented race)
                if self.fs.exists(self.path):
                    return False
                self.fs.pipe_file(self.path, body)
        except FileExistsError:
            return False
        except Exception as exc:
            raise self.fail(f"cannot create its lock {LOCK_NAME}", exc) from None
        held = self._read()  # a store that ignored the condition shows another run's here
        return held is not None and held[0].get("run_id") == self.run_id

    def _read(self) -> tuple[dict[str, Any], str | None] | None:
        try:
            self.fs.invalidate_cache(self.path)  # a listing's cached entry would be stale
            info = self.fs.info(self.path)
            data = json.loads(self.fs.cat_file(self.path))
        except FileNotFoundError:
            return None
        except ValueError:
            data = {}  # not a lock Trakt wrote: treated as one whose lease is over
        except Exception as exc:
            raise self.fail(f"cannot read its lock {LOCK_NAME}", exc) from None
        etag = info.get("ETag") if isinstance(info, dict) else None
        return (data if isinstance(data, dict) else {}), etag

    def _take_over(self, etag: str | None) -> bool:
        """Replace a dead run's lock; only one of two runs doing so at once wins on S3."""
        try:
            if self.conditional and etag:
                self.fs.pipe_file(self.path, self._body(), IfMatch=etag)
            else:
                self.fs.rm_file(self.path)
                return self._create()
        except (FileNotFoundError, FileExistsError):
            return False
        except OSError as exc:
            if "Precondition" in str(exc) or "412" in str(exc):
                return False  # another run took it first
            raise self.fail(f"cannot take over its lock {LOCK_NAME}", exc) from None
        except Exception as exc:
            raise self.fail(f"cannot take over its lock {LOCK_NAME}", exc) from None
        held = self._read()
        return held is not None and held[0].get("run_id") == self.run_id

    def _renew(self) -> None:
        """While held: push the lease forward; a lock another run took is noted as lost."""
        while not self._stop.wait(RENEW_S):
            try:
                held = self._read()
                if held is None or held[0].get("run_id") != self.run_id:
                    self.lost = "another run took over its lock while this run held it"
                    return
                self.fs.pipe_file(self.path, self._body())
            except Exception:  # a network blip: the next renewal tries again
                continue


def _dead(holder: dict[str, Any]) -> bool:
    """Whether the run holding a lock is gone: its lease is over, or it ran on this host
    under a pid that no longer exists."""
    try:
        until = datetime.fromisoformat(str(holder["expires_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return True  # not a lock Trakt wrote
    if until.timestamp() <= time.time():
        return True
    pid = holder.get("pid")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, another user's
            return False
    return False


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
