"""Reading CSV: no value changes silently and nothing is swallowed (issue 9), batch and stream.

Each test runs the in-process ``LocalRunner`` on a pipeline that writes an input straight to an
output, so what comes out is exactly what was read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

MODES = ["batch", "stream"]


def run(
    project: Project,
    mode: str,
    uri: str = "in.csv",
    policy: str = "error",
    extra: str = "",
    chunk: int = 1000,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run input -> output; return the result and the manifest."""
    text = (
        "name: reading\n"
        "inputs:\n"
        f"  src: {{uri: '{uri}', on_bad_lines: {policy}{extra}}}\n"
        "outputs:\n"
        "  datasets: [{name: out, from: src}]\n"
        f"execution: {{mode: {mode}}}\n"
    )
    pipeline = load_pipeline_from_yaml(project.pipeline(text, name=f"{mode}-{policy}.yaml"))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=chunk)
    result = runner.run(pipeline)
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    return result, manifest


def out_bytes(project: Project) -> bytes:
    return (project.output_dir / "out.csv").read_bytes()


def rejected(project: Project) -> list[list[str]]:
    text = (project.output_dir / "_rejected" / "src.csv").read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def write(project: Project, name: str, data: bytes) -> Path:
    path = project.input_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- 1. numbers keep their spelling -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_leading_zeros_and_plus_signs_stay_text(project: Project, mode: str) -> None:
    data = (
        b"zip,phone,code,big,amount,n\n"
        b"00123,+4930123,-01,12345678901234567890,1.5,7\n"
        b"01234,+1555,5,1,2.25,8\n"
        b"99999,+44,-3,2,3.0,9\n"
    )
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data
    dtypes = {c: s["dtype"] for c, s in manifest["inputs"]["src"]["column_summaries"].items()}
    assert dtypes["amount"] == "float64" and dtypes["n"] == "Int64"
    assert "float" not in dtypes["zip"] and "Int" not in dtypes["zip"]
    assert "float" not in dtypes["big"]
    # Declared numbers are numbers: the leading zeros go, as asked.
    write(project, "in.csv", b"zip,n\n007,1\n010,2\n")
    result, _ = run(project, mode, extra=", options: {dtype: {zip: int}}")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b"zip,n\n7,1\n10,2\n"


def test_a_late_leading_zero_is_text_in_batch_and_a_clear_error_in_stream(
    project: Project,
) -> None:
    rows = [f"{100000 + i},{i}\n".encode() for i in range(300_000)]  # > one 1 MiB block
    rows[-2] = b"007,x\n"
    data = b"id,note\n" + b"".join(rows)
    write(project, "in.csv", data)
    result, _ = run(project, "batch")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data
    result, manifest = run(project, "stream", chunk=50_000)
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["column"] == "id" and error["line"] == 300_000
    assert "in.csv:300000" in error["message"]
    assert "'007'" in error["message"] and "dtype: {id:" in error["message"]


# --- 2. stray quotes, limits, counts ----------------------------------------------------------


def _many(rows: int, stray: dict[int, bytes]) -> bytes:
    lines = [b"id,name,qty\n"]
    for i in range(rows):
        lines.append(stray.get(i, f"{i},name {i},{i % 7}\n".encode()))
    return b"".join(lines)


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
@pytest.mark.parametrize("mode", MODES)
def test_one_stray_quote_sets_aside_one_record(project: Project, mode: str, policy: str) -> None:
    data = _many(20_000, {9: b'9,"oops,3\n'})
    write(project, "in.csv", data)
    result, manifest = run(project, mode, policy=policy)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data.replace(b'9,"oops,3\n', b"")
    (entry,) = manifest["inputs"]["src"]["files"]
    assert entry["records"] == 20_000 and entry["kept"] == 19_999 and entry["set_aside"] == 1
    assert manifest["inputs"]["src"]["rows"] == 19_999
    if policy == "quarantine":
        ((name, line, reason, raw),) = rejected(project)
        assert (name, line, raw) == ("in.csv", "11", '9,"oops,3')
        assert "quote" in reason


