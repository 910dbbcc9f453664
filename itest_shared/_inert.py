"""Strings written by anyone, shown inert: nothing in them can drive a terminal.

Records, lock holder files and shared caches are written by whoever can write
to the shared folder. Wherever such a string is shown (the report, an error
message), it goes through :func:`printable` first.
"""

from __future__ import annotations

_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as a Python escape.

    Control characters (C0, C1, ESC, BEL, DEL), format characters (bidi
    overrides, zero-width ones), line and paragraph separators, lone surrogates
    (which no UTF-8 stream can encode) and unassigned code points all become
    ``\\x1b``, ``\\u202e``, ``\\ud800``...: visible, and inert.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)
