"""``python -m trakt.run_local``: run a pipeline on this machine.

Exit codes: 0 success, 1 the run failed, 2 invalid pipeline or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from trakt.commands import runflags
from trakt.commands.runflags import add_shaping_arguments
from trakt.commands.sparkflags import add_runner_arguments, check_runner_flags, parse_spark_conf
from trakt.errors import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    Cancelled,
    PipelineValidationError,
    TraktError,
    UsageError,
)

EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pipeline-file", help="path to a pipeline YAML file")
    source.add_argument(
        "--pipeline", metavar="NAME", help="run pipelines/NAME/pipeline.yaml under the current dir"
    )
    parser.add_argument(
        "--input-dir",
        help="base dir for relative input uris (default: $TRAKT_INPUT_DIR, else the file's "
        "execution.input_dir, else .)",
    )
    parser.add_argument(
        "--output-dir",
        help="where outputs go, created (default: $TRAKT_OUTPUT_DIR, else the file's "
        "execution.output_dir, else output)",
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="replace input NAME's uri with a file or glob (repeatable)",
    )
    parser.add_argument("--manifest-path", help="default: <output-dir>/manifest.json")
    parser.add_argument("--run-id", help="default: a timestamp-based id")
    parser.add_argument(
        "--stream-chunk-size", type=int, metavar="ROWS", help="rows per chunk in stream mode"
    )
    parser.add_argument(
        "--log-level",
        default=None,
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="level of the trakt loggers, steps' ctx.logger included (default INFO: a line "
        "per step start and finish; WARNING under the live terminal display or --quiet)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="log lines as text or JSON (json: every line on stderr and stdout is JSON)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="print a failed step's traceback to stderr (Trakt's frames collapsed)",
    )
    parser.add_argument(
        "--pdb",
        action="store_true",
        help="open the debugger (pdb) at the frame of your code where a step failed",
    )
    parser.add_argument(
        "--no-input-hashes",
        action="store_true",
        help="leave the sha256 of each input file out of the manifest (huge inputs)",
    )
    parser.add_argument(
        "--no-column-summaries",
        action="store_true",
        help="leave per-column summaries (dtype, nulls, min/max) out of the manifest",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress display and no success summary"
    )
    parser.add_argument(
        "--otel",
        action="store_true",
        help="emit an OpenTelemetry trace of the run (needs the otel extra; OTEL_* variables "
        "configure the exporter: OTLP by default, OTEL_TRACES_EXPORTER=console to print)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="after the run (whatever its ending) write report.html beside the manifest",
    )
    add_shaping_arguments(parser)
    add_runner_arguments(parser)


def pipeline_path(args: argparse.Namespace) -> Path:
    if args.pipeline_file:
        file: str = args.pipeline_file
        return Path(file)
    root = Path.cwd() / "pipelines"
    name: str = args.pipeline
    path = root / name / "pipeline.yaml"
    if not path.is_file():
        names = sorted(p.parent.name for p in root.glob("*/pipeline.yaml"))
        available = ", ".join(names) if names else f"none (no {root}/<name>/pipeline.yaml)"
        raise UsageError(f"--pipeline {name}: {path} not found; available: {available}")
    return path


def parse_overrides(values: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--input {value!r}: expected NAME=PATH")
        overrides[name.strip()] = path
    return overrides


# Arrow's jemalloc gives a freed page back to the OS in two steps of up to a second each: first
# lazily (MADV_FREE: "muzzy", still counted in RSS until the kernel needs it), then for good.
# Given back at the end of the first step, peak RSS measured lower at the same speed: a stream
# fan-out at 10M rows 293 -> 278 MB (benchmarks/stream_memory.py), a 1M-row batch passthrough
# 372 -> 357 MiB. jemalloc reads this variable once, when it starts (its pool first asked for).
_JEMALLOC_CONF = ("JE_ARROW_MALLOC_CONF", "muzzy_decay_ms:0")


def use_lean_allocator() -> None:
    """Give Arrow jemalloc in the CLI process: measured ~25 MB lower peak RSS than the default
    mimalloc in stream mode at the same speed (benchmarks/stream_memory.py), with its pages
    given back without the lazy step (``_JEMALLOC_CONF``; a value set already is kept). Library
    users keep whatever pool their application chose. Call it before pyarrow is imported."""
    name, value = _JEMALLOC_CONF
    ours = name not in os.environ
    if ours:
        os.environ[name] = value
    try:
        import pyarrow as pa

        # A pyarrow build without jemalloc keeps its default.
        with contextlib.suppress(NotImplementedError, pa.ArrowException):
            pa.set_memory_pool(pa.jemalloc_memory_pool())  # jemalloc starts: reads the variable
    finally:
        if ours:  # not inherited by processes a step starts
            os.environ.pop(name, None)


# polars reads a CSV file in 32 MiB chunks, several ahead; in 4 MiB ones a batch run over a
# 558 MiB file measured the same wall time at about 220 MiB lower peak RSS (a scanned input:
# benchmarks/side_by_side.py, job 1). polars reads the variable when a scan starts.
_CSV_CHUNK = ("POLARS_CSV_CHUNK_SIZE", str(4 << 20))


def use_lean_scans(stack: contextlib.ExitStack) -> None:
    """Smaller chunks for polars' CSV scans while the CLI's run lasts (unset again after, so
    a process running several pipelines keeps its own setting); a value set already is kept."""
    name, value = _CSV_CHUNK
    if name in os.environ:
        return
    os.environ[name] = value
    stack.callback(os.environ.pop, name, None)


def _fail(message: str, code: int, json_lines: bool = False, **fields: Any) -> int:
    from trakt.runtime.messages import one_line

    if json_lines:
        from trakt.progress import json_line

        print(json_line(message, "ERROR", exit_code=code, **fields), file=sys.stderr)
        return code
    # Multi-line by design (a validation report's list) stays so; no escape sequence gets out.
    print(f"trakt: {one_line(message, keep_newlines=True)}", file=sys.stderr)
    return code


def _raise_cancelled(signum: int, frame: object) -> None:
    """SIGTERM / SIGINT: record the cancel (it sticks even if a step swallows this), stop."""
    from trakt.runtime import cancel

    if signum == signal.SIGINT:
        cancel.request("SIGINT", EXIT_SIGINT)
        raise KeyboardInterrupt  # what a step's own ``except KeyboardInterrupt`` expects
    raise cancel.request("SIGTERM", EXIT_SIGTERM)


@contextlib.contextmanager
def cancel_on_signals() -> Iterator[None]:
    """Trakt's SIGINT / SIGTERM handlers for the run, the previous ones restored after it."""
    from trakt.runtime import cancel

    previous = {
        sig: signal.signal(sig, _raise_cancelled) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    cancel.begin()
    try:
        yield
    finally:
        cancel.end()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def execute(args: argparse.Namespace) -> int:
    use_lean_allocator()  # before anything else imports pyarrow
    from trakt.api import load_pipeline
    from trakt.progress import LiveProgress, StepLog, configure_logging, default_log_level
    from trakt.runtime.local_runner import LocalRunner

    json_lines = args.log_format == "json"
    terminal = sys.stderr.isatty()
    level = args.log_level or default_log_level(args.log_format, args.quiet, terminal)
    stack = contextlib.ExitStack()
    stack.callback(configure_logging(level, args.log_format))
    use_lean_scans(stack)
    live = terminal and not args.quiet and not json_lines
    progress: LiveProgress | StepLog | None = LiveProgress(sys.stderr) if live else None
    if progress is None and logging.getLogger("trakt.steps").isEnabledFor(logging.INFO):
        progress = StepLog()
    started: list[Any] = []  # the run's live manifest, for --report
    runner: LocalRunner | None = None

    def on_start(manifest: Any) -> None:
        started.append(manifest)
        if progress is not None:
            progress.attach(manifest)

    failure: list[BaseException] = []  # what failed the run, for --pdb
    ending: tuple[str, int] | None = None  # a run that ended by an exception: the last line
    stack.enter_context(cancel_on_signals())
    try:

        def runner_for(pipeline: Any) -> LocalRunner:
            dirs = runflags.run_dirs(args, pipeline)
            check_runner_flags(args)
            common: dict[str, Any] = {
                "manifest_path": args.manifest_path,
                "input_overrides": parse_overrides(args.input),
                "stream_chunk_size": args.stream_chunk_size,
                "on_start": on_start,
                "column_summaries": not args.no_column_summaries,
                "on_failure": failure.append if args.pdb else None,
                "input_hashes": not args.no_input_hashes,
            }
            if args.runner == "spark":
                from trakt.runtime.spark_runner import SparkRunner

                return SparkRunner(
                    dirs.input_dir,
                    dirs.output_dir,
                    master=args.spark_master or "local[*]",
                    spark_conf=parse_spark_conf(args.spark_conf),
                    output=args.spark_output or "file",
                    **common,
                )
            return LocalRunner(input_dir=dirs.input_dir, output_dir=dirs.output_dir, **common)

        path = pipeline_path(args)
        try:
            pipeline = load_pipeline(path, runflags.overrides(args))
        except PipelineValidationError as exc:
            if args.dry_run:  # writes nothing, not even an invalid manifest
                return _fail(exc.message, exc.exit_code, json_lines)
            manifest = runner_for(None).record_invalid(exc, str(path), args.run_id)
            return _fail(f"{exc.message}\n(manifest: {manifest})", exc.exit_code, json_lines)
        runner = runner_for(pipeline)
        dirs = runflags.run_dirs(args, pipeline)
        chosen = runflags.selection(args, pipeline, dirs.output_dir)
        if args.dry_run:
            return runflags.dry_run(pipeline, chosen, dirs, parse_overrides(args.input))
        result = runner.run(pipeline, run_id=args.run_id, otel_enabled=args.otel, selection=chosen)
    except TraktError as exc:
        ending = (exc.message, exc.exit_code)
    except OSError as exc:  # last resort: an I/O failure no layer below named more precisely
        where = f" {exc.filename}" if exc.filename else ""
        ending = (f"I/O error{where}: {exc.strerror or exc}", EXIT_RUN_FAILED)
    except KeyboardInterrupt:
        ending = ("cancelled by SIGINT; the manifest says how far it got", EXIT_SIGINT)
    except Cancelled as exc:
        ending = (
            f"cancelled by {exc.signal_name}; the manifest says how far it got",
            exc.exit_code,
        )
    finally:
        if progress is not None:  # its last lines before the last line
            progress.finish()
        if getattr(args, "report", False) and started and runner is not None:
            runflags.write_run_report(started[0], runner, args.quiet, json_lines)
        stack.close()
    if ending is not None:
        return _fail(*ending, json_lines)
    if failure:
        from trakt.runtime.tracebacks import post_mortem, step_exception

        post_mortem(step_exception(failure[0]))
    return report(result, quiet=args.quiet, log_format=args.log_format, traceback=args.traceback)


def report(
    result: dict[str, Any], quiet: bool = False, log_format: str = "text", traceback: bool = False
) -> int:
    """Print a run's outcome; the exit code for it. ``log_format="json"``: every line is a JSON
    object (the success summary on stdout, warnings and the failure on stderr);
    ``traceback``: a failed step's traceback on stderr before the last line."""
    from trakt.progress import json_line

    json_lines = log_format == "json"

    def warn(text: str, **fields: Any) -> None:
        line = json_line(text, "WARNING", **fields) if json_lines else f"trakt: warning: {text}"
        print(line, file=sys.stderr)

    stale = result.get("stale_run")
    if stale:
        warn(
            f"the previous run {stale['run_id']} (started {stale['started_at']}) "
            "never finished and ended without a trace (killed, or a step ended the process, "
            "e.g. with os._exit); its temporary files were removed",
            stale_run=stale,
        )
    for recovery in result.get("publish_recovery") or ():
        warn(
            f"run {recovery['run_id']} was killed while publishing its outputs; "
            f"its publish was {recovery['action']} (no mix of old and new outputs is left)",
            publish_recovery=recovery,
        )
    if result["status"] == "success":
        if quiet:
            return EXIT_OK
        if json_lines:
            summary = {k: result[k] for k in ("run_id", "status", "outputs", "manifest_path")}
            print(json_line(f"run {result['run_id']} succeeded", **summary))
            return EXIT_OK
        print(f"run {result['run_id']} succeeded")
        for name, out in result["outputs"].items():
            print(f"  {name}: {out}")
        print(f"  manifest: {result['manifest_path']}")
        return EXIT_OK
    from trakt.runtime.endings import describe_failure

    error = result["error"] or {}
    shown = error.get("traceback") if traceback else None
    if shown and not json_lines:
        print(str(shown).rstrip("\n"), file=sys.stderr)
    fields = {"run_id": result["run_id"], "status": result["status"]}
    if json_lines:
        kept = ("step_id", "type", "message", "location", "chunk_index", "artifact", "output")
        fields["error"] = {k: error[k] for k in kept if k in error}
        fields["manifest_path"] = result["manifest_path"]
        if shown:
            fields["traceback"] = shown
    return _fail(
        describe_failure(result["run_id"], result["error"], result["manifest_path"]),
        int(result.get("exit_code") or EXIT_RUN_FAILED),
        json_lines,
        **fields,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trakt.run_local", description="Run a Trakt pipeline locally."
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    if args.stream_chunk_size is not None and args.stream_chunk_size < 1:
        parser.error("--stream-chunk-size must be at least 1")
    return execute(args)


def exit_fast(code: int) -> None:
    """Leave without interpreter teardown (tearing down pandas/pyarrow/polars with large
    frames freed costs a measurable share of a short job). Everything that matters is done:
    outputs renamed, manifest written, streams flushed here."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_fast(main())