@pytest.mark.parametrize("mode", MODES)
def test_two_stray_quotes_far_apart_fail_in_error_mode(project: Project, mode: str) -> None:
    # An even number of quotes: pyarrow would read lines 6..505 as one field, silently.
    data = _many(2_000, {4: b'4,"oops,3\n', 503: b'503,oops",3\n'})
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "failed"
    assert manifest["error"]["line"] == 6 and manifest["error"]["file"].endswith("in.csv")
    assert "max_field_lines" in manifest["error"]["message"]
    assert not (project.output_dir / "out.csv").exists()


@pytest.mark.parametrize("mode", MODES)
def test_a_long_quoted_field_reads_when_the_limit_is_raised(project: Project, mode: str) -> None:
    note = "\n".join(f"line {i}" for i in range(150))
    data = f'id,note\n1,"{note}"\n2,x\n'.encode()
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "failed"
    assert manifest["error"]["line"] == 2
    result, _ = run(project, mode, extra=", options: {max_field_lines: 200}")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data


@pytest.mark.parametrize("limit", ["10", "0.004", "'0.4%'"])
@pytest.mark.parametrize("mode", MODES)
def test_too_many_bad_records_fail_the_run(project: Project, mode: str, limit: str) -> None:
    bad = {i: f"{i},x\n".encode() for i in range(0, 2_200, 100)}  # 22 records of 2200 bad
    write(project, "in.csv", _many(2_200, bad))
    result, manifest = run(project, mode, policy="skip", extra=f", max_bad_lines: {limit}")
    assert result["status"] == "failed" and result["exit_code"] == 1
    assert manifest["error"]["file"] == "in.csv"
    assert "22 of 2200 records are malformed" in manifest["error"]["message"]
    assert not (project.output_dir / "out.csv").exists()
    result, _ = run(project, mode, policy="skip", extra=", max_bad_lines: 22")
    assert result["status"] == "success", result["error"]


def test_max_bad_lines_is_validated(project: Project) -> None:
    from trakt.errors import PipelineValidationError

    write(project, "in.csv", b"a\n1\n")
    for value in ("lots", "-1", "'150%'", "1.5", "true"):
        with pytest.raises(PipelineValidationError, match="max_bad_lines"):
            run(project, "batch", policy="skip", extra=f", max_bad_lines: {value}")
    for value in ("0", "5", "0.5", "'2.5%'"):
        result, _ = run(project, "batch", policy="skip", extra=f", max_bad_lines: {value}")
        assert result["status"] == "success", result["error"]


# --- 3. duplicate column names ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_duplicate_column_names_are_an_input_error(project: Project, mode: str) -> None:
    write(project, "in.csv", b"id,name,id,x,name\n1,a,2,3,b\n")
    result, manifest = run(project, mode)
    assert result["status"] == "failed" and result["exit_code"] == 1
    error = manifest["error"]
    assert error["type"] == "InputError" and error["line"] == 1
    assert "in.csv:1" in error["message"] and "['id', 'name']" in error["message"]


# --- 4. huge fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["error", "skip"])
@pytest.mark.parametrize("mode", MODES)
def test_fields_larger_than_a_block_read(project: Project, mode: str, policy: str) -> None:
    huge = b"x" * (5 << 20)
    rows = [f"{i},small\n".encode() for i in range(3000)]
    data = b"id,blob\n" + b"".join(rows) + b"3000," + huge + b"\n3001,after\n"
    write(project, "in.csv", data)
    result, _ = run(project, mode, policy=policy)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data


# --- 5. encodings -----------------------------------------------------------------------------

# U+222C's UTF-16-LE bytes are 2C 22: a comma and a quote to a reader that looks at bytes.
TRICKY = "id,name\n1,\u222c\u2c22\n2,caf\u00e9\n"


