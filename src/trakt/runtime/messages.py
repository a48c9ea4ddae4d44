"""Rendering what a step raised for people: never failing, and never more than one line.

A step's exception can have a ``__str__`` that raises or returns a non-string, and its message
can hold newlines or terminal escape sequences; the manifest keeps the text as it is, the
stderr line shows it escaped so it cannot be broken or forged.
"""

from __future__ import annotations

# C0 controls, DEL, C1 controls and the Unicode line/paragraph separators, shown escaped.
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ESCAPES = {c: _NAMED.get(chr(c), f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CONTROLS}
_ESCAPES_KEEPING_NEWLINES = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}


def describe(exc: BaseException) -> str:
    """``str(exc)``, or ``<unprintable T>`` when the exception's ``__str__`` fails."""
    try:
        text = str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"
    return text if isinstance(text, str) else f"<unprintable {type(exc).__name__}>"


def one_line(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), so it prints as one line
    and cannot move the cursor; ``keep_newlines`` for messages that are lists by design."""
    return text.translate(_ESCAPES_KEEPING_NEWLINES if keep_newlines else _ESCAPES)
