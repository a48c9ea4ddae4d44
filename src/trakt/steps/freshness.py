"""One process, many pipelines: each pipeline runs the step modules of its own directory.

Python caches modules by name (``sys.modules``), so a second pipeline whose
``steps/normalize/double_amount.py`` lives in another directory would silently get the first
pipeline's module. Before resolving, every cached module of the package named in ``uses:`` is
checked against the file the current search path would find (``PathFinder``, which imports
nothing); one that differs is evicted, with its submodules, and imported afresh. Only modules
that live in (or would now come from) pipeline directories are ever evicted, never installed
libraries.
"""

from __future__ import annotations

import functools
import importlib
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

Location = tuple[str, ...]  # a module's file, or a namespace package's directories

_pipeline_dirs: set[str] = set()  # every directory steps were searched in, this process


def _real(paths: Iterable[str]) -> Location:
    return tuple(os.path.realpath(p) for p in paths)


def _spec_location(spec: ModuleSpec | None, module: ModuleType | None = None) -> Location | None:
    if spec is None:
        return None
    if spec.origin and spec.has_location:
        return _real([spec.origin])
    if spec.submodule_search_locations is not None:  # a namespace package
        # A cached namespace package recomputes __path__ from the current search path.
        return _real(getattr(module, "__path__", None) or spec.submodule_search_locations)
    return None


def _found_now(name: str) -> tuple[bool, Location | None]:
    """(known, location): where the current search path finds ``name``; known is False when
    that cannot be told (its parent is not a cached package)."""
    parent = name.rpartition(".")[0]
    search: list[str] | None = None
    if parent:
        path = getattr(sys.modules.get(parent), "__path__", None)
        if path is None:
            return False, None
        search = list(path)
    try:
        return True, _spec_location(PathFinder.find_spec(name, search))
    except (ImportError, ValueError, OSError):
        return False, None


def _library_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    found = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    return [os.path.realpath(p) for p in [*found, site.getusersitepackages()]]


def is_library(module: ModuleType) -> bool:
    """Whether ``module`` is built in or comes from the standard library or site-packages."""
    location = _spec_location(getattr(module, "__spec__", None), module)
    return not location or _inside(location, _library_dirs())


@functools.lru_cache(maxsize=65536)
def _parents(origin: str) -> tuple[str, ...]:
    """The real directories above a module's file (cached: asked for every module, often)."""
    return tuple(str(p) for p in Path(os.path.realpath(origin)).parents)


def _inside(location: Location, dirs: Iterable[str]) -> bool:
    return any(p == d or p.startswith(d.rstrip(os.sep) + os.sep) for p in location for d in dirs)


def _evict(name: str) -> None:
    module = sys.modules.get(name)
    for other in [n for n in list(sys.modules) if n == name or n.startswith(name + ".")]:
        del sys.modules[other]
    parent, _, child = name.rpartition(".")
    holder = sys.modules.get(parent) if parent else None
    # `from steps import normalize` would otherwise still find the old module.
    if holder is not None and getattr(holder, child, None) is module:
        delattr(holder, child)


def fresh_modules(top: str, search_dirs: Sequence[str | Path]) -> list[str]:
    """Evict cached modules that the current search path (sys.path, then ``search_dirs``,
    already appended) would find in another file; return their names.

    Checked: the package ``top`` named in ``uses:``, and every module an earlier pipeline's
    directory gave (a helper such as ``util`` that a step imports by its top-level name)."""
    current = [os.path.realpath(d) for d in search_dirs]
    earlier = _pipeline_dirs.difference(current)
    _pipeline_dirs.update(current)
    libraries = _library_dirs()
    evicted: list[str] = []

    def candidate(name: str, module: ModuleType | None) -> bool:
        if name == top or name.startswith(top + "."):
            return True
        if not earlier or module is None:
            return False
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if not isinstance(origin, str) or origin in ("built-in", "frozen"):
            return False  # namespace packages of earlier pipelines are found via `top` only
        # By ancestors in a set: per module a few look-ups, not one per earlier directory
        # (a test suite or a long notebook session has run pipelines from many).
        return any(parent in earlier for parent in _parents(origin))

    # list(): another thread (a progress display) may import while this runs
    for name in sorted(n for n, m in list(sys.modules.items()) if candidate(n, m)):
        module = sys.modules.get(name)
        if module is None:  # went with its parent
            continue
        old = _spec_location(getattr(module, "__spec__", None), module)
        if not old or _inside(old, libraries):
            continue
        known, new = _found_now(name)
        if not known or new == old:
            continue
        if new is None:
            # Gone from the search path: evict only what an earlier pipeline's directory gave.
            on_path = [os.path.realpath(p or ".") for p in sys.path if isinstance(p, str)]
            if not _inside(old, earlier) or _inside(old, [*current, *on_path]):
                continue
        elif not (_inside(old, _pipeline_dirs) or _inside(new, current)):
            continue
        _evict(name)
        evicted.append(name)
    if evicted:
        importlib.invalidate_caches()
    return evicted
