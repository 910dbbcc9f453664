"""Content for ``create_error_file``: one problem file per error type and language.

Each builder returns bytes with exactly the property its error type names (tests
check each one): ``syntax`` really fails to compile; ``unicode`` is valid UTF-8 and
a valid program full of hard characters; ``invalid_utf8`` does not decode; and so
on. Types that describe a stress rather than a fault (``deep_nesting``,
``long_line``, ``bom``, ``mixed_line_endings``, ``unicode``, ``empty``) are valid
programs, so a parser that rejects them has a bug.
"""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Callable

from ..samples import sample_code_files

_SAMPLE_NAME = {
    "python": "example.py",
    "javascript": "example.js",
    "rust": "example.rs",
    "c": "example.c",
}
_LINE_COMMENT = {"python": "#", "javascript": "//", "rust": "//", "c": "//"}

# Hard characters, by class (tests look for each class).
#: Emoji: plain, a ZWJ family, a skin tone, a flag, a variation selector.
EMOJI = (
    "\U0001f600 \U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
    "\U0001f44d\U0001f3fd \U0001f1ef\U0001f1f5 \u2764\ufe0f"
)
#: Combining marks: decomposed accents, "zalgo" stacks, a Devanagari conjunct.
COMBINING = (
    "e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353\u0354\u0355a\u0316\u0317\u0318"
    "l\u0359\u035ag\u035bo \u0928\u092e\u0938\u094d\u0924\u0947"
)
#: Right-to-left: Hebrew, Arabic, a right-to-left override and an isolate.
RIGHT_TO_LEFT = (
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c \u2067\u05d0\u2069"
)
#: Zero-width: space, non-joiner, joiner, word joiner, no-break space (BOM char).
ZERO_WIDTH = "zero\u200bwidth\u200cjoin\u200dword\u2060joiner\ufeffnbsp"
#: Others: CJK, astral-plane math letters, sharp s (lower and upper), a ligature.
OTHER = (
    "\u65e5\u672c\u8a9e \U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c"
    "\U0001d521\U0001d522 \u00df\u1e9e \ufb01"
)
_HARD = [EMOJI, COMBINING, RIGHT_TO_LEFT, ZERO_WIDTH, OTHER]

_SYNTAX = {
    "python": (
        "def valid(value):\n    return value + 1\n\n\ndef broken(value:\n    return [value,\n"
    ),
    "javascript": (
        "function valid(v) {\n  return v + 1;\n}\n\nfunction broken(v {\n  return [v, ;\n"
    ),
    "rust": (
        "pub fn valid(v: i32) -> i32 {\n    v + 1\n}\n\n"
        "pub fn broken(v: i32 -> i32 {\n    let x = [v, ;\n"
    ),
    "c": "int valid(int v) {\n    return v + 1;\n}\n\nint broken(int v {\n    return (v + ;\n",
}


def _syntax(language: str) -> bytes:
    return _SYNTAX[language].encode()


def _unicode(language: str) -> bytes:
    comments = "".join(f"{_LINE_COMMENT[language]} {text}\n" for text in _HARD)
    # None of the hard strings holds a quote or a backslash, so they go in literals raw.
    if language == "python":
        head = "caf\u00e9 = 'cr\u00e8me br\u00fbl\u00e9e'\n\u03c0 = 3.14159\n"
        texts = "".join(f"TEXT_{i} = '{text}'\n" for i, text in enumerate(_HARD))
        tail = "\n\ndef gr\u00f6\u00dfe(\u0442\u0435\u043a\u0441\u0442):\n"
        tail += "    return len(\u0442\u0435\u043a\u0441\u0442)\n"
    elif language == "javascript":
        head = "const caf\u00e9 = 'cr\u00e8me br\u00fbl\u00e9e';\nconst \u03c0 = 3.14159;\n"
        texts = "".join(f"const TEXT_{i} = '{text}';\n" for i, text in enumerate(_HARD))
        tail = "\nfunction gr\u00f6\u00dfe(\u0442\u0435\u043a\u0441\u0442) {\n"
        tail += "  return \u0442\u0435\u043a\u0441\u0442.length;\n}\n"
    elif language == "rust":
        # Bidi controls are deny-by-default lints in Rust literals and comments; this
        # file carries them on purpose and says so, which keeps it a valid crate.
        # Inner attributes must open the file, so they go first and the comments after.
        allows = (
            "#![allow(text_direction_codepoint_in_literal)]\n"
            "#![allow(text_direction_codepoint_in_comment)]\n"
        )
        comments, head = allows, comments
        texts = "".join(f'pub const TEXT_{i}: &str = "{text}";\n' for i, text in enumerate(_HARD))
        tail = "\npub fn gr\u00f6\u00dfe(caf\u00e9: &str) -> usize {\n"
        tail += "    caf\u00e9.chars().count()\n}\n"
    else:
        head = ""
        texts = "".join(f'const char *text_{i} = "{text}";\n' for i, text in enumerate(_HARD))
        tail = "\nint count_bytes(const char *s) {\n    int n = 0;\n"
        tail += "    while (s[n]) {\n        n++;\n    }\n    return n;\n}\n"
    return (comments + "\n" + head + texts + tail).encode("utf-8")


