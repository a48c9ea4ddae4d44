"""Fuzzing the two readers of user files: the pipeline YAML loader and the CSV reader.

Whatever a pipeline file or an input file contains, Trakt answers with a ``TraktError`` that has
a message (the CLI prints it as one clear line); never another exception. Inputs: random text
and bytes, and mutations of a valid pipeline (keys deleted, duplicated, renamed; scalars of the
wrong type; tags and aliases inserted); random CSV bytes and randomly (mis)quoted CSV text, read
with ``read_table`` and with ``iter_tables`` under a range of valid reader options.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import trakt
from trakt import PipelineValidationError, TraktError, load_pipeline_from_yaml
from trakt.io.csv import check_options, iter_tables, read_table
from trakt.io.frames import to_pandas
from trakt.io.registry import ReadRequest


def _fuzz_step(ctx: Any, input: Any, output: Any) -> Any:
    """A stream-capable step for the valid base pipeline (never run: only loaded)."""
    return {"output": iter(input)}


_fuzz_step.declared_inputs = ["input"]  # type: ignore[attr-defined]
_fuzz_step.declared_outputs = ["output"]  # type: ignore[attr-defined]
_fuzz_step.supports_stream = True  # type: ignore[attr-defined]
trakt.register_step("trakt_fuzz_step", _fuzz_step)

FUZZ = settings(
    deadline=None,
    database=None,
    # No "explain" phase: it reruns failing examples many times, minutes on a slow machine.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

BASE: dict[str, Any] = {
    "name": "fuzzed",
    "inputs": {
        "records": {
            "uri": "records/*.csv",
            "combine_strategy": "union",
            "source_column": "source_file",
            "on_bad_lines": "quarantine",
            "options": {"sep": ";", "dtype": {"id": "int"}, "na_values": ["NA"]},
        },
        "lookup": {"uri": "lookup.csv"},
    },
    "steps": [
        {
            "id": "double",
            "uses": "trakt_fuzz_step",
            "with": {"input": "records", "output": "doubled"},
            "timeout_s": 5,
        },
        {
            "id": "again",
            "uses": "trakt_fuzz_step",
            "with": {"input": "doubled", "output": "twice"},
            "mode": "batch",
        },
    ],
    "outputs": {
        "datasets": [{"name": "final", "from": "twice"}, {"name": "raw", "from": "lookup"}]
    },
    "execution": {"mode": "stream"},
}

KEYS = [
    "name", "inputs", "steps", "outputs", "execution", "uri", "combine_strategy", "format",
    "sheet", "source_column", "on_bad_lines", "options", "id", "uses", "with", "mode",
    "timeout_s", "datasets", "from", "input", "output", "sep", "dtype", "encoding",
    "usecols", "skiprows", "nmae", "stpes", "", " ", "<<", "ÿ", "1",
]  # fmt: skip
SCALARS = [
    "", " ", "batch", "stream", "concat", "union", "latest", "csv", "xlsx", "error", "skip",
    "quarantine", "records", "doubled", "twice", "../x", "a/b", "*", "**/*.csv", "..x", "a..b",
    "x.", ".", "trakt_fuzz_step", "os.path.nonexistent_fn", "no_such_module_xyz", "int",
    "str", "utf-16", "no-such-codec", "\x00", "é", "~", "null", "-1", "1e999", "0x10",
]  # fmt: skip
TAGS = [
    "!!python/object/apply:os.system", "!!python/object:builtins.dict", "!!python/name:os.system",
    "!!python/module:os", "!!python/tuple", "!!binary", "!!timestamp", "!!set", "!!omap",
    "!!pairs", "!!float", "!!int", "!!bool", "!!null", "!!str", "!!seq", "!!map", "!custom",
    "!<tag:example.com,2000:x>", "!!merge", "!!value",
]  # fmt: skip

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.sampled_from(SCALARS),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz")


def _load(path: Path, content: str | bytes) -> None:
    """Load ``content`` as a pipeline file: success, or a TraktError with a message."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    try:
        load_pipeline_from_yaml(path)
    except TraktError as exc:
        assert exc.message.strip(), repr(exc)
        if isinstance(exc, PipelineValidationError):
            assert exc.problems
            assert all(p.message.strip() for p in exc.problems), exc.problems


def test_base_pipeline_is_valid(scratch: Path) -> None:
    path = scratch / "base.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False))
    assert load_pipeline_from_yaml(path).name == "fuzzed"


# --- YAML: random text and bytes -----------------------------------------------------------

yamlish = st.text(
    alphabet=st.sampled_from([*"abc:-[]{}&*!|>'\"#%@`,?\n\t  01.é\\<", "\x00", "\ufeff"]),
    max_size=120,
)


@settings(FUZZ, max_examples=700)
@given(text=st.one_of(st.text(max_size=300), yamlish))
def test_random_text_as_pipeline(scratch: Path, text: str) -> None:
    _load(scratch / "text.yaml", text)


@settings(FUZZ, max_examples=400)
@given(raw=st.binary(max_size=300))
def test_random_bytes_as_pipeline(scratch: Path, raw: bytes) -> None:
    _load(scratch / "bytes.yaml", raw)


