"""The fault catalogue: how each fault is injected into an :class:`Env`, and what must come out.

Each table maps a case name to a :class:`Fault` (its ``prepare`` returns the CLI argv); the
``launched`` fixture (``conftest.py``) starts every case's child up front; the cases whose tests
check more are in ``setups.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from tests.conftest import DOUBLE, STREAM_DOUBLE, batch_step, stream_step
from tests.reliability.harness import (
    MARKED,
    RECORDS,
    RECORDS_4,
    Env,
    Fault,
)


def with_records(content: bytes | str, **pipeline: Any) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        if isinstance(content, bytes):
            env.records.write_bytes(content)
        else:
            env.records.write_text(content)
        return env.argv(env.pipeline(**pipeline))

    return prepare


def missing_file(env: Env) -> list[str]:
    env.records.unlink()
    return env.argv(env.pipeline())


def _glob(matches_dir: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        daily = env.input_dir / "daily"
        daily.mkdir()
        if matches_dir:
            (daily / "2026-01.csv").mkdir()
        return env.argv(env.pipeline(uri="daily/*.csv"))

    return prepare


def _directory(env: Env) -> list[str]:
    env.records.unlink()
    env.records.mkdir()
    return env.argv(env.pipeline())


def _missing_input_dir(env: Env) -> list[str]:
    argv = env.argv(env.pipeline())
    argv[argv.index("--input-dir") + 1] = str(env.root / "nowhere")
    return argv


def _output_dir_is_file(sub: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        (env.root / "out.txt").write_text("not a directory\n")
        return env.argv(env.pipeline(), out=env.root / "out.txt" / sub)

    return prepare


BAD_INPUTS: dict[str, Fault] = {
    "missing_file": Fault(
        missing_file,
        1,
        "failed at input 'records': InputError: input 'records': file not found: {records}",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "glob_no_match": Fault(
        _glob(matches_dir=False),
        1,
        "InputError: input 'records': pattern 'daily/*.csv' matched no files in "
        "{input_dir}/daily (manifest:",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "glob_matches_only_dirs": Fault(
        _glob(matches_dir=True),
        1,
        "pattern 'daily/*.csv' matched no files in {input_dir}/daily (only directories matched)",
        "failed",
        "InputError",
    ),
    "empty_file": Fault(
        with_records(""),
        1,
        "InputError: cannot read CSV {records}: the file is empty (not even a header line)",
        "failed",
        "InputError",
        {"artifact": "records", "file": "{records}"},
    ),
    "empty_file_stream": Fault(
        with_records("", code=STREAM_DOUBLE, stream=True),
        1,
        "InputError: cannot read CSV {records}: the file is empty (not even a header line)",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "directory_instead_of_file": Fault(
        _directory,
        1,
        "input 'records': expected a file, found a directory: {records}",
        "failed",
        "InputError",
    ),
    "missing_input_dir": Fault(
        _missing_input_dir,
        1,
        "file not found: {root}/nowhere/records.csv (the input dir {root}/nowhere does not exist)",
        "failed",
        "InputError",
    ),
    "output_dir_is_a_file": Fault(
        _output_dir_is_file(""),
        1,
        "trakt: cannot create output dir {root}/out.txt: File exists",
        None,
    ),
    "output_dir_below_a_file": Fault(
        _output_dir_is_file("sub"),
        1,
        "trakt: cannot create output dir {root}/out.txt/sub: Not a directory",
        None,
    ),
}

_FIX = "; fix the file, or set on_bad_lines: skip | quarantine on this input"
MALFORMED_TAILS: dict[str, tuple[bytes, str]] = {
    "extra_field": (b"4,9,x,EXTRA\n5,1,y\n", "{records}:5: expected 3 fields, found 4" + _FIX),
    "missing_field": (b"4,9\n5,1,y\n", "{records}:5: expected 3 fields, found 2" + _FIX),
    "unterminated_quote": (
        b'4,9,"never closed\n5,1,y\n',
        "{records}:5: unterminated quote: the quoted field runs to the end of the file" + _FIX,
    ),
    "undecodable_bytes": (
        b"4,9,caf\xe9\n5,1,y\n",
        "{records}:5: column 'note' has bytes that are not valid utf-8; set options.encoding",
    ),
}
MALFORMED: dict[str, Fault] = {
    f"{name}-{mode}": Fault(
        with_records(
            RECORDS.encode() + tail,
            code=STREAM_DOUBLE if mode == "stream" else DOUBLE,
            stream=mode == "stream",
        ),
        1,
        "InputError: " + line,
        "failed",
        "InputError",
        {"artifact": "records", "file": "{records}", "line": 5},
    )
    for name, (tail, line) in MALFORMED_TAILS.items()
    for mode in ("batch", "stream")
}


def _step(
    code: str, *, stream: bool = False, timeout_s: float | None = None, records: str = RECORDS
) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_text(records)
        extra = ["--stream-chunk-size", "2"] if stream else []
        return env.argv(env.pipeline(code, stream=stream, timeout_s=timeout_s), *extra)

    return prepare


def _batch_step(body: str) -> str:
    return batch_step(body, head="import time")


def _stream_step(body: str) -> str:
    """``body`` runs inside a generator over the input chunks (``i``, ``chunk``)."""
    return stream_step(body, head="import time")


_AT = "failed at step 'transform'"
# A step that catches every Exception cannot swallow the timeout (a BaseException).
SWALLOWING_LOOP = """
while True:
    try:
        time.sleep(1)
    except Exception:
        pass
