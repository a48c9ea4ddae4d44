"""Cases started in the same pool as the fault tables, whose tests check more than
:func:`~tests.reliability.harness.check_fault` does: odd but valid inputs, permissions, a full
disk, an internal error, publishing, leftovers, bad-line policies, the alias-bomb probe.

``CASES`` maps a name to the function that prepares an :class:`Env` and returns the argv; the
``launched`` fixture (``conftest.py``) starts them as ``ok/<name>``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable

import yaml

from tests.conftest import DOUBLE, STREAM_DOUBLE, batch_step
from tests.reliability.cases import ALIAS_BOMB
from tests.reliability.harness import (
    RECORDS,
    RECORDS_4,
    SPY,
    Env,
    require_permissions,
    restricted,
)

# Success-side cases started in the same pool: inputs that look odd but are fine.
QUIRKS: dict[str, tuple[bytes, bytes]] = {
    "bom": (b"\xef\xbb\xbfid,name\n1,Ada\n2,Grace\n", b"id,name\n1,Ada\n2,Grace\n"),
    "crlf": (b"id,name\r\n1,Ada\r\n2,Grace\r\n", b"id,name\n1,Ada\n2,Grace\n"),
    "quoted_newlines": (
        b'id,name\n1,"Ada\nLovelace"\n2,"Grace, ""Amazing""\nHopper"\n',
        b'id,name\n1,"Ada\nLovelace"\n2,"Grace, ""Amazing""\nHopper"\n',
    ),
    "bom_crlf_quoted": (
        b'\xef\xbb\xbfid,name\r\n1,"two\r\nlines"\r\n2,x\r\n',
        b'id,name\n1,"two\r\nlines"\n2,x\n',
    ),
    "header_only": (b"id,name\n", b"id,name\n"),
    "header_only_crlf": (b"id,name\r\n", b"id,name\n"),
}


def _quirks(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        for name, (raw, _) in QUIRKS.items():
            (env.input_dir / f"{name}.csv").write_bytes(raw)
        doc = {
            "name": "quirks",
            "inputs": {name: {"uri": f"{name}.csv"} for name in QUIRKS},
            "outputs": {"datasets": [{"name": name, "from": name} for name in QUIRKS]},
            "execution": {"mode": mode},
        }
        return env.argv(env.write_yaml(yaml.safe_dump(doc, sort_keys=False)))

    return prepare


def _publish(mode: str, fail: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_text(RECORDS_4)
        doc = {
            "name": "publish",
            "inputs": {"records": {"uri": "records.csv"}},
            "steps": [
                {
                    "id": "transform",
                    "uses": env.step(STREAM_DOUBLE),
                    "with": {"input": "records", "output": "result"},
                },
                {
                    "id": "spy",
                    "uses": env.step(SPY),
                    "with": {"input": "result", "output": "seen", "watch": str(env.out)},
                },
            ],
            "outputs": {
                "datasets": [{"name": "final", "from": "result"}, {"name": "seen", "from": "seen"}]
            },
            "execution": {"mode": mode},
        }
        doc["steps"][1]["with"]["fail"] = fail  # type: ignore[index]
        pipeline = env.write_yaml(yaml.safe_dump(doc, sort_keys=False))
        return env.argv(pipeline, "--stream-chunk-size", "1")

    return prepare


def _leftovers(env: Env) -> list[str]:
    """What a crashed run leaves: temp outputs, its scratch dir, a temp quarantine file."""
    (env.out / ".trakt-tmp-crashed-final.csv").write_text("id,amount\n1,")
    (env.out / ".trakt-tmp-crashed-work").mkdir()
    (env.out / ".trakt-tmp-crashed-work" / "records-0.csv").write_text(RECORDS)
    (env.out / "_rejected").mkdir()
    (env.out / "_rejected" / ".trakt-tmp-crashed-records.csv").write_text("file,line\n")
    env.records.write_text(RECORDS_4)
    return env.argv(env.pipeline())


def _quarantine_then_fail(env: Env) -> list[str]:
    """A good quarantine run publishes _rejected/records.csv; a failing one must not touch it."""
    env.records.write_text(RECORDS + "4,1,x,EXTRA\n")
    result = env.run_in_process(env.pipeline(on_bad_lines="quarantine", name="q.yaml"))
    assert result["status"] == "success", result["error"]
    env.records.write_text(RECORDS + "4,1\n5,2,y\n")
    failing = batch_step("raise ValueError('after quarantine')")
    return env.argv(env.pipeline(failing, on_bad_lines="quarantine"))


def bad_lines(policy: str, mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_bytes(
            RECORDS.encode() + b'4,9,x,EXTRA\n4,1,new\n5,7\n6,2,caf\xe9\n7,3,"open\n'
        )
        code = STREAM_DOUBLE if mode == "stream" else DOUBLE
        pipeline = env.pipeline(code, stream=mode == "stream", on_bad_lines=policy)
        return env.argv(pipeline, "--stream-chunk-size", "2")

    return prepare


def _unreadable(env: Env) -> list[str]:
    env.records.chmod(0)
    require_permissions(env.records, "open(p, 'rb')")
    return restricted("no-dac", env.argv(env.pipeline()))


def _read_only_output_dir(previous: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        if not previous:
            shutil.rmtree(env.out)
            env.out.mkdir()
        env.out.chmod(0o555)
        require_permissions(env.out, "open(p + '/probe', 'w')")
        return restricted("no-dac", env.argv(env.pipeline()))

    return prepare


def _full_disk(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        rows = "".join(f"{i},{i * 3},row {i}\n" for i in range(20_000))
        env.records.write_text("id,amount,note\n" + rows)  # ~400 KB of output, files max 64 KiB
        stream = mode == "stream"
        pipeline = env.pipeline(STREAM_DOUBLE if stream else DOUBLE, stream=stream)
        return restricted("small-files", env.argv(pipeline, "--stream-chunk-size", "1000"))

    return prepare


# A bug inside Trakt, injected: the CSV writer raises RuntimeError; then the real CLI main().
INJECT = """
import sys
import trakt.io.csv


