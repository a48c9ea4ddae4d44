"""Compressed CSV/TSV input (.gz, .bz2, .zst, .xz) and the compressed writing side."""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from trakt.errors import InputError
from trakt.io.compression import decompress, open_compressed
from trakt.io.csv import iter_tables, read_table
from trakt.io.csv_inputs import set_aside_bad_lines, to_utf8_where_needed
from trakt.io.sources import SourceFile


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return bytes(sink.getvalue().to_pybytes())


COMPRESS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": _zstd,
}
CODEC = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
DECOMPRESS = {
    "gzip": gzip.decompress,
    "bz2": bz2.decompress,
    "xz": lzma.decompress,
    "zstd": lambda data: pa.CompressedInputStream(pa.BufferReader(data), "zstd").read(),
}

TEXT = 'id,name,note\n1,Ada,"a, quoted\nline"\n2,Grace,plain\n3,Lin,Süd\n'


@dataclass(frozen=True)
class Input:
    """What csv_inputs needs of an input: its name, files and options."""

    artifact: str
    files: list[SourceFile]
    options: dict[str, Any] = field(default_factory=dict)


class Scratch:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()

    def __call__(self, name: str) -> Path:
        path = self.root / name
        path.touch(exist_ok=False)
        return path


def _input(path: Path, **options: Any) -> Input:
    return Input("orders", [SourceFile(path, path.name, path.stat().st_size)], options)


def _prepared(tmp_path: Path, path: Path, keep_bad: bool = False, **options: Any) -> Input:
    return to_utf8_where_needed(
        _input(path, **options), Scratch(tmp_path / "scratch"), "in0", keep_bad
    )


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(COMPRESS[path.suffix](data))
    return path


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_every_codec_reads_like_the_plain_file(tmp_path: Path, suffix: str) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text(TEXT)
    path = _write(tmp_path, f"data.csv{suffix}", TEXT.encode())
    source = _prepared(tmp_path, path)
    (f,) = source.files
    assert f.path.parent == tmp_path / "scratch" and f.path.read_bytes() == TEXT.encode()
    assert f.origin == str(path) and f.shown == path.name and f.size == path.stat().st_size
    expected = read_table(SourceFile(plain, "plain.csv", 0).request({}))
    assert read_table(f.request(source.options)).equals(expected)
    assert expected.column("note").to_pylist() == ["a, quoted\nline", "plain", "Süd"]


def test_tab_separated_inside_gzip(tmp_path: Path) -> None:
    path = _write(tmp_path, "people.tsv.gz", b"id\tname\n1\tAda\n2\tGrace\n")
    source = _prepared(tmp_path, path, sep="\t")
    table = read_table(source.files[0].request(source.options))
    assert table.to_pylist() == [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]


def test_a_plain_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(TEXT)
    source = _input(path)
    assert _prepared(tmp_path, path) == source
    assert not list((tmp_path / "scratch").iterdir())


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_a_bad_line_in_the_middle_keeps_its_number(tmp_path: Path, suffix: str) -> None:
    rows = [f"{i},name{i}" for i in range(1, 100)]
    rows[49] = "50,name50,extra"  # line 51 (the header is line 1)
    path = _write(tmp_path, f"data.csv{suffix}", ("id,name\n" + "\n".join(rows) + "\n").encode())
    source = _prepared(tmp_path, path, keep_bad=True)
    clean, bad, counts = set_aside_bad_lines(source, Scratch(tmp_path / "clean"), 10, "in0")
    assert [(b.file, b.line, b.raw, b.reason) for b in bad] == [
        (path.name, 51, b"50,name50,extra\n", "expected 2 fields, found 3")
    ]
    assert counts[path.name].records == 99 and counts[path.name].set_aside == 1
    assert read_table(clean[0].request({})).num_rows == 98


def test_a_bad_line_fails_the_read_naming_the_users_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv.gz", b"id,name\n1,Ada\n2,Grace,extra\n3,Lin\n")
    source = _prepared(tmp_path, path)
    with pytest.raises(InputError, match=r"data\.csv\.gz:3\b") as info:
        read_table(source.files[0].request(source.options))
    assert "scratch" not in str(info.value)


def test_windows_1252_inside_gzip(tmp_path: Path) -> None:
    text = "id,name\n1,Café\n2,naïve “quotes”\n"
    path = _write(tmp_path, "data.csv.gz", text.encode("cp1252"))
    source = _prepared(tmp_path, path, encoding="cp1252")
    table = read_table(source.files[0].request(source.options))
    assert table.column("name").to_pylist() == ["Café", "naïve “quotes”"]


