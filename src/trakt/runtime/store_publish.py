"""Publishing a run's outputs to an object store, which has no rename: upload, journal, copy.

The protocol (ARCHITECTURE.md, "Publish protocol on an object store"):

1. every file (a directory output: every file in it) is uploaded from its local temporary
   file to a temporary key beside its final one, ``.trakt-tmp-<run>-<name>``; a failure here
   deletes what was uploaded: nothing changed;
2. the journal ``.trakt-publish-<run>.json`` is written, state ``copying``, naming for each
   output its final key, its temporary key and (a directory) its files: **the commit point**
   (one PUT: it exists whole or not at all);
3. each temporary key is copied onto its final key (a directory output: then the final
   directory's files the new set does not have are deleted);
4. the journal is rewritten ``copied``;
5. the temporary keys are deleted, then the journal.

A crash before 2 leaves only temporary keys: the next run removes them (leftovers). A crash
after 2 leaves a journal: the next run finishes the publish (3-5 again, all idempotent) before
anything else, and says so. Between the crash and that run, readers may see some final keys
new and others old: a store cannot swap several objects at once.

``TRAKT_FAULT_PUBLISH=<point>`` kills the process at one of :data:`STORE_FAULT_POINTS`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from trakt.errors import OutputError
from trakt.io.locations import upload
from trakt.runtime.outdir import TEMP_PREFIX
from trakt.runtime.publish import JOURNAL_PREFIX, REJECTED_DIR, fault

STORE_FAULT_POINTS = ("uploaded", "journal", "copy", "copied", "cleaned")


class Store(Protocol):
    """What the protocol needs of a store output location."""

    fs: Any
    root: str
    shown: str

    def fs_for(self, name: str) -> Any: ...
    def fail(self, doing: str, exc: BaseException, after: str = "") -> OutputError: ...


def _key(store: Store, name: str) -> str:
    return f"{store.root}/{name}" if store.root else name


def _temp_name(run_id: str, name: str) -> str:
    relative = PurePosixPath(name)
    return str(relative.parent / f"{TEMP_PREFIX}{run_id}-{relative.name}").removeprefix("./")


def _parts(path: Path) -> list[str] | None:
    """A directory's files, relative, in order; None for a file."""
    if not (path.is_dir() and not path.is_symlink()):
        return None
    found = []
    for folder, _, files in os.walk(path):
        for name in files:
            found.append(Path(folder, name).relative_to(path).as_posix())
    return sorted(found)


def _files(entry: Mapping[str, Any], which: str) -> list[str]:
    """The names (relative to the prefix) of an entry's files under its ``new`` or ``final``."""
    base = entry[which]
    parts = entry["parts"]
    return [base] if parts is None else [f"{base}/{part}" for part in parts]


def publish(store: Store, run_id: str, pending: Mapping[str, Path]) -> None:
    """Upload every temporary file (or directory) in ``pending`` (final name -> local
    temporary place) and copy it into place, by the protocol above."""
    if not pending:
        return
    entries: list[dict[str, Any]] = [
        {"final": name, "new": _temp_name(run_id, name), "parts": _parts(tmp)}
        for name, tmp in pending.items()
    ]
    journal = _key(store, f"{JOURNAL_PREFIX}{run_id}.json")
    uploaded: list[tuple[Any, str]] = []
    try:
        for entry, tmp in zip(entries, pending.values(), strict=True):
            fs = store.fs_for(entry["final"])
            sources = [tmp] if entry["parts"] is None else [tmp / p for p in entry["parts"]]
            for source, name in zip(sources, _files(entry, "new"), strict=True):
                upload(fs, str(source), _key(store, name))
                uploaded.append((fs, _key(store, name)))
        fault("uploaded")
        _write_journal(store, journal, run_id, "copying", entries)
    except Exception as exc:
        for fs, key in uploaded:
            _forget(fs, key)
        raise store.fail("cannot upload the outputs", exc, "nothing was changed") from None
    fault("journal")
    _finish(store, journal, run_id, entries, copy=True)