@pytest.mark.parametrize("mode", MODES)
def test_byte_order_marks_select_the_encoding(project: Project, mode: str) -> None:
    for raw, extra in [
        (TRICKY.encode("utf-16"), ""),  # a BOM, no encoding given
        (TRICKY.encode("utf-32"), ""),
        (TRICKY.encode("utf-16-be"), ", options: {encoding: utf-16-be}"),
        (codecs.BOM_UTF8 + TRICKY.encode(), ""),  # a UTF-8 BOM is dropped
    ]:
        write(project, "in.csv", raw)
        result, _ = run(project, mode, extra=extra)
        assert result["status"] == "success", (raw[:4], result["error"])
        assert out_bytes(project) == TRICKY.encode("utf-8")


@pytest.mark.parametrize("mode", MODES)
def test_bad_lines_in_other_encodings_are_located(project: Project, mode: str) -> None:
    text = "id,name\n1,\u30bd\u8868\u222c\n2,a,b\n3,\u80fd\n"  # Shift-JIS: trailing byte 0x5C
    for encoding in ("utf-16", "utf-32", "shift_jis"):
        write(project, "in.csv", text.encode(encoding))
        extra = f", options: {{encoding: {encoding}, escapechar: '\\'}}"
        result, manifest = run(project, mode, extra=extra)
        assert result["status"] == "failed", encoding
        assert manifest["error"]["line"] == 3 and "in.csv:3" in manifest["error"]["message"]
        result, _ = run(project, mode, policy="quarantine", extra=extra)
        assert result["status"] == "success", result["error"]
        good = "id,name\n1,\u30bd\u8868\u222c\n3,\u80fd\n"
        assert out_bytes(project) == good.encode()
        assert rejected(project) == [["in.csv", "3", "expected 2 fields, found 3", "2,a,b"]]


# --- 6. error locations -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_stray_cr_is_located(project: Project, mode: str) -> None:
    write(project, "in.csv", b"id,name,qty\r\n1,a,2\r\n2,b\r,3\r\n3,c,4\r\n")
    result, manifest = run(project, mode)
    assert result["status"] == "failed"
    assert manifest["error"]["line"] == 3 and "in.csv:3:" in manifest["error"]["message"]
    result, manifest = run(project, mode, policy="quarantine")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b"id,name,qty\n1,a,2\n3,c,4\n"
    assert [r[:2] for r in rejected(project)] == [["in.csv", "3"]]


@pytest.mark.parametrize("mode", MODES)
def test_errors_after_a_clean_copy_name_the_users_file(project: Project, mode: str) -> None:
    write(project, "in.csv", b"id,n\n1,2\n2,2,2\n3,x\n")
    result, manifest = run(project, mode, policy="skip", extra=", options: {dtype: {n: int}}")
    assert result["status"] == "failed"
    message = manifest["error"]["message"]
    assert str(project.input_dir / "in.csv") in message and ".trakt-tmp" not in message
    assert manifest["error"]["line"] == 4


# --- 7. several files -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_quarantine_of_several_files_names_each_file_and_its_line(
    project: Project, mode: str
) -> None:
    write(project, "d/a.csv", b'id,v\n1,1\n2,"two\nlines"\n3,1,1\n')
    write(project, "d/b.csv", b"id,v\n4,4\n5\n6,6\n")
    result, manifest = run(project, mode, uri="d/*.csv", policy="quarantine")
    assert result["status"] == "success", result["error"]
    assert [r[:2] for r in rejected(project)] == [["d/a.csv", "5"], ["d/b.csv", "3"]]
    files = manifest["inputs"]["src"]["files"]
    assert [(f["records"], f["kept"], f["set_aside"]) for f in files] == [(3, 2, 1), (3, 2, 1)]


@pytest.mark.parametrize("mode", MODES)
def test_contract_quarantine_rows_carry_their_own_file_and_line(
    project: Project, mode: str
) -> None:
    write(project, "d/a.csv", b'id,v\n1,1\n2,"two\nlines"\n9,1\n')
    write(project, "d/b.csv", b"id,v\n4,4\n5,5\n")
    extra = ", schema: {columns: {id: {type: int, min: 2, max: 4}}, on_violation: quarantine}"
    result, _ = run(project, mode, uri="d/*.csv", extra=extra, chunk=2)
    assert result["status"] == "success", result["error"]
    assert [r[:2] for r in rejected(project)] == [
        ["d/a.csv", "2"],
        ["d/a.csv", "5"],
        ["d/b.csv", "3"],
    ]


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
def test_a_malformed_header_is_an_error_under_every_policy(project: Project, policy: str) -> None:
    write(project, "in.csv", b'id,"name\n1,a\n2,b\n')
    result, manifest = run(project, "batch", policy=policy)
    assert result["status"] == "failed"
    assert (
        manifest["error"]["line"] == 1 and "the header is malformed" in manifest["error"]["message"]
    )


