"""Step code on the executors: a step's module is named, not pickled, and its top-level package
(or single module) is zipped and added with ``addPyFile`` unless the executors can import it
already (an installed package). Executors import it afresh from that zip, so two pipelines
whose step packages share a name (``steps``) never see each other's modules in a reused worker.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMPORT_FAILED = "cannot be imported on the Spark executors"


@dataclass(frozen=True)
class StepRef:
    """How an executor finds a step function: module and name, the zip shipping its package
    (None: importable as installed), or the function itself when it has no module file."""

    module: str
    qualname: str
    archive: str | None = None
    by_value: Callable[..., Any] | None = None


def _installed_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    roots = {paths.get("purelib"), paths.get("platlib"), paths.get("stdlib")}
    return [Path(p).resolve() for p in roots if p]


def _package_root(module_name: str) -> tuple[Path, str] | None:
    """(directory holding the top-level package or module, its name) of a loaded module."""
    top = module_name.split(".")[0]
    module = sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    if path.name == "__init__.py":
        return path.parent.parent, top
    return path.parent, top


def _zip(root: Path, top: str, scratch: Path) -> Path:
    """The package ``root/top`` (or module ``root/top.py``) zipped, named by its content."""
    package = root / top
    files = (
        sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
        if package.is_dir()
        else [root / f"{top}.py"]
    )
    # Named by place and content: Spark refuses one file name added from two places, and
    # a session reused by several runs adds each package once.
    digest = hashlib.sha256(str(root).encode() + b"\0")
    for f in files:
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    target = scratch / f"trakt-steps-{top}-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        scratch.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w") as archive:
            for f in files:
                archive.write(f, str(f.relative_to(root)))
    return target


def ship(fn: Callable[..., Any], scratch: Path, add_file: Callable[[str], None]) -> StepRef:
    """The reference executors load ``fn`` by, its package added with ``add_file``."""
    module = getattr(fn, "__module__", None) or "__main__"
    qualname = getattr(fn, "__qualname__", "")
    if module == "__main__" or "<locals>" in qualname or not qualname:
        return StepRef(module, qualname, by_value=fn)
    found = _package_root(module)
    if found is None:
        return StepRef(module, qualname, by_value=fn)
    root, top = found
    if not root.is_dir():  # inside a zip already (Glue's --extra-py-files): on every executor
        return StepRef(module, qualname)
    trakt_root = Path(__file__).resolve().parents[2]
    if root == trakt_root and top == "trakt":
        return StepRef(module, qualname)  # Trakt's own steps: Trakt is on every executor
    if any(root == r or r in root.parents for r in _installed_roots()):
        return StepRef(module, qualname)
    archive = _zip(root, top, scratch)
    add_file(str(archive))
    return StepRef(module, qualname, archive.name)


def load(ref: StepRef) -> Callable[..., Any]:
    """The step function, on an executor (or the driver)."""
    if ref.by_value is not None:
        return ref.by_value
    if ref.archive is not None:
        path = _archive_path(ref.archive)
        if path is not None:
            if sys.path[:1] != [path]:
                sys.path.insert(0, path)
            _forget_other_copies(ref.module.split(".")[0], path)
    try:
        obj: Any = importlib.import_module(ref.module)
        for part in ref.qualname.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        shipped = f" (shipped as {ref.archive})" if ref.archive else " (not shipped: installed)"
        raise ImportError(
            f"step module '{ref.module}' {IMPORT_FAILED}{shipped}: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(obj):
        raise ImportError(f"'{ref.module}.{ref.qualname}' is not callable on the executors")
    return obj  # type: ignore[no-any-return]


def _archive_path(name: str) -> str | None:
    try:
        from pyspark import SparkFiles

        path = SparkFiles.get(name)
    except Exception:  # not in a Spark worker: the driver imports as it resolved
        return None
    return path if os.path.exists(path) else None


def _forget_other_copies(top: str, path: str) -> None:
    """Drop modules of package ``top`` loaded from anywhere but ``path`` (a reused worker
    that ran another pipeline's ``steps``)."""
    for name in list(sys.modules):
        if name == top or name.startswith(top + "."):
            file = getattr(sys.modules[name], "__file__", None) or ""
            if not file.startswith(path):
                del sys.modules[name]