"""
STEP_FAULTS: dict[str, Fault] = {
    "returns_a_list": Fault(
        _step(_batch_step("return [input]")),
        1,
        _AT + ": StepError: step 'transform' must return a dict of ['output'] -> a pandas "
        "DataFrame, but returned list",
        "failed",
        "StepError",
    ),
    "returns_wrong_keys": Fault(
        _step(_batch_step("return {'out': input}")),
        1,
        _AT + ": StepError: step 'transform' returned keys ['out']; expected ['output'] "
        "(missing ['output'], unexpected ['out'])",
        "failed",
        "StepError",
    ),
    "returns_not_a_frame": Fault(
        _step(_batch_step("return {'output': input.to_dict()}")),
        1,
        _AT + ": StepError: step 'transform' returned dict for output 'output'; expected a "
        "pandas DataFrame",
        "failed",
        "StepError",
    ),
    "raises": Fault(
        _step(_batch_step("raise ValueError('boom in step')")),
        1,
        _AT + ": ValueError: boom in step",
        "failed",
        "ValueError",
    ),
    "never_returns_busy": Fault(
        _step(_batch_step("while True:\n    pass"), timeout_s=0.5),
        1,
        _AT + ": StepTimeout: step 'transform' did not finish within timeout_s=0.5; it was stopped",
        "failed",
        "StepTimeout",
    ),
    "never_returns_swallowing_exceptions": Fault(
        _step(_batch_step(SWALLOWING_LOOP), timeout_s=0.5),
        1,
        _AT + ": StepTimeout: step 'transform' did not finish within timeout_s=0.5",
        "failed",
        "StepTimeout",
    ),
    "stream_returns_a_frame": Fault(
        _step(
            "def run(ctx, input, output):\n    return {'output': next(input)}\n"
            "run.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
            "run.supports_stream = True\n",
            stream=True,
        ),
        1,
        _AT + ": StepError: step 'transform' is stream-capable but returned DataFrame for "
        "output 'output'; return an iterator (or generator) of DataFrames",
        "failed",
        "StepError",
    ),
    "stream_yields_not_a_frame": Fault(
        _step(_stream_step("yield chunk.to_dict()"), stream=True),
        1,
        _AT + " (chunk 0): StepError: step 'transform' returned dict for output 'output' "
        "(chunk 0); expected a pandas DataFrame",
        "failed",
        "StepError",
        {"chunk_index": 0},
    ),
    "stream_raises_at_chunk_1": Fault(
        _step(
            _stream_step("if i == 1:\n    raise ValueError('bad chunk')\nyield chunk"),
            stream=True,
        ),
        1,
        _AT + " (chunk 1): ValueError: bad chunk",
        "failed",
        "ValueError",
        {"chunk_index": 1},
    ),
    "stream_never_yields": Fault(
        _step(_stream_step("time.sleep(3600)\nyield chunk"), stream=True, timeout_s=0.5),
        1,
        _AT + " (chunk 0): StepTimeout: step 'transform' did not finish within timeout_s=0.5 "
        "at chunk 0; it was stopped",
        "failed",
        "StepTimeout",
        {"chunk_index": 0},
    ),
    "stream_hangs_at_chunk_2": Fault(
        _step(
            _stream_step("if i == 2:\n    time.sleep(3600)\nyield chunk"),
            stream=True,
            # Chunks 0 and 1 must finish within it on a loaded machine (0.5 s did not always:
            # the faults run side by side, beside the other tests' workers).
            timeout_s=3,
            records=RECORDS_4 + "5,0,\n6,0,\n",
        ),
        1,
        _AT + " (chunk 2): StepTimeout: step 'transform' did not finish within timeout_s=3 "
        "at chunk 2; it was stopped",
        "failed",
        "StepTimeout",
        {"chunk_index": 2},
    ),
}


def _yaml(text: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        good = (env.root / "good.yaml").read_text()
        return env.argv(env.write_yaml(text.format(good=good, root=env.root)))

    return prepare


def _edited(old: str, new: str) -> Callable[[Env], list[str]]:
    """The good pipeline with ``old`` replaced by ``new`` (``{marker}``: a file that a tag
    executing code would create)."""

    def prepare(env: Env) -> list[str]:
        good = (env.root / "good.yaml").read_text()
        assert old in good
        text = good.replace(old, new.format(marker=env.root / "pwned"), 1)
        return env.argv(env.write_yaml(text))

    return prepare


# "Billion laughs": each level lists the previous one 9 times; 9**9 nodes once expanded.
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{level}: &{level} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, level in itertools.pairwise("abcdefghij")
)

_MAPPING = "a pipeline file must be a YAML mapping with 'name', 'inputs', 'steps' and 'outputs'"
YAML_FAULTS: dict[str, Fault] = {
    "a_list": Fault(_yaml("- name: x\n- steps: []\n"), 2, _MAPPING + "; found a list", "invalid"),
    "a_scalar": Fault(_yaml("just some text\n"), 2, _MAPPING + "; found a string", "invalid"),
    "empty": Fault(_yaml(""), 2, _MAPPING + "; found nothing", "invalid"),
    "alias_bomb": Fault(
        _yaml(ALIAS_BOMB),
        2,
        "document expands to more than 100000 nodes (YAML aliases?)",
        "invalid",
    ),
    "recursive_alias": Fault(
        _yaml("name: &loop [x, *loop]\n"),
        2,
        "recursive YAML alias: a node that contains itself",
        "invalid",
    ),
    # Found by test_fuzz.py; each must be a validation problem, not a crash.
    "control_character": Fault(_edited("name: faults", "name: faults\x07"), 2, "", "invalid"),
    "merge_of_a_scalar": Fault(_yaml("base: &b x\nname: {{<<: *b}}\n"), 2, "", "invalid"),
    "dtype_a_list": Fault(
        _edited("uri: records.csv", "uri: records.csv\n    options: {{dtype: [int]}}"),
        2,
        "",
        "invalid",
    ),
    "dtype_nested_mapping": Fault(
        _edited("uri: records.csv", "uri: records.csv\n    options: {{dtype: {{id: {{x: int}}}}}}"),
        2,
        "",
        "invalid",
    ),
    # Standard tags on values they cannot construct: a problem, not a crash.
    "int_tag_on_text": Fault(_edited("name: faults", "name: !!int abc"), 2, "", "invalid"),
    "timestamp_tag_on_text": Fault(
        _edited("uri: records.csv", "uri: !!timestamp soon"), 2, "", "invalid"
    ),
    "python_object_apply": Fault(
        _edited("name: faults", 'name: !!python/object/apply:os.system ["touch {marker}"]'),
        2,
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; remove it",
        "invalid",
    ),
    "python_name": Fault(
        _edited("uri: records.csv", "uri: !!python/name:os.system"),
        2,
        "YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed (Trakt loads YAML "
        "safely)",
        "invalid",
    ),
    "python_object_new_mapping": Fault(
        _edited("inputs:\n", "inputs: !!python/object/new:os.system\n"),
        2,
        "YAML tag 'tag:yaml.org,2002:python/object/new:os.system' is not allowed; remove it",
        "invalid",
    ),
    "custom_tag_sequence": Fault(
        _edited("steps:\n", "steps: !Steps\n"),
        2,
        "YAML tag '!Steps' is not allowed; remove it",
        "invalid",
    ),
}


def _conflict_output(env: Env) -> list[str]:
    (env.input_dir / "final.csv").write_text(RECORDS)
    marker = env.root / "ran"
    pipeline = env.pipeline(MARKED, uri="final.csv", params={"marker": str(marker)})
    return env.argv(pipeline, out=env.input_dir)


def _conflict_manifest(env: Env) -> list[str]:
    pipeline = env.pipeline(MARKED, params={"marker": str(env.root / "ran")})
    return env.argv(pipeline, "--manifest-path", str(env.records))


def _conflict_quarantine(env: Env) -> list[str]:
    rejected = env.out / "_rejected" / "records.csv"
    rejected.parent.mkdir()
    rejected.write_text(RECORDS)
    pipeline = env.pipeline(
        MARKED,
        uri=str(rejected),
        on_bad_lines="quarantine",
        params={"marker": str(env.root / "ran")},
    )
    return env.argv(pipeline)


# The message names what would be overwritten and the input file, and promises the input is
# safe; the run is refused (status `invalid`, exit 2) before any step runs.
CONFLICTS: dict[str, Fault] = {
    "output_over_input": Fault(
        _conflict_output,
        2,
        "output 'final' would overwrite input file {input_dir}/final.csv of 'records'",
        "invalid",
        "OutputConflict",
        names_manifest=False,
        manifest="{input_dir}/manifest.json",
    ),
    "manifest_over_input": Fault(
        _conflict_manifest,
        2,
        "the manifest would overwrite input file {records} of 'records'",
        None,  # the manifest can go nowhere but over the input: none is written
        names_manifest=False,
    ),
    "quarantine_over_input": Fault(
        _conflict_quarantine,
        2,
        "quarantine of input 'records' would overwrite input file {out}/_rejected/records.csv of "
        "'records'",
        "invalid",
        "OutputConflict",
        names_manifest=False,
    ),
}


def _usees(env: Env) -> list[str]:
    good = (env.root / "good.yaml").read_text()
    return env.argv(env.write_yaml(good.replace("  uses:", "  usees:")))


CYCLE_AND_TYPO = """\
name: faults
inputs:
  records: {{uri: records.csv}}