def test_utf16_inside_xz_is_transcoded_after_decompressing(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv.xz", "id,name\n1,Ünal\n".encode("utf-16"))
    source = _prepared(tmp_path, path)
    assert source.options["encoding"] == "utf-8"
    assert source.files[0].origin == str(path)
    assert read_table(source.files[0].request(source.options)).to_pylist() == [
        {"id": 1, "name": "Ünal"}
    ]


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_a_truncated_archive_names_the_file_and_codec(tmp_path: Path, suffix: str) -> None:
    data = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(20000))
    path = _write(tmp_path, f"data.csv{suffix}", data.encode())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(
        InputError, match=rf"data\.csv\{suffix}: the {CODEC[suffix]} archive"
    ) as info:
        _prepared(tmp_path, path)
    assert info.value.fields["codec"] == CODEC[suffix]
    assert info.value.fields["artifact"] == "orders"
    assert info.value.exit_code == 1


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_not_compressed_at_all_is_an_input_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data.csv{suffix}"
    path.write_text("id,name\n1,Ada\n" * 10)
    with pytest.raises(InputError, match=rf"the {CODEC[suffix]} archive is not valid"):
        _prepared(tmp_path, path)


def test_gzip_truncated_message_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv.gz", b"id\n" + b"1\n" * 100000)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match=r"cut short \(truncated\)"):
        decompress(path, "gzip", tmp_path / "out.csv", "data.csv.gz")


@pytest.mark.parametrize("suffix", list(COMPRESS))
@pytest.mark.parametrize("chunk_rows", [1, 7, 50000])
def test_chunked_reads_equal_the_whole_read(tmp_path: Path, suffix: str, chunk_rows: int) -> None:
    lines = [f'{i},"name {i}",{i * 0.5},{"x" if i % 3 else ""}' for i in range(40)]
    text = "id,name,score,flag\n" + "\n".join(lines) + "\n"
    path = _write(tmp_path, f"data.csv{suffix}", text.encode())
    source = _prepared(tmp_path, path)
    request = source.files[0].request(source.options)
    whole = read_table(request)
    chunks = list(iter_tables(request, chunk_rows))
    assert all(c.num_rows == chunk_rows for c in chunks[:-1])
    assert pa.concat_tables(chunks).equals(whole)


# --- writing ---------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [None, "gzip", "bz2", "zstd", "xz"])
def test_open_compressed_round_trips(tmp_path: Path, codec: str | None) -> None:
    data = TEXT.encode() * 1000
    path = tmp_path / "out.bin"
    with open_compressed(path, codec) as out:
        out.write(data)
    raw = path.read_bytes()
    assert (raw if codec is None else DECOMPRESS[codec](raw)) == data


@pytest.mark.parametrize("codec", ["gzip", "bz2", "zstd", "xz"])
def test_open_compressed_bytes_do_not_depend_on_write_sizes(tmp_path: Path, codec: str) -> None:
    data = b"".join(b"%d,row %d,%f\n" % (i, i, i / 7) for i in range(150000))  # > 2 blocks
    one = tmp_path / "one"
    with open_compressed(one, codec) as out:
        out.write(data)
    many = tmp_path / "many"
    with open_compressed(many, codec) as out:
        sizes = itertools.cycle([1, 7, 4093, 65536, 1 << 20, 3 << 20])
        at = 0
        while at < len(data):
            size = next(sizes)
            out.write(memoryview(data)[at : at + size])
            at += size
    again = tmp_path / "again"
    with open_compressed(again, codec) as out:
        out.write(data)
    assert one.read_bytes() == many.read_bytes() == again.read_bytes()


def test_gzip_header_has_no_name_and_no_time(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv.gz"
    with open_compressed(path, "gzip") as out:
        out.write(b"id\n1\n")
    header = path.read_bytes()[:10]
    assert header[3] == 0  # FLG: no FNAME, no FCOMMENT, no FEXTRA
    assert header[4:8] == b"\0\0\0\0"  # MTIME
    assert b"orders" not in path.read_bytes()


def test_open_compressed_unknown_codec(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown codec 'lz4'"):
        open_compressed(tmp_path / "x", "lz4")
    assert (tmp_path / "x").read_bytes() == b""