def broken_write(self, frame):
    raise RuntimeError("injected fault in the CSV writer")


trakt.io.csv.CsvTableWriter.write = broken_write
from trakt.run_local import main

raise SystemExit(main(sys.argv[1:]))
"""


def _internal_error(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        stream = mode == "stream"
        argv = env.argv(env.pipeline(STREAM_DOUBLE if stream else DOUBLE, stream=stream))
        return [sys.executable, "-c", INJECT, *argv[3:]]

    return prepare


# Loads a pipeline file; prints the first problem, the seconds it took and the peak RSS.
BOMB_PROBE = """
import sys, time
from trakt import PipelineValidationError, load_pipeline_from_yaml

start = time.perf_counter()
try:
    load_pipeline_from_yaml(sys.argv[1])
except PipelineValidationError as exc:
    print(exc.problems[0].message)
print(time.perf_counter() - start)
# VmHWM starts afresh at exec; ru_maxrss would count the (large) pytest parent it forked from.
from trakt.runtime.recorder import peak_rss_bytes
print(peak_rss_bytes())
"""


def _alias_bomb_probe(env: Env) -> list[str]:
    bomb = env.write_yaml(ALIAS_BOMB, "bomb.yaml")
    return [sys.executable, "-c", BOMB_PROBE, str(bomb)]


CASES: dict[str, Callable[[Env], list[str]]] = {
    "unreadable": _unreadable,
    "read_only_output_dir-empty": _read_only_output_dir(previous=False),
    "read_only_output_dir-previous_run": _read_only_output_dir(previous=True),
    "full_disk-batch": _full_disk("batch"),
    "full_disk-stream": _full_disk("stream"),
    "internal_error-batch": _internal_error("batch"),
    "internal_error-stream": _internal_error("stream"),
    "alias_bomb_probe": _alias_bomb_probe,
    "quirks-batch": _quirks("batch"),
    "quirks-stream": _quirks("stream"),
    "publish-batch": _publish("batch", fail=False),
    "publish-stream": _publish("stream", fail=False),
    "publish_failed-batch": _publish("batch", fail=True),
    "publish_failed-stream": _publish("stream", fail=True),
    "leftovers": _leftovers,
    "quarantine_then_fail": _quarantine_then_fail,
    **{
        f"bad_lines_{policy}-{mode}": bad_lines(policy, mode)
        for policy in ("quarantine", "skip")
        for mode in ("batch", "stream")
    },
}