def _finish(
    store: Store, journal: str, run_id: str, entries: list[dict[str, Any]], copy: bool
) -> None:
    """Steps 3-5 (3 skipped when the journal says ``copied``); repeatable."""
    try:
        if copy:
            for entry in entries:
                fs = store.fs_for(entry["final"])
                for new, final in zip(_files(entry, "new"), _files(entry, "final"), strict=True):
                    fs.copy(_key(store, new), _key(store, final))
                    fault("copy")
                if entry["parts"] is not None:
                    _drop_extra(store, fs, entry)
            _write_journal(store, journal, run_id, "copied", entries)
        fault("copied")
        for entry in entries:
            fs = store.fs_for(entry["final"])
            for new in _files(entry, "new"):
                _forget(fs, _key(store, new))
        fault("cleaned")
        store.fs.rm_file(journal)
    except Exception as exc:
        raise store.fail(
            "cannot copy the outputs into place",
            exc,
            f"the next run in {store.shown} finishes it (journal {journal.rsplit('/', 1)[-1]})",
        ) from None


def _drop_extra(store: Store, fs: Any, entry: Mapping[str, Any]) -> None:
    """A directory output replaces the previous one: its files the new set lacks go."""
    keep = {_key(store, name) for name in _files(entry, "final")}
    try:
        existing = fs.find(_key(store, entry["final"]))
    except FileNotFoundError:
        return
    for key in existing:
        if key not in keep and key.rstrip("/") + "/" not in keep:
            fs.rm_file(key)


def _forget(fs: Any, key: str) -> None:
    try:
        fs.rm_file(key)
    except FileNotFoundError:
        pass
    except Exception:  # left for the next run's leftovers
        pass


def _write_journal(
    store: Store, key: str, run_id: str, state: str, entries: list[dict[str, Any]]
) -> None:
    body = json.dumps({"run_id": run_id, "state": state, "files": entries}, indent=1)
    store.fs.pipe_file(key, body.encode())


def recover(store: Store) -> list[dict[str, Any]]:
    """Finish every publish a crash interrupted (a journal left); what was done, per run."""
    done = []
    try:
        journals = sorted(store.fs.glob(_key(store, f"{JOURNAL_PREFIX}*.json")))
    except FileNotFoundError:
        return []
    except Exception as exc:
        raise store.fail("cannot look for an interrupted publish", exc) from None
    for journal in journals:
        try:
            data = json.loads(store.fs.cat_file(journal))
            state = data["state"]
            entries = [_checked(e) for e in data["files"]]
            if state not in ("copying", "copied"):
                raise ValueError(f"unknown state {state!r}")
            run_id = str(data["run_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(
                f"publish journal {store.shown}/{journal.rsplit('/', 1)[-1]} of an interrupted "
                f"run cannot be used ({exc}); Trakt did not act on it: check the outputs under "
                "this prefix by hand, then delete the journal",
                file=store.shown,
            ) from None
        _finish(store, journal, run_id, entries, copy=state == "copying")
        done.append({"run_id": run_id, "action": "completed"})
    return done


def _checked(entry: Any) -> dict[str, Any]:
    """A journal entry naming only places Trakt publishes to (``<name>`` or
    ``_rejected/<name>``, files under them relative); anything else is not acted on."""
    final, new, parts = entry["final"], entry["new"], entry["parts"]
    for name in (final, new):
        pieces = name.split("/") if isinstance(name, str) else [""]
        if not (
            (len(pieces) == 1 or (len(pieces) == 2 and pieces[0] == REJECTED_DIR))
            and pieces[-1] not in ("", ".", "..")
        ):
            raise ValueError(f"file name {name!r} is not one Trakt publishes to")
    if not PurePosixPath(new).name.startswith(TEMP_PREFIX):
        raise ValueError(f"temporary name {new!r} is not one Trakt writes")
    if parts is not None:
        for part in parts:
            if not isinstance(part, str) or part.startswith("/") or ".." in part.split("/"):
                raise ValueError(f"file {part!r} is not inside its output")
    return {"final": final, "new": new, "parts": parts}


def remove_leftovers(store: Store) -> list[str]:
    """Delete the temporary keys of runs that never published (only with the lock held)."""
    removed = []
    for folder in ("", REJECTED_DIR):
        try:
            listed = store.fs.ls(_key(store, folder) if folder else store.root, detail=False)
        except FileNotFoundError:
            continue
        except Exception as exc:
            raise store.fail("cannot look for leftovers of earlier runs", exc) from None
        for key in sorted(listed):
            name = key.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith(TEMP_PREFIX):
                continue
            try:
                store.fs.rm(key, recursive=True)
            except Exception:  # left for a later run: it only takes room
                continue
            removed.append(f"{folder}/{name}" if folder else name)
    return removed