# --- YAML: mutations of a valid pipeline -------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """Delete, rename, duplicate, retype or wrap a random node, a few times."""
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        path = data.draw(st.sampled_from(_paths(doc)), label="path")
        op = data.draw(st.sampled_from(["delete", "rename", "dup", "retype", "wrap"]), label="op")
        if not path:
            if op in ("retype", "wrap"):
                doc = data.draw(values) if op == "retype" else [doc]
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            value = parent.pop(key)
            parent[data.draw(st.sampled_from(KEYS), label="new key")] = value
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == "dup":
            parent[f"{key}{data.draw(st.sampled_from(['', '_', ' ']))}"] = copy.deepcopy(
                parent[key]
            )
        elif op == "retype":
            parent[key] = data.draw(values, label="value")
        elif data.draw(st.booleans(), label="wrap in a list"):
            parent[key] = [parent[key]]
        else:
            parent[key] = {"x": parent[key]}
    return doc


def _edit_text(text: str, data: st.DataObject) -> str:
    """Line edits no dict can express: duplicate keys, tags, anchors and aliases, bad indents."""
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(0, 3), label="edits")):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        op = data.draw(
            st.sampled_from(["dup", "del", "tag", "anchor", "alias", "indent", "junk"]),
            label="edit",
        )
        line = lines[i]
        if op == "dup":
            lines.insert(i, line)
        elif op == "del":
            del lines[i]
        elif op == "tag":
            tag = data.draw(st.sampled_from(TAGS), label="tag")
            lines[i] = line.replace(": ", f": {tag} ", 1) if ": " in line else f"{line} {tag}"
        elif op == "anchor" and ": " in line:
            lines[i] = line.replace(": ", ": &a ", 1)
        elif op == "alias" and ": " in line:
            head = line.split(": ", 1)[0]
            target = data.draw(st.sampled_from(["*a", "*nope", "[*a, *a]", "{<<: *a}"]))
            lines[i] = f"{head}: {target}"
        elif op == "indent":
            lines[i] = " " * data.draw(st.integers(0, 5)) + line.lstrip()
        else:
            lines[i] = line + data.draw(st.text(max_size=5), label="junk")
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=1000)
@given(data=st.data())
def test_mutated_pipeline(scratch: Path, data: st.DataObject) -> None:
    doc = _mutate(copy.deepcopy(BASE), data)
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        text = repr(doc)
    _load(scratch / "mutated.yaml", _edit_text(text, data))


# --- CSV ----------------------------------------------------------------------------------

OPTIONS: list[dict[str, Any]] = [
    {},
    {"sep": ";"},
    {"sep": "\t", "quotechar": "'"},
    {"escapechar": "\\"},
    {"encoding": "latin-1"},
    {"encoding": "cp1252", "decimal": ","},
    {"encoding": "utf-16"},
    {"dtype": "str"},
    {"dtype": {"a": "int", "b": "float"}},
    {"dtype": {"a": "bool"}},
    {"na_values": ["x"], "keep_default_na": False},
    {"skiprows": 1},
    {"usecols": ["a"]},
    {"source_column": "src"},
]
for _options in OPTIONS:
    assert check_options(_options) == [], _options

FIELD_CHARS = st.sampled_from([*"ab1.-,\" \n\r\t;'\\é", "\x00", "\ufeff", "\udcff"])


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    """Rows of fields, quoted properly, quoted badly or not at all; any line ends."""
    width = draw(st.integers(1, 4))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(st.sampled_from([["a", "b", "c", "d"][:width], ["a"] * width, []]))
    rows = [header] if header else []
    for _ in range(draw(st.integers(0, 8))):
        n = width if draw(st.integers(0, 9)) else draw(st.integers(0, 6))
        rows.append([draw(st.text(FIELD_CHARS, max_size=6)) for _ in range(n)])
    out = []
    for row in rows:
        fields = []
        for field in row:
            style = draw(st.sampled_from(["plain", "quoted", "quoted", "open", "stray"]))
            if style == "quoted":
                field = '"' + field.replace('"', '""') + '"'
            elif style == "open":
                field = '"' + field
            elif style == "stray":
                field = field + '"'
            fields.append(field)
        out.append(",".join(fields))
    text = newline.join(out) + draw(st.sampled_from(["", newline]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="surrogateescape" if encoding == "utf-8" else "replace")


def _read(path: Path, content: bytes, options: dict[str, Any], chunk_rows: int) -> None:
    """Read whole and streamed: tables (converted as the runner does), or a TraktError."""
    path.write_bytes(content)
    request = ReadRequest(path, options)
    try:
        to_pandas(read_table(request))
    except TraktError as exc:
        assert exc.message.strip(), repr(exc)
    try:
        for table in iter_tables(request, chunk_rows):
            to_pandas(table)
    except TraktError as exc:
        assert exc.message.strip(), repr(exc)


@settings(FUZZ, max_examples=500)
@given(
    raw=st.binary(max_size=400),
    options=st.sampled_from(OPTIONS),
    chunk_rows=st.integers(1, 5),
)
def test_random_bytes_as_csv(
    scratch: Path, raw: bytes, options: dict[str, Any], chunk_rows: int
) -> None:
    _read(scratch / "random.csv", raw, options, chunk_rows)


@settings(FUZZ, max_examples=600)
@given(raw=csv_texts(), options=st.sampled_from(OPTIONS), chunk_rows=st.integers(1, 5))
def test_randomly_quoted_csv(
    scratch: Path, raw: bytes, options: dict[str, Any], chunk_rows: int
) -> None:
    _read(scratch / "quoted.csv", raw, options, chunk_rows)
