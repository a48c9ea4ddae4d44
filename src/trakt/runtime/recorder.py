"""The run recorder: owns the manifest (typed records), writes it atomically, and turns the
way a run ended into the manifest's status and error and the caller's result."""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trakt.runtime.endings import with_header_hints
from trakt.runtime.manifest import Manifest, write_json_atomic


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    On Linux from VmHWM, which starts afresh at exec; ``ru_maxrss`` would also count the
    pages of the parent process this one was forked from."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class RunRecorder:
    """The manifest of one run and where it is written; progress displays and tracing read
    ``manifest`` (live while the run goes on)."""

    def __init__(
        self,
        manifest: Manifest,
        path: Path,
        shown_path: str = "",
        upload: Callable[[Path], None] | None = None,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.shown_path = shown_path or str(path)
        self.upload = upload  # a manifest on a store: the local file is uploaded after each write

    def failed(self, error: dict[str, Any]) -> None:
        """The run failed: nothing of it was published."""
        self.manifest.finish("failed", with_header_hints(error, self.manifest.inputs))
        self.manifest.outputs.clear()

    def cancelled(self, signal_name: str, step_id: str | None) -> None:
        """A signal (or Ctrl-C) stopped the run: nothing of it was published."""
        self.manifest.finish(
            "cancelled",
            {"type": signal_name, "message": f"cancelled by {signal_name}", "step_id": step_id},
        )
        self.manifest.outputs.clear()

    def write(self) -> None:
        """Write the manifest as it is now (atomically), with the peak memory so far."""
        self.manifest.peak_rss_bytes = peak_rss_bytes()
        write_json_atomic(self.path, self.manifest.to_dict())
        if self.upload is not None:
            self.upload(self.path)

    def result(self, exit_code: int) -> dict[str, Any]:
        """What ``LocalRunner.run`` returns."""
        manifest = self.manifest
        ok = manifest.status == "success"
        return {
            "status": manifest.status,
            "run_id": manifest.run_id,
            "manifest_path": self.shown_path,
            "outputs": {o.name: o.path for o in manifest.outputs} if ok else {},
            "error": manifest.error,
            "duration_s": manifest.duration_s,
            "exit_code": exit_code,
        }
