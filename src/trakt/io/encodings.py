"""Text encodings of CSV inputs: byte-order marks, and a UTF-8 copy where bytes would mislead.

The fast reader and the record-by-record re-read (:mod:`trakt.io.badlines`) look at raw bytes
for quotes, delimiters and line breaks. That is right for UTF-8 and for single-byte encodings
that extend ASCII (Latin-1, cp1252, ...), where those characters are always the same single
byte. In UTF-16/32 and multi-byte encodings (Shift-JIS, GBK, ...) a character's bytes can
contain the quote or delimiter byte, so such a file is first transcoded to UTF-8 (streaming,
line breaks kept, so line numbers stay the same) and read from there.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from trakt.errors import InputError

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF8 = {"utf-8", "utf-8-sig", "ascii"}
_CHUNK = 1 << 20


def _canonical(encoding: str) -> str:
    return codecs.lookup(encoding).name


def from_bom(path: Path) -> str | None:
    """The encoding a byte-order mark at the start of ``path`` names, if any."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


def effective(path: Path, declared: str | None) -> str:
    """The encoding to read ``path`` with: the declared one, else the BOM's, else UTF-8."""
    if declared:
        return str(declared)
    return from_bom(path) or "utf-8"


def ascii_safe(encoding: str) -> bool:
    """Whether quotes, delimiters and line breaks are always their ASCII byte, never part of
    another character: UTF-8, and single-byte encodings that extend ASCII."""
    name = _canonical(encoding)
    if name in _UTF8:
        return True
    if name.startswith("iso2022") or name in ("utf-7", "hz"):
        return False  # stateful: escape sequences make ASCII bytes mean other characters
    try:
        text = bytes(range(256)).decode(name, errors="replace")
    except (UnicodeDecodeError, LookupError, TypeError):
        return False
    return len(text) == 256 and text[:128] == bytes(range(128)).decode("ascii")


def _keep_bad(exc: UnicodeError) -> tuple[str, int]:
    """Bytes that do not decode become lone surrogates, which the UTF-8 copy keeps as bytes
    that are not UTF-8 either (``surrogateescape``; an ASCII byte, as in a broken UTF-16 pair,
    becomes 0xFF): the record scan then sets just that record aside."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(0xDC00 + (b if b >= 0x80 else 0xFF)) for b in bad), exc.end


codecs.register_error("trakt-keep-bad", _keep_bad)


def to_utf8(path: Path, encoding: str, dest: Path, shown: str, keep_bad: bool = False) -> None:
    """Write ``path`` decoded from ``encoding`` to ``dest`` as UTF-8, line breaks unchanged.

    Bytes that do not decode fail, unless ``keep_bad`` (``on_bad_lines: skip | quarantine``):
    then they stay invalid in the copy, for the record scan to set their records aside."""
    errors = "trakt-keep-bad" if keep_bad else "strict"
    try:
        with (
            open(path, encoding=encoding, errors=errors, newline="") as source,
            open(dest, "w", encoding="utf-8", errors="surrogateescape", newline="") as out,
        ):
            while text := source.read(_CHUNK):
                out.write(text)
    except UnicodeError:
        line = _bad_line(path, encoding)
        raise InputError(
            f"{shown}:{line}: bytes that are not valid {encoding}; set "
            "options.encoding to the file's encoding, or set on_bad_lines: skip | quarantine "
            "on this input",
            file=shown,
            line=line,
        ) from None


def _bad_line(path: Path, encoding: str) -> int:
    """The line of the first bytes that do not decode (an error path: reads the file whole)."""
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode(encoding, errors="replace")
        return line_breaks(before) + 1
    return 1


def line_breaks(text: str) -> int:
    """Line breaks as CSV readers count them: ``\\n``, ``\\r\\n`` and a lone ``\\r``."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")