def _invalid_utf8(language: str) -> bytes:
    c = _LINE_COMMENT[language].encode()
    bad = [b"\xff\xfe", b"caf\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]
    lines = [c + b" invalid UTF-8 follows: " + chunk + b"\n" for chunk in bad]
    program = sample_code_files()[_SAMPLE_NAME[language]].encode()
    return b"".join(lines) + program + c + b" truncated: \xe2\x82"


_BINARY_FIRST_LINE = {
    "python": b"def f(): pass\n",
    "javascript": b"function f() {}\n",
    "rust": b"fn f() {}\n",
    "c": b"int f(void) { return 0; }\n",
}


def _binary(language: str) -> bytes:
    # A source-looking first line, then deterministic binary: an ELF magic, every byte
    # value, a run of NULs (what "binary file with a source extension" looks like).
    body = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8 + b"\x00" * 512
    return _BINARY_FIRST_LINE[language] + body + bytes(range(255, -1, -1)) * 4


def _empty(language: str) -> bytes:
    return b""


def _deep_nesting(language: str) -> bytes:
    if language == "python":
        # CPython allows 100 indentation levels and 200 nested brackets.
        depth = 90
        lines = ["def deep(x):\n"]
        lines += ["    " * (i + 1) + f"if x > {i}:\n" for i in range(depth)]
        lines.append("    " * (depth + 1) + "return x\n")
        lines.append("    return 0\n\n\nNESTED = " + "[" * 190 + "]" * 190 + "\n")
        return "".join(lines).encode()
    # rustc's own stack gives out near 1000 nested blocks; C and JS parsers take more.
    depth = 250 if language == "rust" else 1000
    header = {
        "javascript": "function deep(x) {\n",
        "rust": "pub fn deep(x: i64) -> i64 {\n",
        "c": "int deep(int x) {\n",
    }[language]
    cond = "if x > {i} {{\n" if language == "rust" else "if (x > {i}) {{\n"
    ret = "return x;\n"
    # Indentation stops growing at 32 columns: the nesting is the point, not the bytes.
    indent = [" " * min(i + 1, 32) for i in range(depth + 1)]
    body = "".join(indent[i] + cond.format(i=i) for i in range(depth))
    body += indent[depth] + ret + "".join(indent[depth - 1 - i] + "}\n" for i in range(depth))
    tail = "    0\n}\n" if language == "rust" else "    return 0;\n}\n"
    nested = "(" * depth + "1" + ")" * depth
    extra = {
        "javascript": f"\nconst NESTED = {'[' * depth}{']' * depth};\nconst PARENS = {nested};\n",
        "rust": f"\n#[allow(unused_parens)]\npub fn parens() -> i64 {{\n    {nested}\n}}\n",
        "c": f"\nint parens(void) {{\n    return {nested};\n}}\n",
    }[language]
    return (header + body + tail + extra).encode()


LONG_LINE_BYTES = 1024 * 1024


def _long_line(language: str) -> bytes:
    numbers = []
    total = 0
    for i in itertools.count():
        numbers.append(str(i))
        total += len(numbers[-1]) + 2
        if total >= LONG_LINE_BYTES:
            break
    values = ", ".join(numbers)
    line = {
        "python": f"VALUES = [{values}]\n",
        "javascript": f"const VALUES = [{values}];\n",
        "rust": f"pub const VALUES: [u32; {len(numbers)}] = [{values}];\n",
        "c": f"const unsigned values[] = {{{values}}};\n",
    }[language]
    return line.encode()


def _bom(language: str) -> bytes:
    return codecs.BOM_UTF8 + sample_code_files()[_SAMPLE_NAME[language]].encode()


def _mixed_line_endings(language: str) -> bytes:
    lines = sample_code_files()[_SAMPLE_NAME[language]].splitlines()
    endings = itertools.cycle(["\n", "\r\n", "\r"])
    out = []
    for line in lines:
        ending = next(endings)
        if language == "rust" and ending == "\r" and "//" in line:
            # A bare CR inside a Rust doc comment is an error; a CRLF is fine.
            ending = "\r\n"
        out.append(line + ending)
    return "".join(out).encode()


BUILDERS: dict[str, Callable[[str], bytes]] = {
    "syntax": _syntax,
    "unicode": _unicode,
    "invalid_utf8": _invalid_utf8,
    "binary": _binary,
    "empty": _empty,
    "deep_nesting": _deep_nesting,
    "long_line": _long_line,
    "bom": _bom,
    "mixed_line_endings": _mixed_line_endings,
}
ERROR_TYPES: tuple[str, ...] = tuple(BUILDERS)