steps:
  - id: a
    uses: {uses}
    with: {{input: b_out, output: a_out}}
  - id: b
    uses: {uses}
    with: {{input: a_out, output: b_out}}
  - id: c
    uses: {uses}
    with: {{input: recrods, output: c_out}}
outputs:
  datasets:
    - {{name: final, from: c_out}}
"""


def _cycle_and_typo(env: Env) -> list[str]:
    return env.argv(env.write_yaml(CYCLE_AND_TYPO.format(uses=env.step(DOUBLE))))


INVALID: dict[str, Fault] = {
    "cycle_and_typo": Fault(
        _cycle_and_typo,
        2,
        "{root}/pipeline.yaml: 2 problems found\n"
        "  {root}/pipeline.yaml:5:5: steps[0]: steps form a cycle: a -> b -> a",
        "invalid",
        "PipelineValidationError",
        one_line=False,
    ),
    "unknown_key": Fault(
        _usees,
        2,
        "{root}/pipeline.yaml:7:3: steps[0].usees: unknown key 'usees' (did you mean 'uses'?)",
        "invalid",
        "PipelineValidationError",
        one_line=False,
    ),
    "unknown_input_override": Fault(
        lambda env: env.argv(env.pipeline(), "--input", "recrods=other.csv"),
        2,
        "trakt: --input recrods=...: the pipeline has no input 'recrods' (did you mean "
        "'records'?); inputs: records",
        "invalid",
        "UsageError",
        names_manifest=False,
    ),
}

TABLES: dict[str, dict[str, Fault]] = {
    "bad_input": BAD_INPUTS,
    "malformed": MALFORMED,
    "step": STEP_FAULTS,
    "yaml": YAML_FAULTS,
    "conflict": CONFLICTS,
    "invalid": INVALID,
}
