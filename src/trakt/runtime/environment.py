"""The manifest's ``environment``: what a run ran on (Python, Trakt and library versions, the
platform, the pipeline file's git commit), so a result can be traced to its software."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from trakt._version import __version__

# Always recorded (installed or not): the libraries every run's data goes through.
KEY_LIBRARIES = ("pandas", "pyarrow", "polars", "numpy")
# Recorded when the run imported them (a format's or a store's library).
OPTIONAL_LIBRARIES = {
    "openpyxl": "openpyxl",
    "sqlalchemy": "sqlalchemy",
    "psycopg": "psycopg",
    "fsspec": "fsspec",
    "s3fs": "s3fs",
    "zstandard": "zstandard",
    "opentelemetry": "opentelemetry-api",
}
GIT_TIMEOUT_S = 5.0


def run_environment(pipeline_file: str | None) -> dict[str, Any]:
    """Python, Trakt, the key libraries' versions, the platform, and ``git`` (commit and
    dirty flag) when the pipeline file is in a git work tree and git answers in time."""
    found: dict[str, Any] = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "trakt": __version__,
        "libraries": {name: _version(name) for name in KEY_LIBRARIES},
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    git = git_state(Path(pipeline_file).parent) if pipeline_file else None
    if git is not None:
        found["git"] = git
    return found


def add_imported_libraries(environment: dict[str, Any]) -> None:
    """The optional libraries the run has imported by now, added to ``libraries``."""
    libraries = environment.setdefault("libraries", {})
    for module, distribution in OPTIONAL_LIBRARIES.items():
        if module in sys.modules and module not in libraries:
            libraries[module] = _version(distribution)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def git_state(directory: Path) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the work tree holding ``directory``; None without git, outside
    a work tree, or when git takes longer than :data:`GIT_TIMEOUT_S`. ``dirty``: a tracked
    file differs from the commit (untracked files, e.g. an output dir, do not count)."""
    commit = _git(directory, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return None
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _git(directory: Path, *args: str) -> str | None:
    # GIT_DIR and friends (set inside a git hook, say) would point git at another repository.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    return done.stdout.strip() if done.returncode == 0 else None