# --- 8. rows never merge or split silently (raw-byte checks) -----------------------------------


MERGING = [
    # text after a closing quote: the quoted field opened at line 2 would swallow lines 3-4
    (
        b'id,name\n1,"Smith\n2,Jones\n3,Brown" Jr\n4,Lee\n',
        b'id,name\n2,Jones\n3,"Brown"" Jr"\n4,Lee\n',
    ),
    # a quote opening a field inside a quoted field: line 4 would close it and merge
    (b'id,name\n1,"Smith\n2,Jones\n3,"Brown"\n4,Lee\n', None),
    # a quote dropped silently ("ab"c read as abc)
    (b'id,name\n1,"ab"c\n2,d\n', b"id,name\n2,d\n"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(MERGING)))
def test_text_after_a_closing_quote_is_a_malformed_record(
    project: Project, mode: str, case: int
) -> None:
    data, kept = MERGING[case]
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "failed", out_bytes(project)
    assert manifest["error"]["line"] == 2 and "in.csv:2:" in manifest["error"]["message"]
    result, manifest = run(project, mode, policy="quarantine")
    assert result["status"] == "success", result["error"]
    assert rejected(project)[0][:2] == ["in.csv", "2"]
    if kept is not None:
        assert out_bytes(project) == kept
        assert len(rejected(project)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_quote_inside_an_unquoted_field_stays_a_literal(project: Project, mode: str) -> None:
    write(project, "in.csv", b'id,item\n1,12" pipe\n2,3" x 4"\n3,"a ""b"" c"\n')
    result, _ = run(project, mode)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b'id,item\n1,"12"" pipe"\n2,"3"" x 4"""\n3,"a ""b"" c"\n'


STRAY_CR = [
    (b"a,b\r\n1,x\r2,y\r\n3,z\r\n", 2, b"a,b\n3,z\n"),
    (b"a\r\n1\r2\r\n3\r\n", 2, b"a\n3\n"),
    (b"a,b\n1,x\n2,y\r3,z\n4,w\n", 3, b"a,b\n1,x\n4,w\n"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(STRAY_CR)))
def test_a_stray_cr_never_splits_a_record(project: Project, mode: str, case: int) -> None:
    data, line, kept = STRAY_CR[case]
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "failed"
    assert manifest["error"]["line"] == line and f"in.csv:{line}:" in manifest["error"]["message"]
    assert "carriage return" in manifest["error"]["message"]
    result, manifest = run(project, mode, policy="quarantine")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == kept
    assert [r[:2] for r in rejected(project)] == [["in.csv", str(line)]]


@pytest.mark.parametrize("mode", MODES)
def test_old_mac_line_ends_stay_legal(project: Project, mode: str) -> None:
    write(project, "in.csv", b'a,b\r1,x\r2,"y\rz"\r')
    result, _ = run(project, mode)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b'a,b\n1,x\n2,"y\rz"\n'


BAD_BYTES = [
    ("shift_jis", b"a,b\n1,x\n" + b"3,\xffz\n" + b"4,z\n", b"3,\xffz"),
    ("euc_jp", b"a,b\n1,x\n" + b"3,\xffz\n" + b"4,z\n", b"3,\xffz"),
    (
        "utf-16-le",
        "a,b\n1,x\n".encode("utf-16-le")
        + b"3\x00,\x00\x00\xd8z\x00\n\x00"
        + "4,z\n".encode("utf-16-le"),
        None,
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(BAD_BYTES)))
def test_invalid_bytes_in_a_transcoded_encoding_follow_the_policy(
    project: Project, mode: str, case: int
) -> None:
    encoding, data, _ = BAD_BYTES[case]
    write(project, "in.csv", data)
    extra = f", options: {{encoding: {encoding}}}"
    for policy in ("skip", "quarantine"):
        result, manifest = run(project, mode, policy=policy, extra=extra)
        assert result["status"] == "success", (policy, result["error"])
        assert out_bytes(project) == b"a,b\n1,x\n4,z\n"
        assert manifest["inputs"]["src"]["bad_lines"]["count"] == 1
    assert rejected(project)[0][:3] == ["in.csv", "3", f"bytes not valid {encoding} at column 3"]
    result, manifest = run(project, mode, extra=extra)
    assert result["status"] == "failed"
    assert manifest["error"]["line"] == 3 and manifest["error"]["artifact"] == "src"
    assert f"not valid {encoding}" in manifest["error"]["message"]


@pytest.mark.parametrize("mode", MODES)
def test_a_quote_after_a_delimiter_inside_a_quoted_field_is_caught(
    project: Project, mode: str
) -> None:
    # Even quotes, none between two ordinary bytes: read as "a,b" and "c", a quote dropped.
    write(project, "in.csv", b'a,b,c\n1,"a,"b,"c"\n2,x,y\n')
    result, manifest = run(project, mode)
    assert result["status"] == "failed"
    assert (
        manifest["error"]["line"] == 2 and "followed by other text" in manifest["error"]["message"]
    )


# --- 9. numbers and booleans never change silently; odd limits ---------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_one_and_zero_among_true_false_stay_text(project: Project, mode: str) -> None:
    data = b"flag\ntrue\n1\n0\n"
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data
    assert manifest["inputs"]["src"]["column_summaries"]["flag"]["dtype"] in ("str", "object")


def test_a_late_one_in_a_boolean_column_stops_the_stream(project: Project) -> None:
    data = b"flag\n" + b"true\n" * 250_000 + b"1\nfalse\n"  # the 1 is past the first block
    write(project, "in.csv", data)
    result, manifest = run(project, "stream", chunk=50_000)
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["line"] == 250_002 and error["column"] == "flag"
    assert "in.csv:250002" in error["message"] and "dtype: {flag:" in error["message"]


@pytest.mark.parametrize("big", ["1234567890123456789", "9007199254740993"])
@pytest.mark.parametrize("strategy", ["concat", "union"])
@pytest.mark.parametrize("mode", MODES)
def test_integers_a_float_would_round_stop_a_combine(
    project: Project, mode: str, strategy: str, big: str
) -> None:
    write(project, "a.csv", f"a\n{big}\n".encode())
    write(project, "b.csv", b"a\n1.5\n")
    result, manifest = run(project, mode, uri="*.csv", extra=f", combine_strategy: {strategy}")
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["type"] == "InputError", error
    assert error["file"] == "a.csv" and error["column"] == "a"
    assert big in error["message"] and "dtype: {a: str}" in error["message"]
    # Integers a float keeps exactly still widen.
    write(project, "a.csv", b"a\n9007199254740992\n")
    result, _ = run(project, mode, uri="*.csv", extra=f", combine_strategy: {strategy}")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b"a\n9007199254740992.0\n1.5\n"


@pytest.mark.parametrize(
    "value",
    ["9007199254740993", "12345678901234567.5", "0.12345678901234567890", "1e400", "1e-400"],
)
@pytest.mark.parametrize("mode", MODES)
def test_floats_that_would_change_keep_the_column_text(
    project: Project, mode: str, value: str
) -> None:
    data = f"x\n1.5\n{value}\n2.25\n".encode()
    write(project, "in.csv", data)
    result, manifest = run(project, mode)
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == data
    assert "float" not in manifest["inputs"]["src"]["column_summaries"]["x"]["dtype"]


def test_long_float_spellings_of_the_same_number_are_numbers(project: Project) -> None:
    write(project, "in.csv", b"x\n1.50000000000000000000\n0.1\ninf\n")
    result, _ = run(project, "batch")
    assert result["status"] == "success", result["error"]
    assert out_bytes(project) == b"x\n1.5\n0.1\ninf\n"


@pytest.mark.parametrize("value", ["9007199254740993", "1e400", "1e-400"])
def test_a_late_float_that_would_change_stops_the_stream(project: Project, value: str) -> None:
    data = b"x\n" + b"1.5\n" * 300_000 + f"{value}\n".encode()
    write(project, "in.csv", data)
    result, manifest = run(project, "stream", chunk=50_000)
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["line"] == 300_002 and error["column"] == "x"
    assert "in.csv:300002" in error["message"] and repr(value) in error["message"]


@pytest.mark.parametrize("mode", MODES)
def test_a_declared_float_too_large_names_its_line(project: Project, mode: str) -> None:
    write(project, "in.csv", b"x\n1.5\n1e400\n")
    result, manifest = run(project, mode, extra=", options: {dtype: {x: float}}")
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["type"] == "InputError" and error["line"] == 3 and error["column"] == "x"
    assert "in.csv:3" in error["message"] and "'1e400'" in error["message"]
    write(project, "in.csv", b"x\n1.5\ninf\n")  # inf said as inf is a float
    result, _ = run(project, mode, extra=", options: {dtype: {x: float}}")
    assert result["status"] == "success", result["error"]


@pytest.mark.parametrize("strategy", ["concat", "union"])
@pytest.mark.parametrize("mode", MODES)
def test_a_source_column_named_like_a_data_column_is_refused(
    project: Project, mode: str, strategy: str
) -> None:
    write(project, "in.csv", b"zip,n\n01234,1\n")
    extra = f", combine_strategy: {strategy}, source_column: zip"
    result, manifest = run(project, mode, extra=extra)
    assert result["status"] == "failed"
    error = manifest["error"]
    assert error["type"] == "InputError" and error["column"] == "zip"
    assert error["file"] == "in.csv" and "input 'src'" in error["message"]
    assert "source_column" in error["message"]
    assert not (project.output_dir / "out.csv").exists()


@pytest.mark.parametrize("mode", MODES)
def test_a_float_max_bad_lines_is_a_fraction_even_at_one(project: Project, mode: str) -> None:
    from trakt.errors import PipelineValidationError

    write(project, "in.csv", b"a,b\n1,2\n3\n4\n")  # 2 of 3 records malformed
    result, manifest = run(project, mode, policy="skip", extra=", max_bad_lines: 1.0")
    assert result["status"] == "success", result["error"]  # 1.0 = 100%, not a count of 1
    assert out_bytes(project) == b"a,b\n1,2\n"
    result, manifest = run(project, mode, policy="skip", extra=", max_bad_lines: 1")
    assert (
        result["status"] == "failed" and "more than max_bad_lines" in manifest["error"]["message"]
    )
    with pytest.raises(PipelineValidationError, match=r"max_bad_lines.*between 0 and 1"):
        run(project, mode, policy="skip", extra=", max_bad_lines: 5.0")


def test_a_fifo_pipeline_file_without_a_writer_is_an_empty_file(tmp_path: Path) -> None:
    import os
    import threading

    from trakt.errors import PipelineValidationError

    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(
        target=lambda: outcome.append(_raised(lambda: load_pipeline_from_yaml(fifo))),
        daemon=True,
    )
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # the old code blocked in open(): release it before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("opening a FIFO with no writer blocked")
    assert isinstance(outcome[0], PipelineValidationError)
    assert outcome[0].exit_code == 2 and "found nothing" in str(outcome[0])


def test_a_fifo_pipeline_file_with_a_writer_is_read(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    text = "name: r\ninputs: {src: {uri: a.csv}}\noutputs: {datasets: [{name: out, from: src}]}\n"

    def feed() -> None:
        with open(fifo, "w") as handle:  # blocks until the reader opens: a writer is there
            handle.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    import time

    time.sleep(0.2)  # the writer is waiting in open(), as with `<(cat p.yaml)`
    pipeline = load_pipeline_from_yaml(fifo)
    writer.join(timeout=10)
    assert pipeline.name == "r"


def _raised(call: Any) -> BaseException:
    try:
        call()
    except BaseException as exc:  # the test inspects it
        return exc
    raise AssertionError("no error raised")
